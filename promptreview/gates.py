"""The verdict: multiplicity corrections across the whole review, then each gate's decision.

Holm controls the family-wise error of the gated metrics over every prompt in the review (any one of them
blocks the merge, so they form one family); Benjamini–Hochberg controls the false discovery rate of the
descriptive per-stratum and per-field tests, which only warn unless a config makes them gating.
"""

from __future__ import annotations

from promptreview import stats
from promptreview.config import Config
from promptreview.records import RATE_OUTCOMES
from promptreview.report.model import PromptReport

_ORDER = {"pass": 0, "warn": 1, "fail": 2, "error": 3}


def _worse(a: str, b: str) -> str:
    return a if _ORDER[a] >= _ORDER[b] else b


def apply_gates(prompts: list[PromptReport], config: Config) -> str:
    """Adjust p-values, decide every gate, set each prompt's verdict; return the review's verdict."""
    compared = [
        p for p in prompts if p.change in ("modified", "renamed") and p.rates and p.verdict != "error"
    ]

    # Holm over every gated test of the review
    gated: list[tuple[object, float]] = []
    for p in compared:
        for name in RATE_OUTCOMES:
            row = p.rates.get(name)
            if row is None or not config.gates[name].gating or row.p_increase is None:
                continue
            if row.discordant == 0:
                # no input differs: the test's smallest attainable p is 1, so it can never reject and does not
                # count towards the family (Tarone 1990); counting it would only make Holm stricter for nothing
                row.p_adjusted = 1.0
                continue
            gated.append((row, row.p_increase))  # the gate asks "did it go up?": one-sided
        if config.gates["flip_rate"].gating and p.flip_rate and p.flip_rate.p_value is not None:
            gated.append((p.flip_rate, p.flip_rate.p_value))
    for (row, _), adjusted in zip(gated, stats.holm([pv for _, pv in gated]), strict=True):
        row.p_adjusted = adjusted  # type: ignore[attr-defined]
    n_gated = max(len(gated), 1)

    # Benjamini–Hochberg over the descriptive tests (and the non-gated metrics)
    descriptive: list[object] = []
    for p in compared:
        descriptive += [s for s in p.distribution_shift if s.p_value is not None]
        for name in RATE_OUTCOMES:
            row = p.rates.get(name)
            if row is not None and not config.gates[name].gating and row.p_value is not None:
                descriptive.append(row)
        if p.flip_rate and p.flip_rate.p_value is not None and not config.gates["flip_rate"].gating:
            descriptive.append(p.flip_rate)
        for s in p.strata:
            descriptive += [r for r in s.rates.values() if r.p_value is not None]
            if s.flip_rate and s.flip_rate.p_value is not None:
                descriptive.append(s.flip_rate)
    for row, adjusted in zip(
        descriptive, stats.benjamini_hochberg([r.p_value for r in descriptive]), strict=True
    ):
        row.p_adjusted = adjusted  # type: ignore[attr-defined]

    verdict = "pass"
    for p in prompts:
        if p.verdict != "error" and p in compared:
            p.verdict = _decide(p, config)
            _power(p, config, n_gated)
        p.strata.sort(key=lambda stratum: _blast_radius(stratum, config.alpha))
        verdict = _worse(verdict, p.verdict)
    return {"warn": "pass"}.get(verdict, verdict)


def _blast_radius(stratum, alpha: float) -> tuple:
    """Strata with a significant change first, then by the size of their largest change."""
    rows = [r for r in stratum.rates.values() if r.delta is not None]
    significant = any(r.p_adjusted is not None and r.p_adjusted < alpha for r in rows)
    largest = max((abs(r.delta) for r in rows), default=0.0)
    return (not significant, -largest, stratum.label)


def _power(p: PromptReport, config: Config, n_gated: int) -> None:
    """Record the smallest increase each gate catches with 80 % power; warn when a pass rests on too little.

    A pass is called unsupported when the gate would usually miss an increase of twice its margin
    (`stats.underpowered`); a fail never is, since its error rate is controlled.
    """
    for name in RATE_OUTCOMES:
        row, gate = p.rates[name], config.gates[name]
        if not gate.gating or row.base is None:
            continue
        row.min_detectable = stats.min_detectable_increase(
            p.n_inputs,
            p.samples,
            row.base,
            alpha=config.alpha,
            max_increase=gate.max_increase,
            n_tests=n_gated,
        )
        if p.verdict != "fail" and stats.underpowered(
            p.n_inputs, p.samples, row.base, gate.max_increase, config.alpha, n_tests=n_gated
        ):
            p.warnings.append(
                f"sample too small for the {name.replace('_', ' ')} gate: with {p.n_inputs} inputs x {p.samples} "
                f"samples it catches an increase of {row.min_detectable * 100:.1f} pp with 80% power, more than "
                f"twice its {gate.max_increase * 100:.1f} pp margin"
            )


def _decide(p: PromptReport, config: Config) -> str:
    alpha = config.alpha
    verdict = "pass"
    for name in RATE_OUTCOMES:
        row = p.rates[name]
        gate = config.gates[name]
        if row.delta is None or row.p_value is None:
            continue
        row.max_increase = gate.max_increase
        decision = stats.gate_decision(
            row.delta, row.p_adjusted if row.p_adjusted is not None else row.p_value, gate.max_increase, alpha
        )
        if not gate.gating and decision == "fail":
            decision = "warn"
        row.gate = decision if gate.gating else None
        if decision != "pass":
            verdict = _worse(verdict, decision)
            p.warnings.append(_gate_line(name, row, decision, gate.gating))
    flip = p.flip_rate
    if (
        flip
        and flip.excess is not None
        and flip.p_adjusted is not None
        and flip.p_adjusted < alpha
        and flip.excess > 0
    ):
        gate = config.gates["flip_rate"]
        decision = "fail" if gate.gating and flip.excess > gate.max_increase else "warn"
        flip.gate = decision
        verdict = _worse(verdict, decision)
        p.warnings.append(
            f"answers changed on {flip.head_vs_base:.1%} of input-samples against a noise floor of "
            f"{flip.noise_floor:.1%} (adjusted p = {flip.p_adjusted:.3g})"
        )
    shifted = [s for s in p.distribution_shift if s.p_adjusted is not None and s.p_adjusted < alpha]
    if shifted:
        decision = "fail" if config.gates["distribution_shift"].gating else "warn"
        verdict = _worse(verdict, decision)
        p.warnings.append(
            "output distribution shifted: "
            + ", ".join(f"{s.field} ({s.test.split(' (')[0]})" for s in shifted)
        )
    return verdict


def _gate_line(name: str, row, decision: str, gating: bool) -> str:
    label = name.replace("_", " ")
    p_text = f"adjusted p = {row.p_adjusted:.3g}" if row.p_adjusted is not None else f"p = {row.p_value:.3g}"
    change = f"{label} rate {row.base:.1%} → {row.head:.1%} ({row.delta * 100:+.1f} pp, {p_text})"
    if decision == "fail":
        return f"{change}: significant and above the {row.max_increase * 100:.1f} pp margin"
    if row.delta > row.max_increase:
        return f"{change}: above the {row.max_increase * 100:.1f} pp margin but not significant"
    return f"{change}: significant but within the {row.max_increase * 100:.1f} pp margin" + (
        "" if gating else " (not gating)"
    )
