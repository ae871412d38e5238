"""How much a review's sample can detect: the smallest increase each gate catches with 80 % power (with the
design effect of unequal stratum weights and the nominal Holm family, the same figures `--plan` prints), the
one "sample too small" line and the one "inconclusive" line per prompt, naming the sample that would decide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from promptreview import stats
from promptreview.engine.analyse import PromptStats
from promptreview.records import RATE_OUTCOMES
from promptreview.report.model import RateRow
from promptreview.sources.config import Config
from promptreview.verdicts import PromptVerdict


def gate_family(config: Config, compared: int) -> int:
    """The nominal Holm family the detectable increases assume: every gated rate of every compared prompt
    (the same number `--plan` uses, so the plan and the report agree for the same sample)."""
    return max(sum(1 for name in RATE_OUTCOMES if config.gates[name].gating) * compared, 1)


def design_effect(weighted: bool, strata: Sequence[tuple[int, int]]) -> float:
    """Kish's design effect of the stratum weights, (population, sampled) per stratum; 1.0 unweighted."""
    if not weighted or len(strata) < 2:
        return 1.0
    return stats.weighting_design_effect([p for p, _ in strata], [n for _, n in strata])


def power_lines(
    result: PromptStats, verdict: PromptVerdict, config: Config, n_gated: int
) -> tuple[PromptStats, list[str]]:
    """Record the smallest increase each gate catches with 80 % power; warn (once) when a pass rests on too
    little, and call a change above its margin but not significant inconclusive (once), naming the sample
    that would decide it.

    A pass is called unsupported when the gate would usually miss an increase of twice its margin
    (`stats.underpowered`); a fail never is, since its error rate is controlled. The detectable increases
    include the design effect of unequal stratum weights, as `--plan`'s do.
    """
    rates = dict(result.rates)
    deff = design_effect(result.weighted, [(s.population, s.n_inputs) for s in result.strata])
    small: list[tuple[str, float, float]] = []
    unsure: list[tuple[str, RateRow, int | None]] = []
    for name in RATE_OUTCOMES:
        if name not in rates:
            continue
        row, gate = rates[name], config.gates[name]
        if row.base is None:
            continue
        base_rate = row.base
        p = row.p_adjusted if row.p_adjusted is not None else row.p_value
        if row.delta is not None and row.delta > gate.max_increase and p is not None and p >= config.alpha:
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
            result.n_inputs,
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
            result.n_inputs,
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
        what = " and ".join(
            f"{name.replace('_', ' ')} {row.delta * 100:+.1f} pp" for name, row, _ in unsure if row.delta
        )
        needs = [n for _, _, n in unsure if n is not None]
        decide_by = (
            f"about {max(needs)} inputs × {_samples(result.samples)} would decide it with 80% power"
            if len(needs) == len(unsure)
            else "no affordable sample would decide it at this size of change"
        )
        warnings.append(
            f"inconclusive: {what} estimated above the margin but not significant with {result.n_inputs} "
            f"inputs × {_samples(result.samples)}; {decide_by}"
        )
    if small:
        names = ", ".join(name.replace("_", " ") for name, _, _ in small)
        sizes = list(dict.fromkeys(_detectable_text(d) for _, d, _ in small))
        size = (
            "not even a change to 100% would be caught with 80% power"
            if sizes == ["not reachable"]
            else "the smallest increase caught with 80% power is "
            + ", ".join(sizes)
            + " (more than twice the margin)"
        )
        warnings.append(
            f"sample too small for the {names} gate{'s' if len(small) > 1 else ''}: with {result.n_inputs} "
            f"inputs × {_samples(result.samples)}, {size}"
        )
    return replace(result, rates=rates), warnings


def _samples(k: int) -> str:
    return f"{k} sample" + ("" if k == 1 else "s")


def _detectable_text(value: float) -> str:
    return "not reachable" if not math.isfinite(value) or value >= 1.0 else f"{value * 100:.1f} pp"
