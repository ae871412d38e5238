"""A standalone HTML page of the report: one file, no script, no external request, readable on a phone.

The same content as the PR comment, with what a page can add: inline SVG charts (`report.charts`), coloured
gate cells, strata sorted by blast radius with the rest collapsed, examples side by side (input, base output,
head output), the model and cost block. Every string is escaped: paths, inputs and outputs come from a PR.
"""

from __future__ import annotations

from html import escape
from typing import Any

from promptreview.report.charts import RateBar, delta_chart, distribution_chart, rate_chart
from promptreview.report.document import CostKey, Example, PromptReport, Report, ShiftRow, StratumRow
from promptreview.report.notes import warning_words, words
from promptreview.report.quality import (
    EVALUATOR_HEADERS,
    QUALITY_P_NOTE,
    evaluator_cells,
    example_lines,
    judge_line,
    note_line,
    strata_line,
)
from promptreview.report.wording import (
    P_VALUE_NOTE,
    PARSE_FAILURE_HEADERS,
    RATE_HEADERS,
    RATE_LABELS,
    SHIFT_HEADERS,
    SUMMARY_HEADERS,
    WEIGHTING_SENTENCE,
    batched_line,
    change_word,
    cold_start_line,
    command_of,
    cost_line,
    examples_title,
    failed_gate,
    flip_sentence,
    headline_icon_key,
    headline_word,
    important_shifts,
    model_line,
    ordered_warnings,
    parse_failure_table,
    prompt_notes,
    provenance_line,
    rate_items,
    rate_table,
    reproduce_command,
    review_notes,
    review_warnings,
    sample_size,
    shift_cells,
    shift_sentence,
    side_names,
    sided,
    strata_split,
    stratum_cells_for,
    stratum_headers_for,
    summary_cells,
    title,
    top_change,
)
from promptreview.vocabulary import RateName

_STYLE = """
:root{--fail:#cf222e;--warn:#9a6700;--pass:#1a7f37;--muted:#57606a;--line:#d0d7de;--code:#f6f8fa}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;padding:1rem;max-width:72rem;
line-height:1.45;color:#1f2328}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-top:1px solid var(--line);padding-top:1rem}
h3{font-size:1rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
td,th{border:1px solid var(--line);padding:4px 8px;text-align:right;vertical-align:top}
td:first-child,th:first-child{text-align:left}
.badge{display:inline-block;padding:0 .5em;border-radius:1em;color:#fff;font-weight:600;font-size:.85em}
.b-fail,.b-error{background:var(--fail)}.b-warn,.b-inconclusive{background:var(--warn)}.b-pass{background:var(--pass)}
.b-skipped,.b-not-run{background:var(--muted)}
td.g-fail{background:#ffebe9;color:var(--fail);font-weight:600}td.g-warn{background:#fff8c5;color:var(--warn)}
td.g-pass{background:#dafbe1;color:var(--pass)}
.callout{border-left:4px solid var(--warn);background:#fff8c5;padding:.5rem 1rem;margin:.5rem 0}
.callout.fail{border-color:var(--fail);background:#ffebe9}
.muted{color:var(--muted)}
pre{white-space:pre-wrap;word-break:break-word;background:var(--code);padding:.5rem;margin:0;font-size:.85rem}
.example{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:.5rem;margin:.5rem 0 1.5rem}
.example h4{margin:.2rem 0;font-size:.85rem}
details{margin:.5rem 0}summary{cursor:pointer;font-weight:600}
.chart{max-width:40rem;display:block;margin:.5rem 0}
@media (max-width:640px){body{padding:.5rem}.example{grid-template-columns:1fr}td,th{padding:3px 4px}
td code{word-break:break-all}}
"""


