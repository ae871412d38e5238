"""The verdict: multiplicity corrections across the whole review, then each gate's decision.

Holm controls the family-wise error of the gated metrics over every prompt in the review (any one of them
blocks the merge, so they form one family); Benjamini–Hochberg controls the false discovery rate of the
descriptive per-stratum and per-field tests, which only warn unless a config makes them gating.
A prompt whose calls failed too often has no trustworthy numbers: its verdict is `error`.

`decide` reads the prompts' `PromptStats` and quality-check rows and returns, per prompt, decided copies
(adjusted p-values, gate decisions, detectable increases) with its verdict and warnings; it changes nothing it
was given.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace

from promptreview import stats
from promptreview.engine.gates.ceilings import ceilings
from promptreview.engine.measurement.analysis import PromptStats
from promptreview.engine.planning.forecast import design_effect, gate_family
from promptreview.notes import Note, NoteValue, note
from promptreview.providers import model_name
from promptreview.providers.pinning import served_model_matches
from promptreview.records import ModelSpec
from promptreview.report.document import EvaluatorRow, RateRow, SequentialInfo, ShiftRow, StratumRow
from promptreview.sources.config import Config, DecreaseGate
from promptreview.verdicts import PromptVerdict, worse
from promptreview.vocabulary import (
    GATED_RATES,
    TEXT_FEATURES,
    TOOL_RATES,
    ChangeKind,
    CheckKind,
    GatedRate,
    RateName,
    RateOutcome,
    Side,
    ToolOutcome,
)

Key = tuple[Hashable, ...]  # (prompt index, which test ...)


@dataclass(frozen=True)
class Decision:
    verdict: PromptVerdict
    stats: PromptStats  # with adjusted p-values, gate decisions and detectable increases
    evaluators: tuple[EvaluatorRow, ...]  # the quality checks, with adjusted p-values and gate decisions
    warnings: tuple[Note, ...]


@dataclass(frozen=True)
class Candidate:
    """A prompt to decide: how it changed, what was measured, its quality checks, and warnings found before
    the gates."""

    change: ChangeKind
    stats: PromptStats
    evaluators: tuple[EvaluatorRow, ...] = ()
    warnings: tuple[Note, ...] = ()
    # what the head took out of the base's contract: the prompt fails (the accept label accepts it) whatever
    # its gates say
    needs_acceptance: tuple[Note, ...] = ()
    # how a sequential review ran it: its stop is part of the verdict
    sequential: SequentialInfo | None = None
    # the leakage guard's note (suite rows the prompt holds): a warning, or a failure under `fail: true`
    leakage: Note | None = None
    leakage_fails: bool = False


def error_warnings(result: PromptStats, max_error_rate: float) -> list[Note]:
    """A side with more failed calls than `max_error_rate` (or only failed calls) has no trustworthy rates."""
    out = []
    for side, errors in result.errors.items():
        if errors.total and (errors.failed / errors.total > max_error_rate or errors.failed == errors.total):
            out.append(
                note(
                    "calls_failed",
                    side,
                    failed=errors.failed,
                    total=errors.total,
                    max_error_rate=max_error_rate,
                )
            )
    return out


def decide(candidates: Sequence[Candidate], config: Config) -> list[Decision]:
    """Adjust p-values over the review, decide every gate, and give each prompt its verdict."""
    failed_calls = [error_warnings(c.stats, config.max_error_rate) for c in candidates]
    compared = [
        i
        for i, c in enumerate(candidates)
        if c.change in ("modified", "renamed") and c.stats.rates and not failed_calls[i]
    ]
    adjusted, _ = _adjust(candidates, compared, config)
    with_tools = sum(1 for i in compared if any(name in candidates[i].stats.rates for name in TOOL_RATES))
    family = gate_family(config, len(compared), with_tools)
    decisions = []
    for i, candidate in enumerate(candidates):
        result, warnings = candidate.stats, failed_calls[i] + list(candidate.warnings)
        verdict = PromptVerdict.ERROR if failed_calls[i] else PromptVerdict.PASS
        result = _with_adjusted(i, result, adjusted)
        evaluators = tuple(
            replace(e, p_adjusted=adjusted.get((i, "evaluator", n), e.p_adjusted))
            for n, e in enumerate(candidate.evaluators)
        )
        if i in compared:
            result, evaluators, verdict, lines = _gates(result, evaluators, config, candidate.sequential)
            warnings += lines
            evaluators, lines = check_power_lines(evaluators, result.samples, verdict, config, family)
            warnings += lines
            result, lines = power_lines(result, verdict, config, family)
            warnings += lines
        elif candidate.change == "added" and not failed_calls[i]:
            result, verdict, lines = ceilings(result, config)  # no base: absolute ceilings
            warnings += lines
        if candidate.needs_acceptance:
            verdict = worse(verdict, PromptVerdict.FAIL)
            warnings += candidate.needs_acceptance
        if candidate.leakage is not None:
            verdict = worse(verdict, PromptVerdict.FAIL if candidate.leakage_fails else PromptVerdict.WARN)
            warnings.append(candidate.leakage)
        result = replace(
            result, strata=tuple(sorted(result.strata, key=lambda s: _blast_radius(s, config.alpha)))
        )
        decisions.append(Decision(verdict, result, evaluators, tuple(warnings)))
    return decisions


def _adjust(
    candidates: Sequence[Candidate], compared: list[int], config: Config
) -> tuple[dict[Key, float], int]:
    """Adjusted p-values by test, (prompt index, which test, ...): Holm over the gated family, Benjamini–Hochberg
    over the rest; and the size of the Holm family (at least 1), which the detectable increases assume."""
    gated: list[tuple[Key, float]] = []
    descriptive: list[tuple[Key, float]] = []
    fixed: dict[Key, float] = {}
    flips_gate = config.gates["flip_rate"].gating
    for i in compared:
        result = candidates[i].stats
        for name in GATED_RATES:
            if name not in result.rates:  # text mode: parse failures and schema violations do not apply
                continue
            row = result.rates[name]
            if config.gates[name].gating:
                if row.p_increase is None:
                    continue
                if row.discordant == 0:
                    # no input differs: the smallest attainable p is 1, so the test can never reject and does
                    # not count towards the family (Tarone 1990); counting it would make Holm stricter for nothing
                    fixed[(i, "rate", name)] = 1.0
                    continue
                gated.append(((i, "rate", name), row.p_increase))  # "did it go up?": one-sided
            elif row.p_value is not None:
                descriptive.append(((i, "rate", name), row.p_value))
        descriptive += [
            ((i, "rate", name), row.p_value)
            for name, row in result.rates.items()
            if name in TEXT_FEATURES and row.p_value is not None
        ]  # text features: descriptive, like the output distribution
        if result.flip_rate and result.flip_rate.p_value is not None:
            (gated if flips_gate else descriptive).append(((i, "flip"), result.flip_rate.p_value))
        for n, check in enumerate(candidates[i].evaluators):  # quality checks: "did it go down?", one-sided
            if check.p_decrease is None:
                continue
            if not _evaluator_gate(check.name, check.kind, config).gating:
                if check.p_value is not None:
                    descriptive.append(((i, "evaluator", n), check.p_value))
            elif check.discordant == 0:
                fixed[(i, "evaluator", n)] = 1.0  # cannot reject: not counted in the family (as above)
            else:
                gated.append(((i, "evaluator", n), check.p_decrease))
        descriptive += [
            ((i, "shift", n), s.p_value)
            for n, s in enumerate(result.distribution_shift)
            if s.p_value is not None
        ]
        for n, stratum in enumerate(result.strata):
            descriptive += [
                ((i, "stratum", n, name), r.p_value)
                for name, r in stratum.rates.items()
                if r.p_value is not None
            ]
            if stratum.flip_rate and stratum.flip_rate.p_value is not None:
                descriptive.append(((i, "stratum-flip", n), stratum.flip_rate.p_value))
    out = dict(fixed)
    out |= dict(zip((k for k, _ in gated), stats.holm([p for _, p in gated]), strict=True))
    out |= dict(
        zip((k for k, _ in descriptive), stats.benjamini_hochberg([p for _, p in descriptive]), strict=True)
    )
    return out, max(len(gated), 1)


def _with_adjusted(i: int, result: PromptStats, adjusted: dict[Key, float]) -> PromptStats:
    def adj(*key: Hashable, current: float | None) -> float | None:
        return adjusted.get((i, *key), current)

    rates = {
        name: replace(row, p_adjusted=adj("rate", name, current=row.p_adjusted))
        for name, row in result.rates.items()
    }
    flip = result.flip_rate
    if flip is not None:
        flip = replace(flip, p_adjusted=adj("flip", current=flip.p_adjusted))
    shifts = tuple(
        replace(s, p_adjusted=adj("shift", n, current=s.p_adjusted))
        for n, s in enumerate(result.distribution_shift)
    )
    strata = []
    for n, stratum in enumerate(result.strata):
        s_rates = {
            name: replace(r, p_adjusted=adj("stratum", n, name, current=r.p_adjusted))
            for name, r in stratum.rates.items()
        }
        s_flip = stratum.flip_rate
        if s_flip is not None:
            s_flip = replace(s_flip, p_adjusted=adj("stratum-flip", n, current=s_flip.p_adjusted))
        strata.append(replace(stratum, rates=s_rates, flip_rate=s_flip))
    return replace(result, rates=rates, flip_rate=flip, distribution_shift=shifts, strata=tuple(strata))


def _gates(
    result: PromptStats,
    evaluators: tuple[EvaluatorRow, ...],
    config: Config,
    sequential: SequentialInfo | None = None,
) -> tuple[PromptStats, tuple[EvaluatorRow, ...], PromptVerdict, list[Note]]:
    alpha = config.alpha
    verdict = PromptVerdict.PASS
    warnings: list[Note] = []
    rates = dict(result.rates)
    for name in GATED_RATES:
        if name not in rates:
            continue
        row, gate = rates[name], config.gates[name]
        if row.delta is None or row.p_value is None:
            continue
        p = row.p_adjusted if row.p_adjusted is not None else row.p_value
        decision = PromptVerdict(stats.gate_decision(row.delta, p, gate.max_increase, alpha))
        # no failing gate whose own interval includes zero: the test (one-sided, exact) and the interval
        # (two-sided, approximate) can disagree near the edge, and a fail must survive both
        zero_inside = row.ci95 is not None and row.ci95[0] <= 0.0
        if decision is PromptVerdict.FAIL and zero_inside:
            decision = PromptVerdict.WARN
        stopped = _sequential_gate(sequential, name)
        if stopped is not None and gate.gating:
            # a sequential run's stop is the verdict's own evidence (the same weighted change, an
            # anytime-valid test over the same Holm family): a stop for regression fails the gates that
            # stopped it, a stop for futility leaves none failing
            decision = stopped if stopped is PromptVerdict.FAIL else min_verdict(decision, stopped)
        if not gate.gating and decision is PromptVerdict.FAIL:
            decision = PromptVerdict.WARN
        row = replace(row, max_increase=gate.max_increase, gate=decision if gate.gating else None)
        rates[name] = row
        if decision is not PromptVerdict.PASS:
            verdict = worse(verdict, decision)
            e_value = _stop_e_value(sequential, name) if stopped is PromptVerdict.FAIL else None
            if p < alpha or e_value is not None:  # (not significant: `power_lines` says "inconclusive")
                warnings.append(_gate_note(name, row, decision, gate.gating, zero_inside, e_value))
    flip = result.flip_rate
    if (
        flip
        and flip.excess is not None
        and flip.p_adjusted is not None
        and flip.p_adjusted < alpha
        and flip.excess > 0
        and flip.head_vs_base is not None
        and flip.noise_floor is not None
    ):
        gate = config.gates["flip_rate"]
        decision = (
            PromptVerdict.FAIL
            if gate.gating and stats.exceeds(flip.excess, gate.max_increase)
            else PromptVerdict.WARN
        )
        flip = replace(flip, gate=decision)
        verdict = worse(verdict, decision)
        warnings.append(
            note(
                "flip_disagreement",
                head_vs_base=flip.head_vs_base,
                noise_floor=flip.noise_floor,
                p_adjusted=flip.p_adjusted,
            )
        )
    features: list[NoteValue] = [
        (name, row.base, row.head)
        for name, row in rates.items()
        if name in TEXT_FEATURES
        and row.p_adjusted is not None
        and row.p_adjusted < alpha
        and row.base is not None
        and row.head is not None
    ]
    if features:  # text features only warn: what a prose answer should look like is the team's call
        verdict = worse(verdict, PromptVerdict.WARN)
        warnings.append(note("answer_features", features=tuple(features)))
    floor = config.gates["distribution_shift"].max_increase
    shifts = tuple(replace(s, matters=_shift_matters(s, alpha, floor)) for s in result.distribution_shift)
    shifted = [s for s in shifts if s.matters]
    if shifted:
        verdict = worse(
            verdict, PromptVerdict.FAIL if config.gates["distribution_shift"].gating else PromptVerdict.WARN
        )
        warnings.append(note("distribution_shift", fields=tuple((s.field, s.test.name) for s in shifted)))
    evaluators, verdict = _evaluator_gates(evaluators, config, verdict, warnings)
    differs = _interval_differs(rates, evaluators, alpha, warnings)
    notes = (*result.notes, differs) if differs is not None else result.notes
    return (
        replace(result, rates=rates, flip_rate=flip, distribution_shift=shifts, notes=notes),
        evaluators,
        verdict,
        warnings,
    )


def _shift_matters(s: ShiftRow, alpha: float, floor: float) -> bool:
    """A shift the gate considers: significant, and larger than `gates.distribution_shift.max_increase` as a
    share (of answers that changed value, or of the base median for a length or a number). The report lists
    exactly these as the shifts that matter, so it never calls a change important that the gate would not."""
    if s.p_adjusted is None or s.p_adjusted >= alpha:
        return False
    size = stats.shift_size(s.effect, s.effect_name, s.base)
    return size is None or stats.exceeds(size, floor)


def _interval_differs(
    rates: Mapping[RateName, RateRow],
    evaluators: Sequence[EvaluatorRow],
    alpha: float,
    warnings: Sequence[Note],
) -> Note | None:
    """One note for the changes whose two-sided p is below alpha while their 95 % interval includes zero
    (the exact test and the approximate, conservative interval disagree near the edge), said next to them;
    a gate held back for it already says so in its own warning."""
    held = {w.subject for w in warnings if w.data.get("held")}
    rows: list[tuple[str | None, float | None, float | None, tuple[float, float] | None]] = [
        (name, r.delta, r.p_value, r.ci95) for name, r in rates.items() if name not in TEXT_FEATURES
    ]
    rows += [(e.name, e.delta, e.p_value, e.ci95) for e in evaluators if e.units == "rate"]
    changes: list[NoteValue] = [
        (name, delta, p, ci[0], ci[1])
        for name, delta, p, ci in rows
        if name not in held
        and delta is not None
        and p is not None
        and p < alpha
        and ci is not None
        and ci[0] <= 0.0 <= ci[1]
    ]
    return note("interval_differs", changes=tuple(changes), alpha=alpha) if changes else None


def _evaluator_gate(name: str, kind: CheckKind, config: Config) -> DecreaseGate:
    gates = config.quality_gates
    if kind == "must_refuse":
        return gates.must_refuse
    if kind == "expect":
        return gates.expect
    return gates.evaluator(name)


def _evaluator_gates(
    evaluators: tuple[EvaluatorRow, ...], config: Config, verdict: PromptVerdict, warnings: list[Note]
) -> tuple[tuple[EvaluatorRow, ...], PromptVerdict]:
    """Each quality check's gate: a significant decrease (Holm-adjusted, one-sided) beyond its margin fails."""
    out = []
    for row in evaluators:
        gate = _evaluator_gate(row.name, row.kind, config)
        if row.max_decrease is not None:  # the evaluator's own margin (its `max_decrease`)
            gate = DecreaseGate(row.max_decrease, gate.gating)
        unanswered = row.judge.unanswered if row.judge is not None else 0
        if unanswered:  # a judge without usable answers must not switch its check off quietly
            verdict = worse(verdict, PromptVerdict.WARN)
            warnings.append(
                note("judge_unanswered", row.name, unanswered=unanswered, gate_applied=row.delta is not None)
            )
        if row.delta is None or row.p_decrease is None:
            out.append(row)
            continue
        p = row.p_adjusted if row.p_adjusted is not None else row.p_decrease
        decision = PromptVerdict(stats.gate_decision(-row.delta, p, gate.max_decrease, config.alpha))
        # as for the rates: no failing gate whose own interval includes zero
        held = decision is PromptVerdict.FAIL and row.ci95 is not None and row.ci95[1] >= 0.0
        if held:
            decision = PromptVerdict.WARN
        if not gate.gating and decision is PromptVerdict.FAIL:
            decision = PromptVerdict.WARN
        row = replace(row, max_decrease=gate.max_decrease, gate=decision if gate.gating else None)
        out.append(row)
        if decision is not PromptVerdict.PASS:
            verdict = worse(verdict, decision)
            said = _evaluator_note(row, decision, held=held and gate.gating)
            if said is not None:
                warnings.append(said)
    return tuple(out), verdict


