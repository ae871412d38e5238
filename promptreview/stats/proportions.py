"""Intervals for the rate of one side; pure functions, no I/O.

The Wilson (1927) score interval for a proportion, and its clustered version for a rate
estimated from per-input rates (inputs are the clusters: the Wilson interval is taken on the
effective sample size given by the cluster-robust variance of the weighted mean). Numbers and
numpy arrays in, ``(low, high)`` tuples out; the weighted mean / variance helper is shared with
:mod:`.paired`.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .primitives import norm_ppf


def _z(conf: float) -> float:
    return norm_ppf(0.5 + conf / 2.0)


def wilson_interval(successes: float, n: float, conf: float = 0.95) -> tuple[float, float]:
    """Wilson (1927) score interval for a proportion ``successes / n``.

    ``successes`` and ``n`` may be non-integer (effective counts from a clustered or weighted
    sample, see :func:`clustered_wilson`). ``n <= 0`` gives ``(0.0, 1.0)``.
    """
    n = float(n)
    if not (n > 0.0) or not math.isfinite(n):
        return (0.0, 1.0)
    p = min(max(float(successes) / n, 0.0), 1.0)
    z = _z(conf)
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
    lo = 0.0 if p <= 0.0 else max(0.0, centre - half)
    hi = 1.0 if p >= 1.0 else min(1.0, centre + half)
    return (lo, hi)


def _weighted_mean_var(x: npt.NDArray[np.float64], w: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Weighted mean and the linearised (Hajek, cluster-robust) variance of that mean."""
    sw = float(w.sum())
    mean = float((w * x).sum() / sw)
    var = float((w * w * (x - mean) ** 2).sum() / (sw * sw))
    return mean, var


def clustered_wilson(
    rates: np.ndarray,
    weights: np.ndarray | None = None,
    counts: np.ndarray | None = None,
    conf: float = 0.95,
) -> tuple[float, float]:
    """Wilson interval for a rate estimated from per-input rates (inputs = clusters).

    The rate is the (weighted) mean of the per-input rates; its variance is the cluster-robust
    variance of that mean (inputs are the independent units). The Wilson interval is computed
    on the *effective sample size* ``n_eff = p(1-p) / var`` (the number of independent
    completions that would give the same variance), capped at the number of completions when
    ``counts`` (non-error completions per input) are given. For 0/1 rates (K = 1) and equal
    weights, ``n_eff`` equals the number of inputs and this is the plain Wilson interval.
    When the variance is zero (all rates 0, say) ``n_eff`` is the Kish effective number of
    inputs (the per-input rule: K samples of one input may all fail together), so a zero-event
    bound is that of 0 events in n inputs, not in n x K completions.
    """
    x = np.asarray(rates, dtype=float).ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    c: npt.NDArray[np.float64] | None = None
    if counts is not None:
        c = np.asarray(counts, dtype=float).ravel()
        ok &= np.isfinite(c) & (c > 0)
        c = c[ok]
    x, w = x[ok], w[ok]
    if x.size == 0:
        return (0.0, 1.0)
    p, var = _weighted_mean_var(x, w)
    p = min(max(p, 0.0), 1.0)
    kish = float(w.sum() ** 2 / (w * w).sum())
    if c is not None:
        cap: float | None = kish * float(c.mean())
    elif np.all((x == 0.0) | (x == 1.0)):
        cap = kish
    else:
        cap = None
    if var > 0.0 and 0.0 < p < 1.0:
        n_eff = p * (1.0 - p) / var
        if cap is not None:
            n_eff = min(n_eff, cap)
    else:
        # no variation (no event at all, or only events): the samples of one input may be perfectly
        # correlated, so the bound rests on the (effective) number of inputs, not of completions
        n_eff = kish
    return wilson_interval(p * n_eff, n_eff, conf)
