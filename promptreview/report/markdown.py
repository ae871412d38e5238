"""The Markdown report (PR comment, job summary). Every untrusted string goes through `escape_md`."""

from __future__ import annotations

from promptreview.report.common import (
    RATE_HEADERS,
    SHIFT_HEADERS,
    STRATUM_HEADERS,
    VERDICT_WORDS,
    not_applicable_rows,
    pct,
    pval,
    rate_cells,
    shift_cells,
    stratum_cells,
    title,
)
from promptreview.report.escape import code_block, code_span, escape_md
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

ICONS = {"pass": "✅", "fail": "❌", "warn": "⚠️", "error": "🛑", "skipped": "⏭️"}


def _table(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _untrusted_first(cells: list[str]) -> list[str]:
    return [escape_md(cells[0], 80), *cells[1:]]


def render(report: Report, examples: bool = True) -> str:
    """The full report; `examples=False` drops the quoted outputs (used to fit GitHub's comment limit)."""
    lines = [f"## {ICONS.get(report.verdict, '')} promptreview: {VERDICT_WORDS[report.verdict]}", ""]
    if report.error is not None:  # no review to show: why there is no verdict (may quote untrusted text)
        return "\n".join([*lines, code_block(report.error)]) + "\n"
    model = code_span(report.model_spec or "–", None)
    if report.simulated:
        model += " (**simulated**: promptreview's embedded model, not a real LLM)"
    if report.pinned is False:
        model += " (**not pinned**)"
    lines.append(f"**Model:** {model}")
    if report.served:
        lines.append(f"**Served:** {', '.join(code_span(s, None) for s in report.served)}")
    lines.append("")
    for w in report.warnings:
        lines.append(f"> [!WARNING]\n> {escape_md(w, 500)}\n")
    for n in report.notes:
        lines.append(f"_{escape_md(n, 500)}_  ")
    for p in report.prompts:
        lines += [
            "",
            f"### {ICONS.get(p.verdict, '')} {code_span(title(p), None)} ({p.change}): {p.verdict}",
            "",
        ]
        if p.change == "removed" or not p.rates:
            lines += [f"- {escape_md(n, 500)}" for n in p.notes]
            continue
        lines.append(
            f"{p.n_inputs} inputs × {p.samples} samples from {code_span(p.suite or '', None)}"
            + (", overall rates weighted by stratum size" if p.weighted else "")
        )
        lines.append("")
        lines.append(
            _table(
                RATE_HEADERS,
                [*not_applicable_rows(p), *(rate_cells(k, v, p.weighted) for k, v in p.rates.items())],
            )
        )
        lines += _quality(p, examples)
        if p.flip_rate and p.flip_rate.head_vs_base is not None:
            lines += [
                "",
                f"**Answers changed** on {pct(p.flip_rate.head_vs_base)} of input-samples "
                f"(noise floor {pct(p.flip_rate.noise_floor)}, "
                f"p {pval(p.flip_rate.p_adjusted or p.flip_rate.p_value)}).",
            ]
        for w in p.warnings:
            lines += ["", f"- ⚠️ {escape_md(w, 500)}"]
        if p.strata:
            rows = [_untrusted_first(stratum_cells(x)) for x in p.strata]
            lines += [
                "",
                "<details><summary>Per stratum</summary>",
                "",
                _table(STRATUM_HEADERS, rows),
                "",
                "</details>",
            ]
        if p.distribution_shift:
            rows = [_untrusted_first(shift_cells(x)) for x in p.distribution_shift]
            lines += [
                "",
                "<details><summary>Output distribution</summary>",
                "",
                _table(SHIFT_HEADERS, rows),
                "",
                "</details>",
            ]
        if examples and p.examples:
            lines += ["", "<details><summary>Examples that broke</summary>", ""]
            for e in p.examples:
                lines.append(
                    f"- input {code_span(e.input_id, 60)} ({escape_md(e.stratum, 60)}), sample {e.sample}: "
                    f"{e.base_outcome or '–'} → **{e.head_outcome}**"
                    + (f" ({escape_md(e.detail, 160)})" if e.detail else "")
                )
                lines.append(f"  - output: {escape_md(e.head_text, 300)}")
            lines += ["", "</details>"]
        for n in p.notes:
            lines.append(f"- {escape_md(n, 500)}")
        c = p.calls
        lines += [
            "",
            f"<sub>{c.total} calls: {c.cached} cached, {c.retried} retried, {c.failed} failed</sub>",
        ]
    return "\n".join(lines).rstrip() + "\n"


def _quality(p: PromptReport, examples: bool) -> list[str]:
    """Quality checks beside the outcome rates, and the completions that went from pass to fail."""
    if not p.evaluators:
        return []
    rows = [_untrusted_first(evaluator_cells(row)) for row in p.evaluators]
    lines = [
        "",
        "**Quality checks**",
        "",
        _table(EVALUATOR_HEADERS, rows),
        "",
        f"<sub>{QUALITY_P_NOTE}</sub>",
        "",
    ]
    lines += [
        f"- {escape_md(line, 300)}"
        for row in p.evaluators
        for line in (judge_line(row), strata_line(row), note_line(row))
        if line
    ]
    flipped = [item for row in p.evaluators for item in example_lines(row)]
    if examples and flipped:
        lines += ["", "<details><summary>Checks that went from pass to fail</summary>", ""]
        for headline, x in flipped:
            lines.append(f"- {escape_md(headline, 200)}")
            lines.append(f"  - input: {escape_md(x.input_text, 300)}")
            lines.append(f"  - base output: {escape_md(x.base_text, 300)}")
            lines.append(f"  - head output: {escape_md(x.head_text, 300)}")
        lines += ["", "</details>"]
    return lines
