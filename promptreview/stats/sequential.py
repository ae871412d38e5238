"""Sequential stopping: anytime-valid e-processes on paired per-input differences; pure functions, no I/O.

A review that runs its inputs in batches may look at the data after every batch and stop as soon as the
verdict is settled. Looking repeatedly at a fixed-design test inflates its error rate; an *e-process* does
not: by Ville's inequality, under its null hypothesis the probability that it ever reaches ``1 / level`` is at
most ``level``, however often and whenever one looks (Ramdas, Grünwald, Vovk & Shafer 2023, "Game-theoretic
statistics and safe anytime-valid inference"; Waudby-Smith & Ramdas 2024, "Estimating means of bounded
random variables by betting").

For a gated rate, input i contributes ``d_i = head_i − base_i``, the difference of its per-input rates (each
the share of its K completions with the outcome), so ``d_i`` lies in [−1, 1]. Two one-sided questions:

* **regression**: H0 ``E[d] <= 0``. The e-process is a mixture, with equal weights over a grid of bets
  ``λ``, of the betting martingales ``Π_i (1 + λ d_i)``; it reaching ``1 / level`` is evidence that the
  rate went up.
* **futility**: H0 ``E[d] >= margin``. The same with ``x_i = margin − d_i``; reaching ``1 / level`` is
  evidence that the increase is below the gate's margin, so the full run could no longer fail the gate.

Inputs are treated as exchangeable draws from the suite's traffic, the same model the fixed design's tests
use; the bets are fixed in advance, so the e-values depend only on the inputs seen and their order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from promptreview.stats.decision import exceeds
from promptreview.vocabulary import GatedRate, SequentialStop

#: Fractions of the largest admissible bet mixed with equal weights: small bets catch small effects late,
#: large bets catch large effects early. Fixed in advance (a bet chosen from the data would not be valid).
BET_FRACTIONS = (0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9)


def mixture_e_value(x: Sequence[float] | npt.NDArray[np.float64], lower: float) -> float:
    """The mixture e-value against H0 ``E[x] <= 0`` for observations ``x >= lower`` (``lower < 0``).

    Each component bets ``λ = f / |lower|`` (f in BET_FRACTIONS), which keeps every factor ``1 + λ x``
    positive; the mixture of nonnegative martingales is one too, so it is an e-process.
    """
    values = np.asarray(x, dtype=np.float64)
    if values.size == 0:
        return 1.0
    if lower >= 0:
        raise ValueError("lower must be negative")
    bets = np.asarray(BET_FRACTIONS) / abs(lower)
    logs = np.log1p(np.outer(bets, values)).sum(axis=1)  # log wealth of each bet
    top = float(logs.max())
    return float(math.exp(top) * np.mean(np.exp(logs - top))) if top < 700 else math.inf


def regression_e_value(
    differences: npt.NDArray[np.float64],
    weights: npt.NDArray[np.float64] | None = None,
    bound: float = 1.0,
) -> float:
    """Evidence against ``E[w d] <= 0``, from per-input differences in [−1, 1] and their sampling weights
    (mean 1 over the planned sample; None: all 1). ``bound``: the largest weight of the planned sample, fixed
    before any data (the bets must not move with what is seen), so ``w d >= -bound``."""
    w = _weights(differences, weights)
    return mixture_e_value(w * differences, -max(bound, 1.0))


def futility_e_value(
    differences: npt.NDArray[np.float64],
    margin: float,
    weights: npt.NDArray[np.float64] | None = None,
    bound: float = 1.0,
) -> float:
    """Evidence against ``E[w d] >= margin`` (the weighted increase reaches the gate's margin)."""
    w = _weights(differences, weights)
    return mixture_e_value(margin - w * differences, margin - max(bound, 1.0))


def _weights(
    differences: npt.NDArray[np.float64], weights: npt.NDArray[np.float64] | None
) -> npt.NDArray[np.float64]:
    if weights is None:
        return np.ones(len(differences))
    return np.asarray(weights, dtype=np.float64)


def weighted_mean(differences: npt.NDArray[np.float64], weights: npt.NDArray[np.float64] | None) -> float:
    """The change the verdict reads: the weighted mean difference ``Σ w d / Σ w`` (the plain mean unweighted)."""
    if not len(differences):
        return 0.0
    w = _weights(differences, weights)
    return float(np.sum(w * differences) / np.sum(w))


@dataclass(frozen=True)
class Look:
    """One interim look: after how many inputs, and each gated rate's e-values."""

    inputs: int
    regression: dict[GatedRate, float]  # e-value against "no increase"
    futility: dict[GatedRate, float]  # e-value against "the increase reaches the margin"


def decide_look(
    differences: Mapping[GatedRate, npt.NDArray[np.float64]],
    margins: Mapping[GatedRate, float],
    alpha: float,
    futility_level: float,
    futility_allowed: bool = True,
    *,
    weights: npt.NDArray[np.float64] | None = None,
    weight_bound: float = 1.0,
    estimate_weights: npt.NDArray[np.float64] | None = None,
    family: int | None = None,
) -> tuple[SequentialStop | None, Look]:
    """Whether to stop after this look, and why.

    ``differences``: per gated metric, the per-input differences seen so far (in run order). The statistic
    is the one the verdict reads: the stratum-weighted change. ``weights`` are each input's sampling weight
    fixed by the plan (mean 1 over the planned sample, so ``w d`` has the weighted change as its mean and the
    e-processes stay valid), ``weight_bound`` the largest weight of the planned sample; ``estimate_weights`` are the weights the analysis gives the inputs that ran
    (its ``W_h / n_h``), so the mean compared with the margin is the reported change. None: unweighted.
    ``family``: the gated tests the verdict's Holm family holds (every gated rate of every compared prompt;
    default: these metrics).

    Stop with ``"regression"`` when some metric's regression e-value reaches ``family / alpha`` (Bonferroni
    over the family) and its weighted change exceeds its margin: the gate then fails (the verdict takes the
    stop's evidence as its own). Stop with ``"futility"`` when every metric's futility e-value reaches
    ``1 / futility_level`` and its weighted change is within its margin: no gate can fail any more. None: go
    on.
    """
    n_inputs = max((len(d) for d in differences.values()), default=0)
    bound = 1.0 if weights is None else weight_bound
    regression = {m: regression_e_value(d, weights, bound) for m, d in differences.items()}
    futility = {m: futility_e_value(d, margins[m], weights, bound) for m, d in differences.items()}
    look = Look(n_inputs, regression, futility)
    if not differences:
        return None, look
    change = {m: weighted_mean(d, estimate_weights) for m, d in differences.items()}
    if regression_stops(look, change, margins, alpha, family):
        return "regression", look
    if futility_allowed and all(
        e >= 1 / futility_level and change[m] <= margins[m] for m, e in futility.items()
    ):
        return "futility", look
    return None, look


def regression_stops(
    look: Look,
    change: Mapping[GatedRate, float],
    margins: Mapping[GatedRate, float],
    alpha: float,
    family: int | None = None,
) -> tuple[GatedRate, ...]:
    """The metrics whose evidence stops the run for a regression: e-value at ``family / alpha`` and the
    weighted change past the margin."""
    threshold = (family or len(look.regression)) / alpha
    return tuple(
        m
        for m, e in look.regression.items()
        if look.inputs and e >= threshold and exceeds(change.get(m, 0.0), margins[m])
    )
