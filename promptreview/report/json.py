"""The machine-readable report: the JSON document `report.serialize` builds, as text."""

from __future__ import annotations

from promptreview.report.document import Report
from promptreview.report.serialize import to_json_text


def render(report: Report) -> str:
    return to_json_text(report)
