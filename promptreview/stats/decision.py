"""The pass / warn / fail rule of one gated rate; a pure function, no I/O.

:func:`gate_decision` turns an observed change, its multiplicity-adjusted one-sided p-value, the
gate's margin and alpha into a verdict string. Applying it across a review (which rates are
gated, the Holm family, the messages) is ``promptreview/engine/gates/decision.py``'s job.
"""

from __future__ import annotations

import math
from typing import Literal

# a rate's change is a difference of counts over n: computed in floating point, a change equal to its margin
# (6 in 300 against 2 %) comes out a hair above it (0.020000000000000018); this much is no change at all
_ROUNDING = 1e-12


def exceeds(change: float, margin: float) -> bool:
    """Whether `change` is beyond `margin`: strictly, not by floating-point rounding."""
    return change - margin > _ROUNDING


def gate_decision(
    delta: float, p_adjusted: float, max_increase: float, alpha: float
) -> Literal["pass", "warn", "fail"]:
    """Verdict of one gated rate.

    "fail": the increase is significant after correction (``p_adjusted < alpha``) AND larger
    than its margin (``delta > max_increase``); "warn": a significant increase within the
    margin, or an increase beyond the margin that is not significant (or non-finite input);
    "pass" otherwise. Use the one-sided ``p_increase`` (Holm-adjusted over the gated
    metrics) as ``p_adjusted``. In words: a gate fails on a significant increase whose
    estimate exceeds its margin (the engine also holds back a fail whose 95 % interval
    includes zero, and takes a sequential stop as evidence: engine/gates/decision.py).
    """
    if not (math.isfinite(delta) and math.isfinite(p_adjusted)):
        return "warn"
    significant = p_adjusted < alpha and delta > 0
    if significant and exceeds(delta, max_increase):
        return "fail"
    if significant or exceeds(delta, max_increase):
        return "warn"
    return "pass"
