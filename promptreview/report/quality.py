"""Wording of the quality checks (expectations, evaluators, must-refuse rows) shared by the human-readable
reports: one table row per check, and the examples that went from pass to fail. Plain strings: each format
escapes them its own way (the names, inputs and outputs may come from a pull request)."""

from __future__ import annotations

from promptreview.report.document import EvaluatorExample, EvaluatorRow
from promptreview.report.notes import words
from promptreview.report.wording import pct, pp, pval

EVALUATOR_HEADERS = ["check", "kind", "base", "head", "change", "95% CI", "p (adj.)", "gate"]
QUALITY_P_NOTE = (
    "quality checks: a decrease is the regression; p (adj.) is the one-sided p for a decrease, Holm-adjusted "
    "with the gated rates (Benjamini-Hochberg, two-sided, for a check that does not gate)"
)
KIND_WORDS = {
    "expect": "expected",
    "string": "string",
    "llm": "LLM judge",
    "must_refuse": "must refuse",
}


def evaluator_label(row: EvaluatorRow) -> str:
    if row.kind == "must_refuse":
        return "refusals on must-refuse rows"
    if row.kind == "expect":
        return f"{row.field} = {row.column}" if row.column else str(row.field)
    return row.name


def evaluator_cells(row: EvaluatorRow) -> list[str]:
    """A pass rate in %, a judge's mean score in its own units."""
    if row.units == "rate":

        def side(value: float | None, count: int | None, n: int) -> str:
            return "–" if value is None else f"{pct(value)} ({count}/{n})"

        base, head = side(row.base, row.base_count, row.base_n), side(row.head, row.head_count, row.head_n)
        change = pp(row.delta)
        ci = "–" if row.ci95 is None else f"[{row.ci95[0] * 100:+.1f}, {row.ci95[1] * 100:+.1f}]"
    else:

        def score(value: float | None, n: int) -> str:
            return "–" if value is None else f"{value:.3g} (n={n})"

        base, head = score(row.base, row.base_n), score(row.head, row.head_n)
        change = "–" if row.delta is None else f"{row.delta:+.3g}"
        ci = "–" if row.ci95 is None else f"[{row.ci95[0]:+.3g}, {row.ci95[1]:+.3g}]"
    p = row.p_adjusted if row.p_adjusted is not None else row.p_decrease
    return [
        evaluator_label(row),
        KIND_WORDS.get(row.kind, row.kind),
        base,
        head,
        change,
        ci,
        pval(p),
        row.gate or "",
    ]


def judge_line(row: EvaluatorRow) -> str | None:
    """The judge is a versioned dependency: say which, what was served, and how it was called."""
    j = row.judge
    if j is None:
        return None
    served = ", ".join(j.served) or "–"
    line = f"judge of {row.name}: {j.spec} (served {served}, temperature {j.temperature})"
    if not j.pinned:
        line += ", NOT pinned"
    if j.unanswered:
        line += f"; {j.unanswered} judge calls failed or named no choice (left out)"
    if j.head_spec:
        line += f"; --judge: head's judge {j.head_spec} over base's outputs"
    return line


def note_line(row: EvaluatorRow) -> str | None:
    return f"{evaluator_label(row)}: {words(row.note)}" if row.note else None


def strata_line(row: EvaluatorRow) -> str | None:
    """Per stratum, where the check moved: `kind=borderline 96.7% → 40.0%`."""
    if not row.strata:
        return None

    def fmt(value: float | None) -> str:
        if value is None:
            return "–"
        return pct(value) if row.units == "rate" else f"{value:.3g}"

    parts = [f"{label} {fmt(s.base)} → {fmt(s.head)}" for label, s in row.strata.items()]
    return f"{evaluator_label(row)} per stratum: " + ", ".join(parts)


def example_lines(row: EvaluatorRow) -> list[tuple[str, EvaluatorExample]]:
    """(headline, example) per completion that did worse on head under this check."""
    return [
        (
            f"{evaluator_label(row)}: input {x.input_id} ({x.stratum}), sample {x.sample}: "
            f"{_value(row, x.base_value)} → {_value(row, x.head_value)}",
            x,
        )
        for x in row.examples
    ]


def _value(row: EvaluatorRow, value: float | None) -> str:
    if value is None:
        return "–"
    if row.kind == "must_refuse":
        return "refused" if value >= 1 else "answered"
    if row.units == "rate":
        return "pass" if value >= 1 else "fail"
    return f"{value:g}"
