"""Wording and number formats shared by the human-readable reports."""

from __future__ import annotations

from collections.abc import Mapping

from promptreview.report.model import PromptReport, RateRow, ShiftRow, StratumRow

RATE_LABELS = {
    "parse_failure": "parse failure",
    "schema_violation": "schema violation",
    "refusal": "refusal",
    "error": "error (excluded)",
    # text mode (prose answers): features of the answer
    "empty": "empty answer",
    "apology": "starts with an apology",
    "heading": "markdown heading",
    "bullet_list": "bullet list",
    "code_block": "code block",
    "link": "link",
}
NOT_APPLICABLE = "n/a"
VERDICT_WORDS = {
    "pass": "PASS",
    "fail": "FAIL: regression",
    "warn": "WARN",
    "error": "ERROR: no trustworthy verdict",
    "skipped": "nothing to review",
}


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def pp(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f} pp"


def interval(ci: tuple[float, float] | None) -> str:
    return "–" if ci is None else f"[{ci[0] * 100:+.1f}, {ci[1] * 100:+.1f}]"


def pval(value: float | None) -> str:
    if value is None:
        return "–"
    return "<0.001" if value < 0.001 else f"{float(value):.3f}"


def short_test(name: str) -> str:
    """The test's name without its parenthesised details, for narrow tables."""
    return name.split(" (")[0].split(", ")[0]


def rate_cells(name: str, row: RateRow, weighted: bool = False) -> list[str]:
    """One table row. A weighted rate is not count/n, so the raw counts are labelled as such."""
    counts = "{}/{} raw" if weighted and name != "error" else "{}/{}"  # errors are never weighted

    def side(rate: float | None, count: int, n: int) -> str:
        return "–" if rate is None else f"{pct(rate)} ({counts.format(count, n)})"

    return [
        RATE_LABELS.get(name, name),
        side(row.base, row.base_count, row.base_n),
        side(row.head, row.head_count, row.head_n),
        pp(row.delta),
        interval(row.ci95),
        pval(row.p_adjusted if row.p_adjusted is not None else row.p_value),
        row.gate or "",
    ]


RATE_HEADERS = ["outcome", "base", "head", "change", "95% CI", "p (adj.)", "gate"]


def not_applicable_rows(p: PromptReport) -> list[list[str]]:
    """Text mode: the JSON outcomes a prose answer cannot have, shown as not applicable (never 0 % or 100 %)."""
    if p.output_mode != "text":
        return []
    return [[RATE_LABELS[name], NOT_APPLICABLE, NOT_APPLICABLE, "", "", "", ""]
            for name in ("parse_failure", "schema_violation") if name not in p.rates]  # fmt: skip


def title(p: PromptReport) -> str:
    if p.change == "renamed" and p.old_path:
        return f"{p.old_path} → {p.path}"
    return p.path


P_VALUE_NOTE = (
    "p (adj.): for gated rates, the one-sided p for an increase, Holm-adjusted over every gated test of the "
    "review; for strata, other rates, flips and distribution shifts, the two-sided p, Benjamini-Hochberg-adjusted."
)


def cost_line(cost: Mapping[str, float] | None) -> str | None:
    if not cost or not any(cost.values()):  # unknown, or free (sim, local models): nothing worth a line
        return None
    parts = [f"{side} ${cost[side]:.4f}" for side in ("base", "head") if side in cost]
    if "delta" in cost:
        parts.append(f"change {cost['delta']:+.4f} USD")
    return "cost: " + ", ".join(parts)


STRATUM_HEADERS = ["stratum", "inputs", "parse failure base", "head", "Δ parse", "Δ schema", "Δ refusal"]
SHIFT_HEADERS = ["field", "kind", "test", "effect", "p (adj.)"]


def stratum_cells(s: StratumRow) -> list[str]:
    """A stratum's row; the first cell (its label, from the suite) is untrusted text."""
    rates = s.rates
    parse, schema = rates.get("parse_failure"), rates.get("schema_violation")  # absent in text mode
    return [
        s.label,
        str(s.n_inputs),
        pct(parse.base) if parse else NOT_APPLICABLE,
        pct(parse.head) if parse else NOT_APPLICABLE,
        pp(parse.delta) if parse else NOT_APPLICABLE,
        pp(schema.delta) if schema else NOT_APPLICABLE,
        pp(rates["refusal"].delta),
    ]


def shift_cells(s: ShiftRow) -> list[str]:
    """A field's distribution-shift row; the first cell (the field name, from model output) is untrusted text."""
    return [
        s.field,
        s.kind,
        short_test(s.test),
        "–" if s.effect is None else f"{s.effect:.3f} {s.effect_name or ''}",
        pval(s.p_adjusted if s.p_adjusted is not None else s.p_value),
    ]