def _check_values(row: EvaluatorRow) -> dict[str, NoteValue]:
    assert row.base is not None and row.head is not None and row.delta is not None
    assert row.max_decrease is not None
    p = row.p_adjusted if row.p_adjusted is not None else row.p_decrease
    return {
        "check": row.kind,
        "field": row.field,
        "units": row.units,
        "base": row.base,
        "head": row.head,
        "delta": row.delta,
        "p": p,
        "max_decrease": row.max_decrease,
    }


def _evaluator_note(row: EvaluatorRow, decision: PromptVerdict, *, held: bool = False) -> Note | None:
    """A quality check's gate that did not pass: a significant decrease (beyond its margin or within it), or a
    decrease beyond the margin that is not significant (inconclusive; for a gated pass rate that line comes
    from `check_power_lines`, with the sample that would settle it)."""
    said = _check_values(row)
    assert row.delta is not None and row.max_decrease is not None
    # as for the rates: the test is against zero, only the estimate is compared with the margin
    if decision is PromptVerdict.FAIL:
        return note("check_decrease", row.name, beyond=True, **said)
    if stats.exceeds(-row.delta, row.max_decrease):
        if held:  # significant, estimated beyond the margin, but the interval reaches zero
            return note("check_decrease", row.name, beyond=True, held=True, ci95=row.ci95, **said)
        if row.units == "rate" and row.gate is not None:
            return None
        return note("check_inconclusive", row.name, **said)
    return note("check_decrease", row.name, beyond=False, **said)


