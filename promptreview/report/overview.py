"""The overview a reviewer reads first: the single biggest change of a prompt and of the review, and the
one-line-per-prompt summary table (shared by the text, Markdown and HTML reports)."""

from __future__ import annotations

from promptreview.report.common import (
    RATE_LABELS,
    category_moves,
    evaluator_name,
    important_shifts,
    interval,
    pct,
    pp,
    pval,
    title,
    verdict_key,
)
from promptreview.report.model import PromptReport, Report

SUMMARY_HEADERS = ["prompt", "change", "verdict", "biggest shift (95% CI)"]


def _change_score(gate: str | None, p: float | None, delta: float, alpha: float) -> tuple[int, int, float]:
    rank = {"fail": 3, "warn": 2}.get(str(gate or ""), 0)
    return (rank, int(p is not None and p < alpha), abs(delta))


def biggest_change(p: PromptReport, alpha: float = 0.05) -> str | None:
    """The one change a reviewer should read first: a failing gate before a warning before a significant
    change before the largest one; with its 95% CI. None when nothing was compared."""
    best: tuple[tuple[int, int, float], str] | None = None
    for name, row in p.rates.items():
        if name == "error" or row.delta is None:
            continue
        score = _change_score(row.gate, row.p_adjusted, row.delta, alpha)
        text = f"{RATE_LABELS.get(name, name)} {pp(row.delta)} {interval(row.ci95)}"
        if best is None or score > best[0]:
            best = (score, text)
    for e in p.evaluators:
        if e.delta is None:
            continue
        p_e = e.p_adjusted if e.p_adjusted is not None else e.p_decrease
        score = _change_score(e.gate, p_e, e.delta if e.units == "rate" else 0.0, alpha)
        change = f"{pp(e.delta)} {interval(e.ci95)}" if e.units == "rate" else f"{e.delta:+.3g} (score)"
        text = f"{evaluator_name(e)} {change}"
        if best is None or score > best[0]:
            best = (score, text)
    if best is None or best[0][:2] == (0, 0):
        # no gate spoke and no rate moved significantly: a significant shift of the answers is the news
        shifted = important_shifts(p, alpha)
        if shifted:
            top = min(shifted, key=lambda s: s.p_adjusted if s.p_adjusted is not None else 1.0)
            moves = category_moves(top, limit=1)
            return f"{top.field} shifted (p (adj.) {pval(top.p_adjusted)})" + (
                f": {moves[0]}" if moves else ""
            )
    if best is not None:
        return best[1]
    if p.change == "added":
        shown = [f"{RATE_LABELS.get(k, k)} {pct(v.head)}" for k, v in p.rates.items() if k != "error"]
        return ("new: " + ", ".join(shown)) if shown else None
    return None


def summary_cells(p: PromptReport, alpha: float = 0.05) -> list[str]:
    """One prompt's line in the overview: prompt (untrusted), change, verdict, biggest shift."""
    if p.change == "removed":
        shift = "not run (removed)"
    elif not p.rates:
        shift = "not run (content unchanged)" if p.change == "renamed" else "not run"
    else:
        shift = biggest_change(p, alpha) or "no change"
    return [title(p), p.change, verdict_key(p), shift]


def top_change(report: Report) -> tuple[PromptReport, str] | None:
    """The review's single biggest change, and its prompt (the worst prompt first)."""
    order = {"error": 0, "fail": 1, "warn": 2, "pass": 3}
    ranked = sorted(report.prompts, key=lambda p: (order.get(str(p.verdict), 4), not p.rates))
    for p in ranked:
        if not p.rates:
            if p.verdict == "fail":  # a prompt that leaves the review without the accept label
                return p, p.change
            continue
        change = biggest_change(p, report.alpha)
        if change:
            return p, change
    return None
