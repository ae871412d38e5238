"""The terminal report: the same content as the PR comment, in the same order, never more verbose.

`render(report, color=True)` colours pass / warn / fail with ANSI codes; the CLI asks for colour only on a
terminal and never when `NO_COLOR` is set (https://no-color.org), so a pipe or a file gets plain text.
"""

from __future__ import annotations

from tabulate import tabulate

from promptreview.report.document import Example, Forecast, PromptReport, Report
from promptreview.report.notes import RATE_LABELS, warning_words, words
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
    RATE_HEADERS,
    SHIFT_HEADERS,
    SUMMARY_HEADERS,
    WEIGHTING_SENTENCE,
    batched_line,
    change_word,
    cold_start_line,
    command_of,
    cost_line,
    detectable,
    examples_title,
    flip_sentence,
    headline_icon_key,
    headline_word,
    important_shifts,
    model_line,
    ordered_warnings,
    parse_failure_table,
    prompt_notes,
    provenance_line,
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
    verdict_key,
)

COLORS = {
    "pass": "32",
    "fail": "31",
    "warn": "33",
    "error": "31",
    "skipped": "36",
    "inconclusive": "33",
}  # green red yellow cyan
EXAMPLE_CHARS = 300


def _paint(text: str, key: str, color: bool) -> str:
    code = COLORS.get(key)
    return f"\033[{code};1m{text}\033[0m" if color and code else text


def _table(headers: list[str], rows: list[list[str]]) -> str:
    return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)


def render(report: Report, color: bool = False) -> str:
    if report.forecast is not None:
        return _forecast(report.forecast)
    key = headline_icon_key(report)
    head = f"promptreview: {headline_word(report)}"
    top = top_change(report)
    if top is not None and report.error is None:
        head += f" · {top[1]} in {title(top[0])}"
    lines = [_paint(head, key, color)]
    if report.error is not None:  # no review to show: why there is no verdict
        return "\n".join([*lines, report.error]) + "\n"
    if report.prompts:
        rows = [summary_cells(p, report.alpha, command_of(report)) for p in report.prompts]
        for row in rows:
            row[2] = _paint(row[2], row[2], color)
        lines += ["", _table(SUMMARY_HEADERS, rows)]
    lines += ["", f"model: {model_line(report)}"]
    lines += [f"! {warning_words(w)}" for w in review_warnings(report)]
    lines += [f"note: {words(n)}" for n in review_notes(report)]
    for p in report.prompts:
        lines += _prompt(p, report, color)
    tail = []
    if any(p.rates for p in report.prompts):
        tail.append(P_VALUE_NOTE)
    if any(p.evaluators for p in report.prompts):
        tail.append(QUALITY_P_NOTE + ".")
    command = reproduce_command(report)
    if command:
        tail.append(f"reproduce locally: {command}")
    if tail:
        lines += ["", *tail]
    return "\n".join(lines) + "\n"