def _blast_radius(stratum: StratumRow, alpha: float) -> tuple[bool, float, str]:
    """Strata with a significant change first, then by the size of their largest change."""
    rows = [r for r in stratum.rates.values() if r.delta is not None]
    significant = any(r.p_adjusted is not None and r.p_adjusted < alpha for r in rows)
    largest = max((abs(r.delta) for r in rows if r.delta is not None), default=0.0)
    return (not significant, -largest, stratum.label)


def _sequential_gate(info: SequentialInfo | None, name: GatedRate) -> PromptVerdict | None:
    """What a sequential stop says of a gate: fail (it stopped for regression on this rate), at most warn (it
    stopped for futility: no gate can fail), None (it did not stop, or not on this rate). The run watches
    every gated rate of the prompt, its tool faults' too."""
    if info is None or not info.stopped:
        return None
    if info.reason == "regression":
        return PromptVerdict.FAIL if name in info.stopped_on else None
    if info.reason == "futility":
        return PromptVerdict.WARN
    return None


def _stop_e_value(info: SequentialInfo | None, name: GatedRate) -> float | None:
    if info is None:
        return None
    return info.e_values.get(name, {}).get("regression")


def min_verdict(a: PromptVerdict, b: PromptVerdict) -> PromptVerdict:
    """The milder of two verdicts."""
    return a if worse(a, b) is b else b


