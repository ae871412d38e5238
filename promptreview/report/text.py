"""The terminal report."""

from __future__ import annotations

from tabulate import tabulate

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
from promptreview.report.model import Estimate, PromptReport, Report
from promptreview.report.quality import (
    EVALUATOR_HEADERS,
    QUALITY_P_NOTE,
    evaluator_cells,
    example_lines,
    judge_line,
    note_line,
    strata_line,
)


def render(report: Report) -> str:
    if report.estimate is not None:
        return _estimate(report.estimate)
    lines = [f"promptreview: {VERDICT_WORDS[report.verdict]}"]
    if report.error is not None:  # no review to show: why there is no verdict
        return "\n".join([*lines, report.error]) + "\n"
    lines.append(
        f"model: {report.model_spec}"
        + (" (simulated)" if report.simulated else "")
        + ("" if report.pinned in (None, True) else " (NOT pinned)")
    )
    if report.served:
        lines.append(f"served: {', '.join(report.served)}")
    lines += [f"! {w}" for w in report.warnings]
    lines += [f"note: {n}" for n in report.notes]
    for p in report.prompts:
        lines.append("")
        lines.append(f"== {title(p)} [{p.change}] verdict: {p.verdict.upper()}")
        if p.change == "removed" or not p.rates:
            lines += [f"   {n}" for n in p.notes]
            continue
        lines.append(
            f"   {p.n_inputs} inputs x {p.samples} samples, suite {p.suite}"
            + (" (weighted by stratum size)" if p.weighted else "")
        )
        lines.append(
            tabulate(
                [*not_applicable_rows(p), *(rate_cells(k, v, p.weighted) for k, v in p.rates.items())],
                headers=RATE_HEADERS,
                tablefmt="simple",
            )
        )
        lines += _quality(p)
        if p.flip_rate and p.flip_rate.head_vs_base is not None:
            lines.append(
                f"   answers changed: {pct(p.flip_rate.head_vs_base)} of input-samples; noise floor "
                f"{pct(p.flip_rate.noise_floor)} (p {pval(p.flip_rate.p_adjusted or p.flip_rate.p_value)})"
            )
        if p.distribution_shift:
            rows = [shift_cells(x) for x in p.distribution_shift]
            lines.append(tabulate(rows, headers=SHIFT_HEADERS, tablefmt="simple", disable_numparse=True))
        if p.strata:
            lines.append(
                tabulate(
                    [stratum_cells(x) for x in p.strata],
                    headers=STRATUM_HEADERS,
                    tablefmt="simple",
                    disable_numparse=True,
                )
            )
        for w in p.warnings:
            lines.append(f"   ! {w}")
        for n in p.notes:
            lines.append(f"   note: {n}")
        c = p.calls
        lines.append(f"   calls: {c.total} ({c.cached} cached, {c.retried} retried, {c.failed} failed)")
        if cost_line(c.cost_usd):
            lines.append(f"   {cost_line(c.cost_usd)}")
    if any(p.rates for p in report.prompts):
        lines += ["", P_VALUE_NOTE]
    return "\n".join(lines) + "\n"


def _estimate(plan: Estimate) -> str:
    lines = [f"promptreview plan: {plan.calls} calls ({plan.uncached_calls} not cached)"]
    if plan.over_budget:
        lines.append(
            f"! over budget: budget.max_calls is {plan.budget_max_calls}; the review would be refused"
        )
    cost = plan.cost_usd_max
    lines.append(
        "estimated cost: " + ("unknown (no price for this model)" if cost is None else f"at most ${cost:.4f}")
    )
    for p in plan.prompts:
        lines.append(f"\n== {p.path} [{p.change}] {p.n_inputs} inputs x {p.samples} samples")
        for name, side in p.sides.items():
            lines.append(
                f"   {name}: {side.model}, {side.calls} calls ({side.uncached_calls} to make), "
                f"~{side.prompt_tokens} prompt tokens"
            )
        det = ", ".join(f"{k} {v * 100:.1f} pp" for k, v in p.min_detectable_increase.items())
        base_rate = p.min_detectable_assumes_base_rate
        lines.append(
            f"   smallest increase detectable with 80% power (from a {base_rate:.0%} base rate): {det}"
        )
    return "\n".join(lines) + "\n"


def _quality(p: PromptReport) -> list[str]:
    """Quality checks beside the outcome rates, and the completions that went from pass to fail."""
    if not p.evaluators:
        return []
    rows = [evaluator_cells(row) for row in p.evaluators]
    lines = [tabulate(rows, headers=EVALUATOR_HEADERS, tablefmt="simple", disable_numparse=True)]
    lines.append(f"   {QUALITY_P_NOTE}")
    lines += [
        f"   {line}"
        for row in p.evaluators
        for line in (judge_line(row), strata_line(row), note_line(row))
        if line
    ]
    for headline, x in [item for row in p.evaluators for item in example_lines(row)]:
        lines.append(f"   pass → fail: {headline}")
        lines.append(f"      input: {x.input_text[:200]}")
        lines.append(f"      base:  {x.base_text[:200]}")
        lines.append(f"      head:  {x.head_text[:200]}")
    return lines