def _prompt(p: PromptReport, report: Report, color: bool) -> list[str]:
    alpha = report.alpha
    verdict = _paint(verdict_key(p).upper(), verdict_key(p), color)
    lines = ["", f"== {title(p)} [{change_word(p, command_of(report))}] {verdict}"]
    if p.change == "removed" or not p.rates:
        return (
            lines
            + [f"   {words(n)}" for n in p.notes]
            + [_paint(f"   ! {words(w)}", str(p.verdict), color) for w in p.warnings]
        )
    lines.append(f"   {sample_size(p)} from {p.suite}" + (f"; {WEIGHTING_SENTENCE}" if p.weighted else ""))
    lines += [_paint(f"   ! {words(w)}", str(p.verdict), color) for w in ordered_warnings(p)]
    sides = side_names(report)
    lines.append(_table(sided(RATE_HEADERS, sides), rate_table(p)))
    failures = parse_failure_table(p)
    if failures:
        lines.append("   why answers did not parse, and what fixes each:")
        lines += [f"   - {what}: {n} ({todo})" for what, n, todo in failures]
    if p.evaluators:
        lines.append(_table(sided(EVALUATOR_HEADERS, sides), [evaluator_cells(e) for e in p.evaluators]))
        lines += [
            f"   {line}"
            for row in p.evaluators
            for line in (judge_line(row), strata_line(row), note_line(row))
            if line
        ]
        for headline, x in [item for row in p.evaluators for item in example_lines(row)][:3]:
            lines += [
                f"   - pass → fail: {headline}",
                f"     input: {_quote(x.input_text)}",
                f"     {_label(sides, 0)}{_quote(x.base_text)}",
                f"     {_label(sides, 1)}{_quote(x.head_text)}",
            ]
    shifted = important_shifts(p)
    if shifted:
        lines.append("   output shifts that matter:")
        lines += [f"   - {shift_sentence(s)}" for s in shifted]
    flips = None if p.flip_rate is not None and p.flip_rate.gate else flip_sentence(p, sides)
    if flips:
        lines.append(f"   {flips}")
    if p.distribution_shift and not shifted:
        lines.append(_table(SHIFT_HEADERS, [shift_cells(x) for x in p.distribution_shift]))
    if p.strata:
        hot, rest = strata_split(p, alpha)
        lines.append("   blast radius by stratum" + (" (significant changes first):" if hot else ":"))
        lines.append(_table(stratum_headers_for(p), [stratum_cells_for(p, s) for s in [*hot, *rest]]))
    if p.examples:
        lines.append(f"   {examples_title(p).lower()}:")
        for e in p.examples[:3]:
            lines += _example(e, sides)
    lines += [f"   note: {words(n)}" for n in prompt_notes(p, report)]
    c = p.calls
    cost = cost_line(c.cost_usd, side_names(report))
    lines.append(
        f"   calls: {c.total} ({c.cached} cached, {c.retried} retried, {c.failed} failed)"
        + batched_line(c, "; ")
        + (f"; {cost}" if cost else "")
    )
    lines += [f"   {line}" for line in (cold_start_line(p.cold_start), provenance_line(p)) if line]
    return lines


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS] + " … (cut)"


def _label(sides: tuple[str, str], which: int) -> str:
    """`base:  ` / `head:  `, the texts aligned under `input: ` (and under each other when the names are longer)."""
    width = max(len("input:"), *(len(side) + 1 for side in sides))
    return f"{sides[which] + ':':<{width}} "


def _example(e: Example, sides: tuple[str, str] = ("base", "head")) -> list[str]:
    why = f" ({e.detail})" if e.detail else ""
    return [
        f"   - {e.input_id} ({e.stratum}), sample {e.sample}: {e.base_outcome or '–'} → {e.head_outcome}{why}",
        f"     input: {_quote(e.input_text)}",
        # none: an added prompt
        *([f"     {_label(sides, 0)}{_quote(e.base_text)}"] if e.base_text is not None else []),
        f"     {_label(sides, 1)}{_quote(e.head_text)}",
    ]


def _forecast(plan: Forecast) -> str:
    if not plan.prompts:  # said plainly: "0 calls, 0 of them to make" reads like a plan that failed
        return "promptreview plan: no changed prompt file to review, so no call to make\n"
    lines = [
        f"promptreview plan: {plan.calls} calls, {plan.uncached_calls} of them to make (the rest cached)"
    ]
    if plan.requests is not None and plan.requests < plan.uncached_calls:
        lines.append(
            f"requests: as few as {plan.requests} (the samples of one input in one request, where the server "
            f"honours n), up to {plan.uncached_calls}"
        )
    if plan.over_budget:
        lines.append(
            f"! over budget: budget.max_calls is {plan.budget_max_calls}; the review would be refused"
        )
    cost = plan.cost_usd_max
    lines.append(
        "estimated cost: "
        + ("unknown (no price for this model)" if cost is None else f"at most ${cost:.4f}")
        + (" at the batch rate (the calls would go out as provider batches)" if plan.batch_rate else "")
    )
    for p in plan.prompts:
        lines.append(f"\n== {p.path} [{change_word(p)}] {p.n_inputs} inputs × {p.samples} samples")
        for name, side in p.sides.items():
            # the tokens of the calls still to make: a cached call sends nothing
            sends = (
                f"~{side.prompt_tokens} prompt tokens to send" if side.uncached_calls else "nothing to send"
            )
            lines.append(
                f"   {name}: {side.model}, {side.calls} calls ({side.uncached_calls} to make), {sends}"
            )
        det = ", ".join(f"{RATE_LABELS[k]} {detectable(v)}" for k, v in p.min_detectable_increase.items())
        base_rate = p.min_detectable_assumes_base_rate
        lines.append(
            f"   smallest increase detectable with 80% power (from a {base_rate:.0%} base rate): {det}"
        )
        cold = cold_start_line(p.cold_start, planned=True)
        if cold:
            lines.append(f"   {cold}")
    return "\n".join(lines) + "\n"
