"""A standalone HTML page of the report. Every string is escaped: paths, inputs and outputs come from a PR."""

from __future__ import annotations

import html
from typing import Any

from promptreview.report.common import (
    P_VALUE_NOTE,
    RATE_HEADERS,
    SHIFT_HEADERS,
    STRATUM_HEADERS,
    VERDICT_WORDS,
    cost_line,
    not_applicable_rows,
    pct,
    pval,
    rate_cells,
    shift_cells,
    stratum_cells,
    title,
)
from promptreview.report.model import PromptReport, Report
from promptreview.report.quality import (
    EVALUATOR_HEADERS,
    QUALITY_P_NOTE,
    evaluator_cells,
    example_lines,
    judge_line,
    note_line,
    strata_line,
)

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:.5em 0}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
    ".fail{color:#b00020}.warn{color:#a36200}.pass{color:#1b7f3a}pre{white-space:pre-wrap;background:#f6f8fa;"
    "padding:.5em}"
)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render(report: Report) -> str:
    e = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>promptreview</title><style>{_STYLE}</style>",
        "</head><body>",
        f"<h1 class='{e(report.verdict)}'>promptreview: {e(VERDICT_WORDS[report.verdict])}</h1>",
    ]
    if report.error is not None:  # no review to show: why there is no verdict
        return "\n".join([*parts, f"<pre>{e(report.error)}</pre>", "</body></html>"]) + "\n"
    parts += [
        f"<p>Model: <code>{e(report.model_spec or '')}</code>"
        + (" (simulated: promptreview's embedded model, not a real LLM)" if report.simulated else "")
        + ("" if report.pinned in (None, True) else " <strong>(not pinned)</strong>")
        + "</p>",
    ]
    if report.served:
        parts.append(f"<p>Served: {e(', '.join(report.served))}</p>")
    parts += [f"<p><strong>{e(w)}</strong></p>" for w in report.warnings]
    parts += [f"<p><em>{e(n)}</em></p>" for n in report.notes]
    for p in report.prompts:
        parts.append(f"<h2 class='{e(p.verdict)}'>{e(title(p))} ({e(p.change)}): {e(p.verdict)}</h2>")
        if not p.rates:
            parts += [f"<p>{e(n)}</p>" for n in p.notes]
            continue
        parts.append(
            f"<p>{p.n_inputs} inputs × {p.samples} samples from <code>{e(p.suite or '')}</code>"
            + (", overall rates weighted by stratum size" if p.weighted else "")
            + "</p>"
        )
        parts.append(
            _table(
                RATE_HEADERS,
                [*not_applicable_rows(p), *(rate_cells(k, v, p.weighted) for k, v in p.rates.items())],
            )
        )
        parts += _quality(p)
        if p.flip_rate and p.flip_rate.head_vs_base is not None:
            parts.append(
                f"<p>Answers changed on {pct(p.flip_rate.head_vs_base)} of input-samples (noise floor "
                f"{pct(p.flip_rate.noise_floor)}, p {pval(p.flip_rate.p_adjusted or p.flip_rate.p_value)}).</p>"
            )
        parts += [f"<p class='warn'>{e(w)}</p>" for w in p.warnings]
        if p.strata:
            parts += ["<h3>Per stratum</h3>", _table(STRATUM_HEADERS, [stratum_cells(x) for x in p.strata])]
        if p.distribution_shift:
            rows = [shift_cells(x) for x in p.distribution_shift]
            parts += ["<h3>Output distribution</h3>", _table(SHIFT_HEADERS, rows)]
        if p.examples:
            parts.append("<h3>Examples that broke</h3>")
            for x in p.examples:
                parts.append(
                    f"<p>input <code>{e(x.input_id)}</code> ({e(x.stratum)}), sample {x.sample}: "
                    f"{e(x.base_outcome or '–')} → <strong>{e(x.head_outcome)}</strong>"
                    + (f" ({e(x.detail)})" if x.detail else "")
                    + "</p>"
                )
                parts.append(f"<pre>{e(x.head_text)}</pre>")
        parts += [f"<p><em>{e(n)}</em></p>" for n in p.notes]
        c = p.calls
        cost = cost_line(c.cost_usd)
        parts.append(
            f"<p><small>{c.total} calls: {c.cached} cached, {c.retried} retried, {c.failed} failed"
            + (f"; {e(cost)}" if cost else "")
            + "</small></p>"
        )
    if any(p.rates for p in report.prompts):
        parts.append(f"<p><small>{e(P_VALUE_NOTE)}</small></p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _quality(p: PromptReport) -> list[str]:
    """Quality checks beside the outcome rates, and the completions that went from pass to fail."""
    if not p.evaluators:
        return []
    e = html.escape
    parts = ["<h3>Quality checks</h3>", _table(EVALUATOR_HEADERS, [evaluator_cells(r) for r in p.evaluators])]
    parts.append(f"<p><small>{e(QUALITY_P_NOTE)}</small></p>")
    parts += [
        f"<p><small>{e(line)}</small></p>"
        for row in p.evaluators
        for line in (judge_line(row), strata_line(row), note_line(row))
        if line
    ]
    for headline, x in [item for row in p.evaluators for item in example_lines(row)]:
        parts.append(f"<p>{e(headline)}</p>")
        parts.append(f"<pre>input: {e(x.input_text)}\nbase:  {e(x.base_text)}\nhead:  {e(x.head_text)}</pre>")
    return parts