def _gate_note(
    name: RateOutcome | ToolOutcome,
    row: RateRow,
    decision: PromptVerdict,
    gating: bool,
    zero_inside: bool = False,
    e_value: float | None = None,
) -> Note:
    """A gated rate's significant increase: estimated above its margin (`beyond`) or within it; `held`: not
    failed because its 95 % interval includes zero; `e_value`: a sequential stop's evidence decided it."""
    assert (
        row.base is not None
        and row.head is not None
        and row.delta is not None
        and row.max_increase is not None
    )
    # the test is against zero; only the point estimate is compared with the margin (docs/statistics.md)
    beyond = stats.exceeds(row.delta, row.max_increase)
    return note(
        "rate_increase",
        name,
        base=row.base,
        head=row.head,
        delta=row.delta,
        p_adjusted=row.p_adjusted,
        p_value=row.p_value,
        max_increase=row.max_increase,
        beyond=beyond,
        gating=gating,
        held=gating and beyond and zero_inside and decision is not PromptVerdict.FAIL,
        ci95=row.ci95,
        e_value=e_value,
    )


def served_warnings(requested: Mapping[Side, ModelSpec], served: Mapping[Side, Sequence[str]]) -> list[Note]:
    """What the provider served against what each side asked for (`requested`: side -> model)."""
    out = []
    for side, spec in requested.items():
        ids = served.get(side, [])
        model = model_name(spec)
        if len(ids) > 1 and spec.provider != "sim":
            out.append(note("served_several", side, served=tuple(ids)))
        other = [s for s in ids if not served_model_matches(spec.provider, model, s)]
        if other:
            out.append(note("served_other", side, requested=model, served=tuple(other)))
    return out


