"""Report rendering: `document` holds the Report, `serialize` the one JSON form, one module per output format."""

from __future__ import annotations

from typing import Literal, get_args

from promptreview.report.document import Report

ReportFormat = Literal["text", "markdown", "json", "html"]
FORMATS: tuple[ReportFormat, ...] = get_args(ReportFormat)


def render(report: Report, fmt: ReportFormat) -> str:
    """The report as `fmt` text (one of FORMATS)."""
    if fmt == "json":
        from promptreview.report import json

        return json.render(report)
    if fmt == "markdown":
        from promptreview.report import markdown

        return markdown.render(report)
    if fmt == "html":
        from promptreview.report import html

        return html.render(report)
    if fmt == "text":
        from promptreview.report import text

        return text.render(report)
    raise ValueError(f"unknown report format {fmt!r} (known: {', '.join(FORMATS)})")
