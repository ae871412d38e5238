"""Power and sample size of the gated rate test; pure functions, no I/O.

:func:`min_detectable_increase` is the smallest increase of a rate the paired one-sided test
(or the gate, with a margin) detects with a given power, from a normal approximation with a
design effect for K samples per input; :func:`underpowered` flags a sample too small for its
gate's margin; :func:`icc_estimate` estimates the intra-class correlation that design effect
needs from a previous run's per-input rates. Numbers and numpy arrays in, floats and a bool out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .primitives import norm_isf, norm_ppf


def min_detectable_increase(
    n_inputs: int,
    samples: int,
    base_rate: float,
    alpha: float = 0.05,
    power: float = 0.8,
    icc: float = 0.0,
    *,
    max_increase: float = 0.0,
    n_tests: int = 1,
    design_effect: float = 1.0,
) -> float:
    """Smallest increase of a rate the paired, one-sided test detects with the given power.

    Normal approximation for the mean of per-input differences: with ``p1 = p0 + delta`` and
    design effect ``deff = 1 + (K - 1) * icc`` for K samples per input,
    ``se = sqrt((p0 (1 - p0) + p1 (1 - p1)) * deff / (n K))`` and solve for delta::

        delta = z_{1 - alpha/n_tests} * se0 + 1 / (2 n K) + z_power * se,
        se0 = sqrt(se^2 + delta^2 / n)

    (the sign-flip and McNemar tests take their null variance from the observed differences,
    whose second moment under the alternative is var + delta^2; ``1/(2nK)`` is a continuity
    correction for the 1/K lattice of per-input rates). With ``max_increase`` > 0 it returns
    the smallest increase the *gate* catches with that power (significant AND observed delta
    > margin): the critical value becomes ``max(margin, z_a se0 + 1/(2nK))``.
    ``n_tests`` applies a Bonferroni split of alpha (a bound for Holm over the gated metrics).
    ``design_effect`` multiplies the variance for unequal stratum weights (Kish; see
    :func:`weighting_design_effect`): a weighted estimate from n inputs is as precise as n / deff.
    The design effect ignores the positive correlation between the sides of a paired input,
    so the result is conservative when the same inputs are hard on both sides. Returns
    ``inf`` when no increase up to ``1 - base_rate`` is detectable.
    """
    if n_inputs <= 0 or samples <= 0:
        return math.inf
    p0 = min(max(float(base_rate), 0.0), 1.0)
    deff = 1.0 + (samples - 1) * max(float(icc), 0.0)
    m = n_inputs * samples / deff / max(float(design_effect), 1.0)
    za = norm_isf(alpha / max(int(n_tests), 1))
    zb = norm_ppf(power)
    margin = max(float(max_increase), 0.0)

    half_step = 0.5 / (n_inputs * samples)  # continuity: per-input rates live on a 1/K lattice

    def f(delta: float) -> float:
        p1 = p0 + delta
        se = math.sqrt(max(p0 * (1 - p0) + p1 * (1 - p1), 0.0) / m)
        se_null = math.sqrt(se * se + delta * delta * max(float(design_effect), 1.0) / n_inputs)
        return delta - max(margin, za * se_null + half_step) - zb * se

    top = 1.0 - p0
    if top <= 0 or f(top) < 0:
        return math.inf
    grid = np.linspace(1e-9, top, 400)
    vals = np.array([f(x) for x in grid])
    first = int(np.argmax(vals >= 0))
    if first == 0:
        return float(grid[0])
    return _bisect(f, float(grid[first - 1]), float(grid[first]), xtol=1e-10)


def _bisect(f: Callable[[float], float], low: float, high: float, *, xtol: float) -> float:
    """The root of `f` in [low, high] (f(low) < 0 <= f(high)) to within `xtol`.

    The bracket is one step of a 400-point grid, so about 22 halvings reach 1e-10; scipy.optimize.brentq
    needs fewer evaluations but importing scipy.optimize took a third of a second of every review that
    reports a detectable increase (most do), far more than the halvings."""
    while high - low > xtol:
        mid = 0.5 * (low + high)
        if f(mid) >= 0:
            high = mid
        else:
            low = mid
    return high


def underpowered(
    n_inputs: int,
    samples: int,
    base_rate: float,
    max_increase: float,
    alpha: float = 0.05,
    *,
    power: float = 0.8,
    icc: float = 0.0,
    n_tests: int = 1,
    factor: float = 2.0,
    design_effect: float = 1.0,
) -> bool:
    """True when the gate cannot catch an increase of ``factor * max_increase`` with ``power``.

    A "pass" from such a sample says little: a regression twice the tolerated margin would
    usually go unnoticed. (A "fail" is always supported: its error rate is controlled.)
    """
    mde = min_detectable_increase(
        n_inputs,
        samples,
        base_rate,
        alpha,
        power,
        icc,
        max_increase=max_increase,
        n_tests=n_tests,
        design_effect=design_effect,
    )
    return mde > factor * max(max_increase, 0.0)


def icc_estimate(rates: np.ndarray, counts: np.ndarray) -> float:
    """One-way ANOVA intra-class correlation of a binary outcome within inputs.

    ``rates[i]``: per-input rate over ``counts[i]`` completions (Fleiss 1981; Ridout et al. 1999).
    Clipped to [0, 1]; 0.0 when it cannot be estimated (one input, K = 1, no variation).
    """
    p = np.asarray(rates, dtype=float).ravel()
    c = np.asarray(counts, dtype=float).ravel()
    ok = np.isfinite(p) & np.isfinite(c) & (c > 0)
    p, c = p[ok], c[ok]
    k, big_n = p.size, float(c.sum())
    if k < 2 or big_n - k <= 0:
        return 0.0
    pbar = float((c * p).sum() / big_n)
    msb = float((c * (p - pbar) ** 2).sum() / (k - 1))
    msw = float((c * p * (1 - p)).sum() / (big_n - k))
    n0 = (big_n - float((c * c).sum()) / big_n) / (k - 1)
    den = msb + (n0 - 1) * msw
    if den <= 0:
        return 0.0
    return float(min(1.0, max(0.0, (msb - msw) / den)))


def weighting_design_effect(populations: Sequence[float], sampled: Sequence[float]) -> float:
    """Kish's design effect of unequal weights, ``n * sum(w_i^2) / (sum w_i)^2`` with ``w = N_h / n_h``.

    One stratum, or a proportional sample, gives 1.0; 700/200/100 sampled equally gives 1.62 (standard
    errors 1.27x the unweighted ones). Strata with no sampled input are left out.
    """
    pairs = [(float(p), float(s)) for p, s in zip(populations, sampled, strict=True) if s > 0 and p > 0]
    n = sum(s for _, s in pairs)
    if not pairs or n <= 0:
        return 1.0
    total = sum(p for p, _ in pairs)
    sum_w2 = sum(s * (p / s) ** 2 for p, s in pairs)
    return max(1.0, n * sum_w2 / (total * total))


def inputs_to_detect(
    increase: float,
    samples: int,
    base_rate: float,
    alpha: float = 0.05,
    *,
    max_increase: float = 0.0,
    n_tests: int = 1,
    design_effect: float = 1.0,
    limit: int = 1_000_000,
) -> int | None:
    """The fewest inputs (at ``samples`` per input) with which the gate catches ``increase`` with 80 %
    power; None when even ``limit`` inputs would not (e.g. an increase at or below the margin)."""

    def caught(n: int) -> bool:
        mde = min_detectable_increase(
            n,
            samples,
            base_rate,
            alpha,
            max_increase=max_increase,
            n_tests=n_tests,
            design_effect=design_effect,
        )
        return mde <= increase

    if increase <= max(max_increase, 0.0) or not caught(limit):
        return None
    low, high = 1, 2
    while not caught(high):
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if caught(mid) else (mid, high)
    return high
