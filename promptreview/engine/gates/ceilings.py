"""The gate of a prompt with no base: an added prompt (or one renamed into the review) is held to absolute
ceilings, `gates.<metric>.max_rate` (default 5 % for parse failures, schema violations and refusals).

A ceiling fails when the rate's 95 % lower bound is above it: the per-input (clustered) Wilson interval the
analysis already computed, so K samples of one input do not count as K independent inputs. When the sample is
too small for an interval to say anything, the point estimate decides, and the line says so.
"""

from __future__ import annotations

from dataclasses import replace

from promptreview.engine.measurement.analysis import PromptStats
from promptreview.records import RATE_OUTCOMES
from promptreview.sources.config import Config
from promptreview.verdicts import PromptVerdict, worse

MIN_INPUTS = 10  # fewer inputs than this: the lower bound says nothing, the point estimate decides


def ceilings(result: PromptStats, config: Config) -> tuple[PromptStats, PromptVerdict, list[str]]:
    """(stats with each ceiling's decision, the verdict, one line per ceiling exceeded)."""
    verdict = PromptVerdict.PASS
    lines: list[str] = []
    rates = dict(result.rates)
    for name in RATE_OUTCOMES:
        row, gate = rates.get(name), config.gates.get(name)
        if row is None or gate is None or gate.max_rate is None or row.head is None:
            continue
        interval = row.head_ci95 if result.n_inputs >= MIN_INPUTS else None
        small = interval is None
        bound = row.head if interval is None else interval[0]
        failed = bound > gate.max_rate
        decision = PromptVerdict.PASS
        if failed:
            decision = PromptVerdict.FAIL if gate.gating else PromptVerdict.WARN
        rates[name] = replace(row, gate=decision if gate.gating else None, max_rate=gate.max_rate)
        label = name.replace("_", " ")
        if small:
            how = f"sample too small for an interval ({result.n_inputs} inputs): the point estimate decides"
        else:
            how = f"95% lower bound {bound:.1%}"
        if failed:
            verdict = worse(verdict, decision)
            lines.append(
                f"new prompt: {label} rate {row.head:.1%} ({how}) is above the ceiling max_rate "
                f"{gate.max_rate:.1%}"
            )
        elif small:
            lines.append(
                f"new prompt: {label} rate {row.head:.1%} within max_rate {gate.max_rate:.1%} ({how})"
            )
    return replace(result, rates=rates), verdict, lines