# -- power: how much the sample can detect ----------------------------------------------------------------
# The smallest increase each gate catches with 80 % power (with the design effect of unequal stratum weights
# and the nominal Holm family, the same figures `--plan` prints), the one "sample too small" line and the one
# "inconclusive" line per prompt, naming the sample that would decide.


def power_lines(
    result: PromptStats, verdict: PromptVerdict, config: Config, n_gated: int
) -> tuple[PromptStats, list[Note]]:
    """Record the smallest increase each gate catches with 80 % power; warn (once) when a pass rests on too
    little, and call a change above its margin but not significant inconclusive (once), naming the sample
    that would decide it.

    A pass is called unsupported when the gate would usually miss an increase of twice its margin
    (`stats.underpowered`); a fail never is, since its error rate is controlled. The detectable increases
    include the design effect of unequal stratum weights, as `--plan`'s do.
    """
    rates = dict(result.rates)
    deff = design_effect(result.weighted, [(s.population, s.n_inputs) for s in result.strata])
    # the rates leave must-refuse rows out (`--safety`'s too): their power is that of the inputs they measure
    rated = result.n_inputs if result.rated_inputs is None else result.rated_inputs
    small: list[tuple[RateOutcome | ToolOutcome, float, float]] = []
    unsure: list[tuple[RateOutcome | ToolOutcome, RateRow, int | None]] = []
    for name in GATED_RATES:
        if name not in rates:
            continue
        row, gate = rates[name], config.gates[name]
        if row.base is None:
            continue
        base_rate = row.base
        p = row.p_adjusted if row.p_adjusted is not None else row.p_value
        if (
            row.delta is not None
            and stats.exceeds(row.delta, gate.max_increase)
            and p is not None
            and p >= config.alpha
            and row.gate is not PromptVerdict.FAIL  # failed on a sequential stop's evidence: decided
        ):
            need = stats.inputs_to_detect(
                row.delta,
                result.samples,
                row.base,
                config.alpha,
                max_increase=gate.max_increase,
                n_tests=n_gated,
                design_effect=deff,
            )
            unsure.append((name, row, need))
        if not gate.gating:
            continue
        detectable = stats.min_detectable_increase(
            rated,
            result.samples,
            row.base,
            alpha=config.alpha,
            max_increase=gate.max_increase,
            n_tests=n_gated,
            design_effect=deff,
        )
        rates[name] = row = replace(row, min_detectable=detectable)
        if unsure and unsure[-1][0] == name:
            continue
        if verdict is not PromptVerdict.FAIL and stats.underpowered(
            rated,
            result.samples,
            base_rate,
            gate.max_increase,
            config.alpha,
            n_tests=n_gated,
            design_effect=deff,
        ):
            small.append((name, detectable, gate.max_increase))
    warnings = []
    if unsure:
        needs = [n for _, _, n in unsure if n is not None]
        warnings.append(
            note(
                "rate_inconclusive",
                changes=tuple((name, row.delta) for name, row, _ in unsure if row.delta),
                n_inputs=rated,
                samples=result.samples,
                # the inputs that would decide it with 80% power; None: no affordable sample would
                inputs_needed=max(needs) if len(needs) == len(unsure) else None,
            )
        )
    if small:
        warnings.append(
            note(
                "sample_too_small",
                gates=tuple(name for name, _, _ in small),
                detectable=tuple(d for _, d, _ in small),
                n_inputs=rated,
                samples=result.samples,
            )
        )
    return replace(result, rates=rates), warnings