def _table(headers: list[str], rows: list[list[Any]], gate_col: int | None = None) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            word = str(c).replace("inconclusive", "warn").replace("not run", "")
            cls = f' class="g-{escape(word)}"' if i == gate_col and word in ("pass", "warn", "fail") else ""
            cells.append(f"<td{cls}>{escape(str(c))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def _badge(verdict: str, text: str | None = None) -> str:
    return f'<span class="badge b-{escape(verdict)}">{escape(text or verdict.upper())}</span>'


def render(report: Report) -> str:
    key = headline_icon_key(report)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>promptreview: {escape(headline_word(report))}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_badge(key, headline_word(report))} promptreview</h1>",
    ]
    if report.error is not None:  # no review to show: why there is no verdict
        return "\n".join([*parts, f"<pre>{escape(report.error)}</pre>", "</body></html>"]) + "\n"
    if report.forecast is not None:  # `--plan`: what would run, the terminal's words
        from promptreview.report import text

        parts = [*parts[:3], f"<title>promptreview plan</title><style>{_STYLE}</style></head><body>"]
        return "\n".join([*parts, f"<pre>{escape(text.render(report))}</pre>", "</body></html>"]) + "\n"
    top = top_change(report)
    if top is not None:
        parts.append(
            f"<p><strong>Biggest change:</strong> {escape(top[1])} in <code>{escape(title(top[0]))}</code></p>"
        )
    if report.prompts:
        # the verdict first: on a phone (390 px) a long path would push it out of sight, behind a scroll
        order = [2, 0, 1, 3]
        rows = [
            [cells[i] for i in order]
            for cells in (summary_cells(p, report.alpha, command_of(report)) for p in report.prompts)
        ]
        parts.append(_table([SUMMARY_HEADERS[i] for i in order], rows, gate_col=0))
    parts.append(_model_block(report))
    parts += [f'<div class="callout">{escape(warning_words(w))}</div>' for w in review_warnings(report)]
    parts += [f'<p class="muted">{escape(words(n))}</p>' for n in review_notes(report)]
    for p in report.prompts:
        parts += _prompt(p, report)
    if any(p.rates for p in report.prompts):
        parts.append(f'<p class="muted"><small>{escape(P_VALUE_NOTE)}</small></p>')
    if any(p.evaluators for p in report.prompts):
        parts.append(f'<p class="muted"><small>{escape(QUALITY_P_NOTE)}.</small></p>')
    command = reproduce_command(report)
    if command:
        parts.append(f"<p>Reproduce locally:</p><pre>{escape(command)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _model_block(report: Report) -> str:
    calls = sum(p.calls.total for p in report.prompts)
    cached = sum(p.calls.cached for p in report.prompts)
    costs: dict[CostKey, float] = {}
    for p in report.prompts:
        for side, value in (p.calls.cost_usd or {}).items():
            costs[side] = costs.get(side, 0.0) + value
    cost = cost_line(costs or None, side_names(report))
    items = [
        f"<li>Model: <code>{escape(model_line(report))}</code></li>",
        f"<li>Calls: {calls} ({cached} cached)</li>",
    ]
    if cost:
        items.append(f"<li>{escape(cost)}</li>")
    if report.base:
        items.append(
            f"<li>Base <code>{escape(report.base[:12])}</code> → head <code>{escape((report.head or 'working tree')[:12])}</code></li>"
        )
    return "<ul>" + "".join(items) + "</ul>"


def _prompt(p: PromptReport, report: Report) -> list[str]:
    alpha = report.alpha
    parts = [
        f"<h2>{_badge(str(p.verdict))} <code>{escape(title(p))}</code> <span class='muted'>({escape(change_word(p, command_of(report)))})</span></h2>"
    ]
    if p.change == "removed" or not p.rates:
        return parts + [f"<p>{escape(words(n))}</p>" for n in (*p.notes, *p.warnings)]
    parts.append(
        f"<p>{escape(sample_size(p))} from <code>{escape(p.suite or '–')}</code>"
        + (f"; {escape(WEIGHTING_SENTENCE)}" if p.weighted else "")
        + "</p>"
    )
    if p.warnings:
        cls = "callout fail" if p.verdict in ("fail", "error") else "callout"
        parts.append(
            f'<div class="{cls}"><ul>'
            + "".join(f"<li>{escape(words(w))}</li>" for w in ordered_warnings(p))
            + "</ul></div>"
        )
    sides = side_names(report)
    parts.append(_table(sided(RATE_HEADERS, sides), rate_table(p), gate_col=6))
    failures = parse_failure_table(p)
    if failures:
        parts += [
            "<h4>Why answers did not parse, and what fixes each</h4>",
            _table(PARSE_FAILURE_HEADERS, failures),
        ]
    bars = [
        RateBar(RATE_LABELS.get(k, k), v.base, v.base_ci95, v.head, v.head_ci95)
        for k, v in rate_items(p)
        if v is not None and k != "error"
    ]
    if bars:
        parts += ["<h4>Rates, base against head, with 95% intervals</h4>", rate_chart(bars)]
    if p.evaluators:
        parts += [
            "<h3>Quality checks</h3>",
            _table(sided(EVALUATOR_HEADERS, sides), [evaluator_cells(e) for e in p.evaluators], gate_col=7),
        ]
        parts += [
            f'<p class="muted">{escape(line)}</p>'
            for row in p.evaluators
            for line in (judge_line(row), strata_line(row), note_line(row))
            if line
        ]
        for headline, x in [item for row in p.evaluators for item in example_lines(row)]:
            cells = [("input", x.input_text), ("base output", x.base_text), ("head output", x.head_text)]
            parts.append(
                f"<p>{escape(headline)}</p><div class='example'>"
                + "".join(f"<div><h4>{escape(h)}</h4><pre>{escape(t)}</pre></div>" for h, t in cells)
                + "</div>"
            )
    parts += _shifts(p, alpha, sides)
    parts += _strata(p, alpha)
    if p.examples:
        parts.append(f"<h3>{examples_title(p)} ({len(p.examples)})</h3>")
        for e in p.examples:
            parts.append(_example(e, sides))
    parts += [f'<p class="muted">{escape(words(n))}</p>' for n in prompt_notes(p, report)]
    c = p.calls
    cost = cost_line(c.cost_usd, side_names(report))
    parts.append(
        f'<p class="muted"><small>{c.total} calls: {c.cached} cached, {c.retried} retried, {c.failed} failed'
        + batched_line(c, ", ")
        + (f"; {escape(cost)}" if cost else "")
        + "</small></p>"
    )
    # beside the cost, as in text and Markdown; served ids and fingerprints come from the provider: escaped
    parts += [
        f'<p class="muted"><small>{escape(line)}</small></p>'
        for line in (cold_start_line(p.cold_start), provenance_line(p))
        if line
    ]
    return parts


def _shares(counts: Any) -> dict[str, float]:
    values = {str(k): float(v) for k, v in dict(counts).items() if isinstance(v, (int, float))}
    total = sum(values.values())
    return {k: v / total for k, v in values.items()} if total > 0 else {}


def _shifts(p: PromptReport, alpha: float, sides: tuple[str, str] = ("base", "head")) -> list[str]:
    parts = []
    shifted = important_shifts(p)
    if shifted:
        parts.append("<h3>Output shifts that matter</h3><ul>")
        parts += [f"<li>{escape(shift_sentence(s))}</li>" for s in shifted]
        parts.append("</ul>")
    flips = flip_sentence(p, sides)
    if flips:
        parts.append(f"<p>{escape(flips)}</p>")
    categorical = [
        s for s in p.distribution_shift if s.kind == "categorical" and _shares(s.base) and _shares(s.head)
    ]
    if p.distribution_shift:
        parts.append(
            "<details" + (" open" if shifted else "") + "><summary>Output distribution, every field</summary>"
        )
        parts.append(_table(SHIFT_HEADERS, [shift_cells(x) for x in p.distribution_shift]))
        parts += [_distribution(s) for s in categorical]
        parts.append("</details>")
    return parts


def _distribution(s: ShiftRow) -> str:
    base, head = _shares(s.base), _shares(s.head)
    rows = sorted(dict.fromkeys([*base, *head]), key=lambda k: -max(base.get(k, 0.0), head.get(k, 0.0)))[:12]
    counts = _table(
        ["value", "base", "head"],
        [
            [
                k,
                f"{s.base.get(k, 0)} ({base.get(k, 0.0):.1%})",
                f"{s.head.get(k, 0)} ({head.get(k, 0.0):.1%})",
            ]
            for k in rows
        ],
    )
    return (
        f"<h4>{escape(s.field)}: base → head</h4>"
        + distribution_chart(base, head, f"{s.field}: base vs head")
        + counts
    )


def _strata(p: PromptReport, alpha: float) -> list[str]:
    if not p.strata:
        return []
    hot, rest = strata_split(p, alpha)
    headers = stratum_headers_for(p)
    parts = ["<h3>Blast radius by stratum</h3>"]
    fallback: tuple[RateName, ...] = ("parse_failure", "refusal")
    gate = failed_gate(p) or next(iter(k for k in fallback if k in p.rates), None)
    if gate is not None:
        parts.append(_stratum_chart(p, [*hot, *rest], gate, alpha))
    if hot:
        parts.append(_table(headers, [stratum_cells_for(p, s) for s in hot]))
    else:
        parts.append("<p>No stratum changed significantly.</p>")
    if rest:
        parts.append(f"<details><summary>{len(rest)} strata without a significant change</summary>")
        parts.append(_table(headers, [stratum_cells_for(p, s) for s in rest]))
        parts.append("</details>")
    return parts


def _stratum_chart(p: PromptReport, strata: list[StratumRow], name: RateName, alpha: float) -> str:
    rows = []
    for s in strata[:40]:
        r = s.rates.get(name)
        if r is None:
            continue
        significant = r.p_adjusted is not None and r.p_adjusted < alpha
        rows.append((s.label, r.delta, r.ci95, significant))
    label = f"{RATE_LABELS.get(name, name)}: change by stratum (pp, 95% CI; faded: not significant)"
    return f"<h4>{escape(label)}</h4>" + delta_chart(rows, label)


def _example(e: Example, sides: tuple[str, str] = ("base", "head")) -> str:
    why = f" ({escape(e.detail)})" if e.detail else ""
    cells = [("input", e.input_text)]
    if e.base_text is not None:  # an added prompt has no base side: no empty cell saying so
        cells.append((f"{sides[0]} output ({e.base_outcome or 'none'})", e.base_text))
    cells.append((f"{sides[1]} output ({e.head_outcome})", e.head_text))
    return (
        f"<p><code>{escape(e.input_id)}</code> ({escape(e.stratum)}), sample {e.sample}: "
        f"{escape(e.base_outcome or '–')} → <strong>{escape(e.head_outcome)}</strong>{why}</p>"
        '<div class="example">'
        + "".join(f"<div><h4>{escape(h)}</h4><pre>{escape(t)}</pre></div>" for h, t in cells)
        + "</div>"
    )
