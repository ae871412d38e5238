"""The gate of a prompt with no base: an added prompt (or one renamed into the review) is held to absolute
ceilings, `gates.<metric>.max_rate` (default 5 % for parse failures, schema violations and refusals, and for a
prompt with tools each fault of its tool calls).

A ceiling fails when the rate's 95 % lower bound is above it: the per-input (clustered) Wilson interval the
analysis already computed, so K samples of one input do not count as K independent inputs. When the sample is
too small for an interval to say anything, the point estimate decides, and the line says so.
"""

from __future__ import annotations

from dataclasses import replace

from promptreview.engine.measurement.analysis import PromptStats
from promptreview.notes import Note, NoteValue, note
from promptreview.sources.config import Config
from promptreview.verdicts import PromptVerdict, worse
from promptreview.vocabulary import GATED_RATES

MIN_INPUTS = 10  # fewer inputs than this: the lower bound says nothing, the point estimate decides


def ceilings(result: PromptStats, config: Config) -> tuple[PromptStats, PromptVerdict, list[Note]]:
    """(stats with each ceiling's decision, the verdict, one warning per ceiling exceeded or decided by the
    point estimate alone)."""
    verdict = PromptVerdict.PASS
    lines: list[Note] = []
    rates = dict(result.rates)
    for name in GATED_RATES:  # a prompt with tools: its tool faults' rates too
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
        said: dict[str, NoteValue] = {
            "head": row.head,
            "max_rate": gate.max_rate,
            "n_inputs": result.n_inputs,
        }
        if failed:  # `lower_bound` None: too small a sample for an interval, the point estimate decided
            verdict = worse(verdict, decision)
            lower = None if small else bound
            lines.append(note("ceiling_exceeded", name, lower_bound=lower, **said))
        elif small:
            lines.append(note("ceiling_point_estimate", name, **said))
    return replace(result, rates=rates), verdict, lines