def _check_inputs(row: EvaluatorRow, samples: int) -> int:
    """The inputs a quality check was measured on (its completions over the samples per input)."""
    return max(1, round(min(row.base_n, row.head_n) / max(samples, 1)))


def check_power_lines(
    evaluators: tuple[EvaluatorRow, ...],
    samples: int,
    verdict: PromptVerdict,
    config: Config,
    n_gated: int,
) -> tuple[tuple[EvaluatorRow, ...], list[Note]]:
    """The quality checks get the rates' power honesty: a gated pass rate's decrease is a failure rate's
    increase, so the same formula says how small a decrease its sample catches with 80 % power ("sample too
    small" when a decrease of twice its margin would usually go unnoticed) and how many inputs would settle
    an inconclusive one. Judges' mean scores are not rates; their inconclusive line stays without a size."""
    small: list[NoteValue] = []  # (name, kind, field, detectable decrease, inputs) per check
    out: list[EvaluatorRow] = []
    needs: dict[int, int | None] = {}
    for index, row in enumerate(evaluators):
        out.append(row)
        gate = _evaluator_gate(row.name, row.kind, config)
        if row.units != "rate" or row.base is None or row.max_decrease is None or not gate.gating:
            continue
        n_inputs = _check_inputs(row, samples)
        failing = 1.0 - row.base  # a decrease of the pass rate is an increase of the failure rate
        p = row.p_adjusted if row.p_adjusted is not None else row.p_decrease
        if (
            row.delta is not None
            and stats.exceeds(-row.delta, row.max_decrease)
            and p is not None
            and p >= config.alpha
            and row.gate is not PromptVerdict.FAIL
        ):
            needs[index] = stats.inputs_to_detect(
                -row.delta, samples, failing, config.alpha, max_increase=row.max_decrease, n_tests=n_gated
            )
            continue
        if verdict is not PromptVerdict.FAIL and stats.underpowered(
            n_inputs, samples, failing, row.max_decrease, config.alpha, n_tests=n_gated
        ):
            detectable = stats.min_detectable_increase(
                n_inputs, samples, failing, alpha=config.alpha, max_increase=row.max_decrease, n_tests=n_gated
            )
            small.append((row.name, row.kind, row.field, detectable, n_inputs))
    lines: list[Note] = []
    for index, need in needs.items():
        row = evaluators[index]
        lines.append(
            note(
                "check_inconclusive",
                row.name,
                **_check_values(row),
                n_inputs=_check_inputs(row, samples),
                samples=samples,
                # the inputs that would decide it with 80% power; None: no affordable sample would
                inputs_needed=need,
            )
        )
    if small:
        lines.append(note("check_too_small", checks=tuple(small), samples=samples))
    return tuple(out), lines
