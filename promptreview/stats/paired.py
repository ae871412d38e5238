"""Paired tests of one outcome rate, base vs head on the same inputs; pure functions, no I/O.

McNemar's exact (mid-p) test and Newcombe's paired interval for 0/1 data with one sample per
input; otherwise a sign-flip permutation test over inputs with the hull of a cluster-robust t
interval and a MOVER (square-and-add) interval. :func:`paired_rate_test` picks between them and
returns a :class:`PairedRateResult`. numpy arrays in, floats and a dataclass out; the Monte
Carlo resampling is seeded.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

from .primitives import (
    CHUNK_CELLS,
    EXACT_MAX_NONZERO,
    binom_cdf,
    binom_pmf,
    binom_sf,
    fair_coin_sums,
    flip_patterns,
    t_ppf,
)
from .proportions import _weighted_mean_var, clustered_wilson, wilson_interval


def mcnemar_p(b: int, c: int, mid_p: bool = True) -> float:
    """Two-sided exact McNemar (1947) p-value on the discordant pairs.

    ``b``: pairs where base had the outcome and head did not; ``c``: head had it, base did not.
    Under H0 ``c ~ Binomial(b + c, 1/2)``. Exact: ``min(1, 2 P(X <= min(b, c)))``; mid-p
    (Lancaster 1961; recommended by Fagerland et al. 2013) subtracts ``P(X = min(b, c))``.
    No discordant pairs gives 1.0.
    """
    b, c = int(b), int(c)
    n = b + c
    if n <= 0:
        return 1.0
    k = min(b, c)
    p = 2.0 * binom_cdf(k, n, 0.5)
    if mid_p:
        p -= binom_pmf(k, n, 0.5)
    return float(min(1.0, max(0.0, p)))


def _mcnemar_greater(b: int, c: int, mid_p: bool = True) -> float:
    """One-sided McNemar p for an increase (head has the outcome more often): P(X >= c)."""
    n = int(b) + int(c)
    if n <= 0:
        return 1.0
    c = int(c)
    if mid_p:
        p = binom_sf(c, n, 0.5) + 0.5 * binom_pmf(c, n, 0.5)
    else:
        p = binom_sf(c - 1, n, 0.5)
    return float(min(1.0, max(0.0, p)))


def newcombe_paired_interval(
    both: int, base_only: int, head_only: int, neither: int, conf: float = 0.95
) -> tuple[float, float]:
    """Newcombe (1998, method 10) hybrid score interval for ``p_head - p_base`` on paired 0/1 data.

    Square-and-add of the two Wilson intervals with Newcombe's continuity-corrected phi
    (Fagerland, Lydersen & Laake 2017, ch. 8). Never NaN; for an all-zero table it is
    ``(-u, u)`` with ``u`` the Wilson upper bound of 0/n.
    """
    a, b, c, d = (int(v) for v in (both, base_only, head_only, neither))
    n = a + b + c + d
    if n <= 0:
        return (-1.0, 1.0)
    p1 = (a + c) / n  # head
    p2 = (a + b) / n  # base
    l1, u1 = wilson_interval(a + c, n, conf)
    l2, u2 = wilson_interval(a + b, n, conf)
    margins = (a + c) * (b + d) * (a + b) * (c + d)
    if margins == 0:
        psi = 0.0
    else:
        big_a = a * d - b * c
        if big_a > n / 2:
            psi = (big_a - n / 2) / math.sqrt(margins)
        elif big_a >= 0:
            psi = 0.0
        else:
            psi = big_a / math.sqrt(margins)
    return _mover(p1, (l1, u1), p2, (l2, u2), psi)


def _mover(
    p_head: float, head_ci: tuple[float, float], p_base: float, base_ci: tuple[float, float], r: float
) -> tuple[float, float]:
    """MOVER / square-and-add interval for p_head - p_base (Newcombe 1998; Zou & Donner 2008)."""
    lh, uh = head_ci
    lb, ub = base_ci
    delta = p_head - p_base
    r = min(1.0, max(-1.0, r))
    lo_term = (p_head - lh) ** 2 + (ub - p_base) ** 2 - 2.0 * r * (p_head - lh) * (ub - p_base)
    hi_term = (uh - p_head) ** 2 + (p_base - lb) ** 2 - 2.0 * r * (uh - p_head) * (p_base - lb)
    lo = delta - math.sqrt(max(lo_term, 0.0))
    hi = delta + math.sqrt(max(hi_term, 0.0))
    return (max(-1.0, lo), min(1.0, hi))


def _weighted_corr(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], w: npt.NDArray[np.float64]
) -> float:
    sw = w.sum()
    mx, my = (w * x).sum() / sw, (w * y).sum() / sw
    vx = (w * (x - mx) ** 2).sum()
    vy = (w * (y - my) ** 2).sum()
    if vx <= 0 or vy <= 0:
        return 0.0
    return float((w * (x - mx) * (y - my)).sum() / math.sqrt(vx * vy))


def _sign_flip_test(
    contrib: npt.NDArray[np.float64], *, seed: int, n_resamples: int
) -> tuple[float, float, str]:
    """Paired sign-flip permutation test of ``sum(contrib)`` (contrib_i = w_i * d_i).

    Returns (two-sided p, one-sided p for a positive sum, description). Exact enumeration of
    all 2**m sign patterns of the m nonzero contributions when m <= EXACT_MAX_NONZERO, else
    Monte Carlo with the (1 + hits) / (1 + R) estimator, which keeps the test valid.
    """
    nz = contrib[contrib != 0.0]
    m = int(nz.size)
    if m == 0:
        return 1.0, 1.0, "no discordant inputs"
    t = float(nz.sum())
    eps = 1e-9 * float(np.abs(nz).sum())
    if m <= EXACT_MAX_NONZERO:
        flips = flip_patterns(m).astype(np.float64)
        tstar = t - 2.0 * (flips @ nz)
        p_two = float(np.mean(np.abs(tstar) >= abs(t) - eps))
        p_gt = float(np.mean(tstar >= t - eps))
        return p_two, p_gt, f"exact, {m} discordant inputs"
    rng = np.random.default_rng(seed)
    hits_two = hits_gt = 0
    # Inputs with the same contribution are exchangeable under the null: the sum of the flipped ones
    # is value * Binomial(count, 1/2), so one binomial draw per distinct value (a handful: d_i is a
    # multiple of 1/K, w_i one weight per stratum) replaces one coin per input. Same law, other
    # random numbers; with many distinct values (continuous weights) one coin per input stays cheaper.
    values, counts = np.unique(nz, return_counts=True)
    grouped = values.size * 4 <= m
    width = values.size if grouped else m
    chunk = max(1, CHUNK_CELLS // width)
    done = 0
    while done < n_resamples:
        r = min(chunk, n_resamples - done)
        if grouped:
            flipped = fair_coin_sums(rng, counts, r).astype(np.float64) @ values
        else:
            flipped = rng.integers(0, 2, size=(r, m)).astype(np.float64) @ nz
        tstar = t - 2.0 * flipped
        hits_two += int(np.count_nonzero(np.abs(tstar) >= abs(t) - eps))
        hits_gt += int(np.count_nonzero(tstar >= t - eps))
        done += r
    p_two = (1.0 + hits_two) / (1.0 + n_resamples)
    p_gt = (1.0 + hits_gt) / (1.0 + n_resamples)
    return p_two, p_gt, f"Monte Carlo, {n_resamples} resamples, {m} discordant inputs"


@dataclasses.dataclass
class PairedRateResult:
    """One outcome rate, base vs head, on paired inputs.

    ``delta = head - base``; ``ci95`` is the interval of ``delta``; ``p_value`` is two-sided.
    ``p_increase`` is the one-sided p-value for "head's rate is higher", the one gates use.
    ``base_ci95`` / ``head_ci95`` are (clustered) Wilson intervals of each side's rate.
    """

    base: float
    head: float
    delta: float
    ci95: tuple[float, float]
    p_value: float
    test: str
    p_increase: float = 1.0
    n_inputs: int = 0
    base_ci95: tuple[float, float] = (0.0, 1.0)
    head_ci95: tuple[float, float] = (0.0, 1.0)


def paired_rate_test(
    base: np.ndarray,
    head: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    seed: int = 0,
    n_resamples: int = 10000,
    base_n: np.ndarray | None = None,
    head_n: np.ndarray | None = None,
) -> PairedRateResult:
    """Compare one outcome rate between base and head over the same inputs.

    ``base`` / ``head``: per-input rates (share of that input's non-error completions having the
    outcome; 0/1 when K = 1), aligned by input. ``weights``: optional per-input sampling
    weights (stratum population / stratum sample size, see :func:`input_weights`); rates and
    delta are then weighted means. ``base_n`` / ``head_n``: optional per-input numbers of
    non-error completions; they only sharpen the intervals when a side has zero variance.
    Inputs with a missing (NaN) rate on either side, or a zero count, are dropped (pairs only).

    * 0/1 data with equal weights (K = 1): McNemar mid-p test; Newcombe (1998) interval.
    * otherwise: sign-flip permutation test on the per-input differences ``d_i = head_i -
      base_i`` with statistic ``sum_i w_i d_i`` (exact when at most 16 inputs differ, Monte
      Carlo otherwise, seeded); interval: the hull (union) of the cluster-robust t interval
      on the per-input differences (Miller 2024) and the MOVER square-and-add of the two
      clustered Wilson intervals (Newcombe 1998 generalised; Zou & Donner 2008). The t
      interval under-covers with few events, MOVER with very unequal weights; the hull
      covers >= 95 % in every scenario of ``benchmarks/calibration_stats.py``.
    """
    b = np.asarray(base, dtype=float).ravel()
    h = np.asarray(head, dtype=float).ravel()
    if b.shape != h.shape:
        raise ValueError(f"base and head must be aligned by input: {b.shape} != {h.shape}")
    w = np.ones_like(b) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != b.shape:
        raise ValueError(f"weights must have one entry per input: {w.shape} != {b.shape}")
    ok = np.isfinite(b) & np.isfinite(h) & np.isfinite(w) & (w > 0)
    bn: npt.NDArray[np.float64] | None = None
    hn: npt.NDArray[np.float64] | None = None
    if base_n is not None and head_n is not None:
        bn = np.asarray(base_n, dtype=float).ravel()
        hn = np.asarray(head_n, dtype=float).ravel()
        ok &= np.isfinite(bn) & np.isfinite(hn) & (bn > 0) & (hn > 0)
        bn, hn = bn[ok], hn[ok]
    b, h, w = np.clip(b[ok], 0.0, 1.0), np.clip(h[ok], 0.0, 1.0), w[ok]
    n = int(b.size)
    if n == 0:
        return PairedRateResult(0.0, 0.0, 0.0, (-1.0, 1.0), 1.0, "none (no paired inputs)", 1.0, 0)

    sw = float(w.sum())
    pb = float((w * b).sum() / sw)
    ph = float((w * h).sum() / sw)
    delta = ph - pb
    uniform = bool(np.allclose(w, w[0], rtol=1e-12, atol=0.0))
    binary = bool(np.all((b == 0) | (b == 1)) and np.all((h == 0) | (h == 1)))
    if binary and bn is not None and hn is not None and (bn.max() > 1 or hn.max() > 1):
        binary = False  # K > 1 whose rates happen to be 0/1: still clustered
    if binary and uniform:
        both = int(np.sum((b == 1) & (h == 1)))
        b_only = int(np.sum((b == 1) & (h == 0)))
        h_only = int(np.sum((b == 0) & (h == 1)))
        neither = n - both - b_only - h_only
        return PairedRateResult(
            base=pb,
            head=ph,
            delta=delta,
            ci95=newcombe_paired_interval(both, b_only, h_only, neither),
            p_value=mcnemar_p(b_only, h_only, mid_p=True),
            test="McNemar mid-p",
            p_increase=_mcnemar_greater(b_only, h_only, mid_p=True),
            n_inputs=n,
            base_ci95=wilson_interval(both + b_only, n),
            head_ci95=wilson_interval(both + h_only, n),
        )

    d = h - b
    # Snap float noise (e.g. 1/3 - 1/3) to exact zeros so that ties are ties.
    d = np.where(np.abs(d) < 1e-12, 0.0, d)
    p_two, p_gt, how = _sign_flip_test(w * d, seed=seed, n_resamples=n_resamples)
    base_ci = clustered_wilson(b, w, bn)
    head_ci = clustered_wilson(h, w, hn)
    lo, hi = _mover(ph, head_ci, pb, base_ci, _weighted_corr(h, b, w))
    if n >= 2:
        # Cluster-robust t interval on the paired differences (Miller 2024), hull with MOVER.
        _, var_d = _weighted_mean_var(d, w)
        se = math.sqrt(var_d * n / (n - 1))
        tq = t_ppf(0.975, n - 1)
        lo, hi = min(lo, delta - tq * se), max(hi, delta + tq * se)
    ci = (max(-1.0, lo), min(1.0, hi))
    label = "weighted " if not uniform else ""
    return PairedRateResult(
        base=pb,
        head=ph,
        delta=delta,
        ci95=ci,
        p_value=p_two,
        test=f"paired sign-flip permutation over inputs, {label}mean difference ({how})",
        p_increase=p_gt,
        n_inputs=n,
        base_ci95=base_ci,
        head_ci95=head_ci,
    )
