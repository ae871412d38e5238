"""Report rendering: `model` holds the Report, one module per output format."""

from __future__ import annotations

from typing import Any


def render(report: Any, fmt: str) -> str:
    if fmt == "json":
        from promptreview.report import json as module
    elif fmt == "markdown":
        from promptreview.report import markdown as module
    elif fmt == "html":
        from promptreview.report import html as module
    else:
        from promptreview.report import text as module
    return module.render(report)
