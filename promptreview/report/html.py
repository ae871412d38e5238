"""A standalone HTML page of the report (every string escaped)."""

from __future__ import annotations

import html
from typing import Any

from promptreview.report.common import RATE_HEADERS, VERDICT_WORDS, rate_cells, title


def render(report: Any) -> str:
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>promptreview</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}</style>",
        "</head><body>",
        f"<h1>promptreview: {e(VERDICT_WORDS[report.verdict])}</h1>",
        f"<p>Model: <code>{e(report.model_spec or '')}</code>{' (simulated)' if report.simulated else ''}</p>",
    ]
    parts += [f"<p><strong>{e(w)}</strong></p>" for w in report.warnings]
    for p in report.prompts:
        parts.append(f"<h2>{e(title(p))} ({e(p.change)}): {e(p.verdict)}</h2>")
        if not p.rates:
            parts += [f"<p>{e(n)}</p>" for n in p.notes]
            continue
        parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in RATE_HEADERS) + "</tr>")
        for name, row in p.rates.items():
            parts.append(
                "<tr>" + "".join(f"<td>{e(c)}</td>" for c in rate_cells(name, row, p.weighted)) + "</tr>"
            )
        parts.append("</table>")
        parts += [f"<p>{e(w)}</p>" for w in p.warnings]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
