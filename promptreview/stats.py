"""The statistical core of promptreview: pure functions, no I/O.

numpy arrays in, floats and plain dataclasses out; every resampling is seeded, so the same
inputs and seed always give the same numbers. ``docs/statistics.md`` explains every test, why
it was chosen, its formula and its reference; ``benchmarks/calibration_stats.py`` measures the
false-alarm rate and the power of the gated test by simulation.

Design rules that hold throughout:

* The unit of analysis is the **input** (a suite row). With K samples per input and side, the
  completions of one input are correlated, so every test here resamples or permutes inputs,
  never individual completions (Miller 2024, "Adding Error Bars to Evals").
* The design is **paired**: the same inputs run on both sides, and each test conditions on
  that pairing (McNemar, sign-flip permutations, signed-rank tests on per-input differences).
* Degenerate data (no inputs, no discordant inputs, all zeros) gives p = 1.0 and a finite
  interval, never NaN.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import optimize
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

__all__ = [
    "FlipResult",
    "PairedRateResult",
    "ShiftResult",
    "benjamini_hochberg",
    "categorical_shift",
    "clustered_wilson",
    "flip_rate",
    "flip_vs_noise",
    "gate_decision",
    "holm",
    "icc_estimate",
    "input_weights",
    "is_proportional",
    "length_shift",
    "mcnemar_p",
    "min_detectable_increase",
    "newcombe_paired_interval",
    "noise_floor",
    "numeric_shift",
    "paired_rate_test",
    "stuart_maxwell",
    "underpowered",
    "weighted_rate",
    "wilson_interval",
]

#: Enumerate all 2**m sign patterns when at most this many inputs differ; Monte Carlo beyond.
EXACT_MAX_NONZERO = 16
#: Upper bound on the number of array cells built per resampling chunk (memory guard).
_CHUNK_CELLS = 2_000_000


# --------------------------------------------------------------------------------------------
# Single proportions
# --------------------------------------------------------------------------------------------


def _z(conf: float) -> float:
    return float(sps.norm.ppf(0.5 + conf / 2.0))


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


def _weighted_mean_var(x: np.ndarray, w: np.ndarray) -> tuple[float, float]:
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
    When the variance is zero (all rates 0, say) ``n_eff`` falls back to the cap, or to the
    Kish effective number of inputs, so the interval stays honest (``[0, u]``, not ``[0, 0]``).
    """
    x = np.asarray(rates, dtype=float).ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    c = None
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
        n_eff = cap if cap is not None else kish
    return wilson_interval(p * n_eff, n_eff, conf)


# --------------------------------------------------------------------------------------------
# Paired rates
# --------------------------------------------------------------------------------------------


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
    p = 2.0 * sps.binom.cdf(k, n, 0.5)
    if mid_p:
        p -= sps.binom.pmf(k, n, 0.5)
    return float(min(1.0, max(0.0, p)))


def _mcnemar_greater(b: int, c: int, mid_p: bool = True) -> float:
    """One-sided McNemar p for an increase (head has the outcome more often): P(X >= c)."""
    n = int(b) + int(c)
    if n <= 0:
        return 1.0
    c = int(c)
    if mid_p:
        p = sps.binom.sf(c, n, 0.5) + 0.5 * sps.binom.pmf(c, n, 0.5)
    else:
        p = sps.binom.sf(c - 1, n, 0.5)
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


def _weighted_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    sw = w.sum()
    mx, my = (w * x).sum() / sw, (w * y).sum() / sw
    vx = (w * (x - mx) ** 2).sum()
    vy = (w * (y - my) ** 2).sum()
    if vx <= 0 or vy <= 0:
        return 0.0
    return float((w * (x - mx) * (y - my)).sum() / math.sqrt(vx * vy))


def _sign_flip_test(contrib: np.ndarray, *, seed: int, n_resamples: int) -> tuple[float, float, str]:
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
        idx = np.arange(2**m, dtype=np.int64)
        flips = ((idx[:, None] >> np.arange(m)) & 1).astype(np.float64)
        tstar = t - 2.0 * (flips @ nz)
        p_two = float(np.mean(np.abs(tstar) >= abs(t) - eps))
        p_gt = float(np.mean(tstar >= t - eps))
        return p_two, p_gt, f"exact, {m} discordant inputs"
    rng = np.random.default_rng(seed)
    hits_two = hits_gt = 0
    chunk = max(1, _CHUNK_CELLS // m)
    done = 0
    while done < n_resamples:
        r = min(chunk, n_resamples - done)
        flips = rng.integers(0, 2, size=(r, m)).astype(np.float64)
        tstar = t - 2.0 * (flips @ nz)
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
    bn = hn = None
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
    if binary and bn is not None and (bn.max() > 1 or hn.max() > 1):
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
        tq = float(sps.t.ppf(0.975, n - 1))
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


# --------------------------------------------------------------------------------------------
# Noise floor and flips
# --------------------------------------------------------------------------------------------


def _is_missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _as_2d_objects(a: np.ndarray) -> np.ndarray:
    arr = np.asarray(a, dtype=object)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError("answers must be an (n_inputs, K) array")
    return arr


def _encode(*arrays: np.ndarray) -> list[np.ndarray]:
    """Map answers to integer codes shared across arrays; missing (None/NaN) -> -1."""
    table: dict[object, int] = {}
    out = []
    for arr in arrays:
        flat = arr.ravel()
        codes = np.empty(flat.size, dtype=np.int64)
        for i, v in enumerate(flat):
            codes[i] = -1 if _is_missing(v) else table.setdefault(v, len(table))
        out.append(codes.reshape(arr.shape))
    return out


def _within_disagreement(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row (last axis = samples): disagreeing and valid pair counts over k < k'."""
    k = codes.shape[-1]
    neq = np.zeros(codes.shape[:-1], dtype=np.int64)
    cnt = np.zeros(codes.shape[:-1], dtype=np.int64)
    for i in range(k):
        for j in range(i + 1, k):
            a, b = codes[..., i], codes[..., j]
            valid = (a >= 0) & (b >= 0)
            cnt += valid
            neq += valid & (a != b)
    return neq, cnt


def _cross_disagreement(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: disagreeing and valid pair counts over all (k, k') pairs of x and y."""
    neq = np.zeros(x.shape[:-1], dtype=np.int64)
    cnt = np.zeros(x.shape[:-1], dtype=np.int64)
    for i in range(x.shape[-1]):
        for j in range(y.shape[-1]):
            a, b = x[..., i], y[..., j]
            valid = (a >= 0) & (b >= 0)
            cnt += valid
            neq += valid & (a != b)
    return neq, cnt


def noise_floor(answers: np.ndarray) -> float | None:
    """A/A disagreement of one side with itself.

    ``answers``: (n_inputs, K) canonical answers (None for an errored completion). Per input,
    the share of sample pairs k < k' whose answers differ; returns the mean over inputs that
    have at least one valid pair. ``None`` when K < 2 (no noise floor can be measured) or no
    input has two valid answers.
    """
    arr = _as_2d_objects(answers)
    if arr.shape[1] < 2 or arr.shape[0] == 0:
        return None
    (codes,) = _encode(arr)
    neq, cnt = _within_disagreement(codes)
    has = cnt > 0
    if not has.any():
        return None
    return float(np.mean(neq[has] / cnt[has]))


def flip_rate(base: np.ndarray, head: np.ndarray) -> float:
    """Share of (input, k) whose head answer differs from the base answer at the same k.

    Pairs with a missing answer on either side are skipped; 0.0 when nothing is comparable.
    """
    b, h = _as_2d_objects(base), _as_2d_objects(head)
    if b.shape != h.shape:
        raise ValueError(f"base and head answers must have the same shape: {b.shape} != {h.shape}")
    cb, ch = _encode(b, h)
    valid = (cb >= 0) & (ch >= 0)
    if not valid.any():
        return 0.0
    return float(np.mean(cb[valid] != ch[valid]))


@dataclasses.dataclass
class FlipResult:
    """Head-vs-base disagreement against the base's own (A/A) disagreement.

    ``head_vs_base`` is the all-pairs cross disagreement (share of (k, k') pairs with
    ``base[k] != head[k']``, averaged over inputs), ``noise_floor`` the base's within
    disagreement over k < k' on the same inputs, ``excess`` their difference (the test
    statistic) and ``p_value`` the one-sided permutation p for "head disagrees more".
    With K = 1 there is no noise floor: ``head_vs_base`` is the plain flip rate and the
    other fields are None.
    """

    head_vs_base: float
    noise_floor: float | None
    excess: float | None
    p_value: float | None
    test: str


def flip_vs_noise(
    base_answers: np.ndarray, head_answers: np.ndarray, *, seed: int = 0, n_resamples: int = 5000
) -> FlipResult:
    """Is the head-vs-base disagreement larger than the noise floor (base vs base)?

    Per input i: ``cross_i`` = share of all K*K pairs (k, k') with base[k] != head[k'];
    ``within_i`` = share of the K(K-1)/2 pairs k < k' with base[k] != base[k']. If head answers
    come from the same distribution as base answers, both have expectation ``1 - sum_a pi_a^2``.
    Statistic: ``T = sum_i (cross_i - within_i)`` over inputs where both are defined.
    Null distribution: for each input the 2K answers (K base + K head) are exchangeable under
    H0, so they are shuffled within the input (inputs are never mixed), re-split K / K, and T
    recomputed (Monte Carlo, seeded); p = (1 + #{T* >= T}) / (1 + R). One-sided.
    """
    b, h = _as_2d_objects(base_answers), _as_2d_objects(head_answers)
    if b.shape != h.shape:
        raise ValueError(f"base and head answers must have the same shape: {b.shape} != {h.shape}")
    n, k = b.shape
    if k < 2 or n == 0:
        return FlipResult(flip_rate(b, h) if n else 0.0, None, None, None, "none (K < 2: no noise floor)")
    cb, ch = _encode(b, h)

    def stat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cn, cc = _cross_disagreement(x, y)
        wn, wc = _within_disagreement(x)
        defined = (cc > 0) & (wc > 0)
        cross = np.where(defined, cn / np.maximum(cc, 1), 0.0)
        within = np.where(defined, wn / np.maximum(wc, 1), 0.0)
        return cross, within, defined

    cross, within, defined = stat(cb, ch)
    if not defined.any():
        return FlipResult(flip_rate(b, h), None, None, None, "none (no input with two valid answers)")
    hvb = float(cross[defined].mean())
    nf = float(within[defined].mean())
    t_obs = float((cross - within).sum())
    eps = 1e-9 * max(1.0, float(defined.sum()))

    pooled = np.concatenate([cb, ch], axis=1)  # (n, 2K)
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // (n * 2 * k))
    hits = 0
    done = 0
    while done < n_resamples:
        r = min(chunk, n_resamples - done)
        order = np.argsort(rng.random((r, n, 2 * k)), axis=2)
        perm = np.take_along_axis(np.broadcast_to(pooled, (r, n, 2 * k)), order, axis=2)
        pc, pw, _ = stat(perm[..., :k], perm[..., k:])
        tstar = (pc - pw).sum(axis=1)
        hits += int(np.count_nonzero(tstar >= t_obs - eps))
        done += r
    p = (1.0 + hits) / (1.0 + n_resamples)
    return FlipResult(
        head_vs_base=hvb,
        noise_floor=nf,
        excess=hvb - nf,
        p_value=float(p),
        test=f"within-input permutation of all-pairs disagreement, one-sided ({n_resamples} resamples)",
    )


# --------------------------------------------------------------------------------------------
# Output-distribution shift
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class ShiftResult:
    """Distribution shift of one output field between base and head.

    ``effect`` is the headline effect size named by ``effect_name`` (total variation for
    categorical fields, median of paired differences for numeric and length fields).
    ``details`` holds the rest (Jensen-Shannon distance, degrees of freedom, asymptotic p,
    numbers of pairs and inputs).
    """

    field: str
    kind: str
    test: str
    statistic: float
    p_value: float
    effect: float | None
    effect_name: str
    base: dict
    head: dict
    details: dict = dataclasses.field(default_factory=dict)


def stuart_maxwell(table: np.ndarray) -> tuple[float, int, float]:
    """Stuart (1955) - Maxwell (1970) test of marginal homogeneity on a square paired table.

    ``table[i, j]`` = number of pairs with base label i and head label j. Categories never
    seen (zero row and column) are dropped; the covariance is inverted with a Moore-Penrose
    generalized inverse, df = its rank. Returns (statistic, df, asymptotic chi-square p).
    """
    t = np.asarray(table, dtype=float)
    keep = (t.sum(axis=0) + t.sum(axis=1)) > 0
    t = t[np.ix_(keep, keep)]
    diff = t.sum(axis=1) - t.sum(axis=0)  # base marginal - head marginal
    v = -(t + t.T)
    np.fill_diagonal(v, t.sum(axis=1) + t.sum(axis=0) - 2.0 * np.diag(t))
    return _quadratic_chi2(diff, v)


def _quadratic_chi2(diff: np.ndarray, v: np.ndarray) -> tuple[float, int, float]:
    if diff.size == 0 or not np.any(v):
        return 0.0, 0, 1.0
    vinv = np.linalg.pinv(v, hermitian=True)
    df = int(np.linalg.matrix_rank(v, hermitian=True))
    stat = float(max(diff @ vinv @ diff, 0.0))
    if df == 0:
        return 0.0, 0, 1.0
    return stat, df, float(sps.chi2.sf(stat, df))


def _labels(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=object).ravel()


def _group_index(groups: np.ndarray | None, n: int) -> tuple[np.ndarray, int]:
    if groups is None:
        return np.arange(n), n
    g = np.asarray(groups, dtype=object).ravel()
    if g.size != n:
        raise ValueError(f"groups must have one entry per pair: {g.size} != {n}")
    _, inv = np.unique(g.astype(str), return_inverse=True)
    return inv.ravel(), int(inv.max()) + 1 if n else 0


def categorical_shift(
    field: str,
    base_labels: np.ndarray,
    head_labels: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    seed: int = 0,
    n_resamples: int = 10000,
) -> ShiftResult:
    """Shift of a categorical / enum / boolean field.

    ``base_labels[j]`` and ``head_labels[j]`` are the labels of pair j = (input, k); None for a
    missing value (the pair is then dropped). ``groups[j]`` is the input id of pair j: pass it
    whenever K > 1 so that inputs, not completions, are the unit of the test.

    Test: cluster-robust Stuart-Maxwell. With ``d_i`` = head label counts minus base label
    counts of input i, ``D = sum_i d_i`` and ``V = sum_i d_i d_i^T``, ``T = D^T V^+ D``. For
    K = 1 (one pair per input) V is exactly the Stuart-Maxwell covariance and T the
    Stuart-Maxwell statistic. The p-value is a sign-flip permutation over inputs (swapping an
    input's base and head labels leaves V unchanged and maps d_i to -d_i): exact when at most
    16 inputs differ, Monte Carlo otherwise. The chi-square p is kept in ``details``.
    Effect: total variation distance between the two label distributions; the Jensen-Shannon
    distance (base 2) is in ``details``. ``base`` / ``head``: label -> count over the pairs used.
    """
    b, h = _labels(base_labels), _labels(head_labels)
    if b.size != h.size:
        raise ValueError(f"base and head labels must be paired: {b.size} != {h.size}")
    gi, _ = _group_index(groups, b.size)
    ok = np.array([not (_is_missing(x) or _is_missing(y)) for x, y in zip(b, h, strict=True)], dtype=bool)
    b, h, gi = b[ok], h[ok], gi[ok]
    name = "Stuart-Maxwell (cluster-robust), sign-flip permutation over inputs"
    if b.size == 0:
        return ShiftResult(
            field,
            "categorical",
            name,
            0.0,
            1.0,
            None,
            "total_variation",
            {},
            {},
            {"n_pairs": 0, "n_inputs": 0},
        )
    cats = sorted({str(x) for x in b} | {str(x) for x in h})
    index = {c: i for i, c in enumerate(cats)}
    bc = np.array([index[str(x)] for x in b])
    hc = np.array([index[str(x)] for x in h])
    _, gi = np.unique(gi, return_inverse=True)
    n_inputs = int(gi.max()) + 1
    ncat = len(cats)
    dmat = np.zeros((n_inputs, ncat))
    np.add.at(dmat, (gi, hc), 1.0)
    np.add.at(dmat, (gi, bc), -1.0)
    base_counts = np.bincount(bc, minlength=ncat).astype(float)
    head_counts = np.bincount(hc, minlength=ncat).astype(float)
    pb, ph = base_counts / base_counts.sum(), head_counts / head_counts.sum()
    tv = float(0.5 * np.abs(pb - ph).sum())
    js = float(jensenshannon(pb, ph, base=2.0)) if ncat > 1 else 0.0
    if not math.isfinite(js):
        js = 0.0

    dsum = dmat.sum(axis=0)
    v = dmat.T @ dmat
    stat, df, p_asym = _quadratic_chi2(dsum, v)
    if df == 0:
        p, how = 1.0, "no discordant pairs"
    else:
        p, how = _quadratic_sign_flip(dmat, np.linalg.pinv(v, hermitian=True), stat, seed, n_resamples)
    return ShiftResult(
        field=field,
        kind="categorical",
        test=f"{name} ({how})",
        statistic=stat,
        p_value=p,
        effect=tv,
        effect_name="total_variation",
        base={c: int(base_counts[i]) for i, c in enumerate(cats)},
        head={c: int(head_counts[i]) for i, c in enumerate(cats)},
        details={
            "jensen_shannon": js,
            "total_variation": tv,
            "df": df,
            "p_chi2": p_asym,
            "n_pairs": int(b.size),
            "n_inputs": n_inputs,
        },
    )


def _quadratic_sign_flip(
    dmat: np.ndarray, vinv: np.ndarray, stat: float, seed: int, n_resamples: int
) -> tuple[float, str]:
    rows = dmat[np.any(dmat != 0.0, axis=1)]
    m = rows.shape[0]
    eps = 1e-9 * max(1.0, abs(stat))

    def stats_for(signs: np.ndarray) -> np.ndarray:
        z = signs @ rows
        return np.einsum("rc,cd,rd->r", z, vinv, z)

    if m <= EXACT_MAX_NONZERO:
        idx = np.arange(2**m, dtype=np.int64)
        signs = 1.0 - 2.0 * ((idx[:, None] >> np.arange(m)) & 1)
        return float(np.mean(stats_for(signs) >= stat - eps)), f"exact, {m} discordant inputs"
    rng = np.random.default_rng(seed)
    hits = 0
    done = 0
    chunk = max(1, _CHUNK_CELLS // max(m, rows.shape[1]))
    while done < n_resamples:
        r = min(chunk, n_resamples - done)
        signs = 1.0 - 2.0 * rng.integers(0, 2, size=(r, m))
        hits += int(np.count_nonzero(stats_for(signs) >= stat - eps))
        done += r
    return (1.0 + hits) / (1.0 + n_resamples), f"Monte Carlo, {n_resamples} resamples, {m} discordant inputs"


def _floats(a: np.ndarray) -> np.ndarray:
    arr = np.asarray(a, dtype=object).ravel()
    return np.array([np.nan if _is_missing(x) else float(x) for x in arr], dtype=float)


def numeric_shift(
    field: str,
    base_values: np.ndarray,
    head_values: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    kind: str = "numeric",
) -> ShiftResult:
    """Shift of a numeric field: Wilcoxon signed-rank test on paired per-input differences.

    Values are paired by (input, k); None/NaN drops the pair. With ``groups`` (input id per
    pair; pass it when K > 1) the values are first averaged per input and side, so the test
    runs on one difference per input (inputs are the independent units). Zero differences are
    handled with Pratt's method (``zero_method="pratt"``); all-zero differences give p = 1.0.
    Effect: median of the per-input differences (head - base), ``median_shift``.
    ``base`` / ``head``: {median, mean, n} of the values in the pairs used.
    """
    b, h = _floats(base_values), _floats(head_values)
    if b.size != h.size:
        raise ValueError(f"base and head values must be paired: {b.size} != {h.size}")
    gi, _ = _group_index(groups, b.size)
    ok = np.isfinite(b) & np.isfinite(h)
    b, h, gi = b[ok], h[ok], gi[ok]
    test = "Wilcoxon signed-rank (Pratt) on per-input differences"
    if b.size == 0:
        empty = {"median": None, "mean": None, "n": 0}
        return ShiftResult(
            field,
            kind,
            test,
            0.0,
            1.0,
            None,
            "median_shift",
            dict(empty),
            dict(empty),
            {"n_pairs": 0, "n_inputs": 0},
        )
    _, gi = np.unique(gi, return_inverse=True)
    n_inputs = int(gi.max()) + 1
    cnt = np.bincount(gi, minlength=n_inputs)
    d = (
        np.bincount(gi, weights=h, minlength=n_inputs) - np.bincount(gi, weights=b, minlength=n_inputs)
    ) / cnt
    scale = float(np.max(np.abs(d)))
    if scale > 0:
        d = np.round(d / scale, 12) * scale  # make float-noise ties exact ties
    stat, p = 0.0, 1.0
    if np.count_nonzero(d) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sps.wilcoxon(d, zero_method="pratt", alternative="two-sided")
        stat = float(res.statistic)
        p = float(res.pvalue) if math.isfinite(float(res.pvalue)) else 1.0
    return ShiftResult(
        field=field,
        kind=kind,
        test=test,
        statistic=stat,
        p_value=min(1.0, p),
        effect=float(np.median(d)),
        effect_name="median_shift",
        base={"median": float(np.median(b)), "mean": float(np.mean(b)), "n": int(b.size)},
        head={"median": float(np.median(h)), "mean": float(np.mean(h)), "n": int(h.size)},
        details={"n_pairs": int(b.size), "n_inputs": n_inputs},
    )


def length_shift(
    field: str,
    base_lengths: np.ndarray,
    head_lengths: np.ndarray,
    *,
    groups: np.ndarray | None = None,
) -> ShiftResult:
    """Shift of a string length or output length in tokens: as :func:`numeric_shift`, kind "length"."""
    return numeric_shift(field, base_lengths, head_lengths, groups=groups, kind="length")


# --------------------------------------------------------------------------------------------
# Multiplicity
# --------------------------------------------------------------------------------------------


def _pvals(p_values: Sequence[float]) -> np.ndarray:
    p = np.asarray(list(p_values), dtype=float)
    return np.where(np.isfinite(p), np.clip(p, 0.0, 1.0), 1.0)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm (1979) step-down adjusted p-values (family-wise error rate), in input order."""
    p = _pvals(p_values)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return [float(x) for x in out]


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg (1995) step-up adjusted p-values (false discovery rate), in input order."""
    p = _pvals(p_values)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    adj = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return [float(x) for x in out]


# --------------------------------------------------------------------------------------------
# Strata
# --------------------------------------------------------------------------------------------


def weighted_rate(rates_by_stratum: Mapping[str, float], population: Mapping[str, int]) -> float:
    """Population-weighted rate: ``sum_h N_h r_h / sum_h N_h`` over strata with a rate.

    Strata whose rate is None/NaN (nothing measured) are left out and the weights renormalised;
    NaN when no stratum has both a rate and a positive population.
    """
    num = den = 0.0
    for stratum, rate in rates_by_stratum.items():
        if rate is None or not math.isfinite(float(rate)):
            continue
        if stratum not in population:
            raise ValueError(f"stratum {stratum!r} has no population size")
        size = float(population[stratum])
        num += size * float(rate)
        den += size
    return num / den if den > 0 else math.nan


def is_proportional(sample_sizes: Mapping[str, int], population: Mapping[str, int]) -> bool:
    """True when every stratum is sampled at the same fraction (proportional allocation).

    Allows the rounding of a proportional allocation: each ``n_h`` must be within one unit
    of ``n * N_h / N``.
    """
    total_pop = float(sum(population.values()))
    total_n = float(sum(sample_sizes.values()))
    if total_pop <= 0:
        return True
    if any(s not in population for s, n in sample_sizes.items() if n > 0):
        return False
    return all(
        abs(float(sample_sizes.get(s, 0)) - total_n * float(size) / total_pop) < 1.0
        for s, size in population.items()
    )


def input_weights(strata: Sequence[str] | np.ndarray, population: Mapping[str, int]) -> np.ndarray:
    """Per-input sampling weights ``N_h / n_h`` for a stratified sample, normalised to mean 1.

    ``strata[i]`` is the stratum of input i; ``n_h`` is counted from it. Pass the result as
    ``weights`` to :func:`paired_rate_test` to get population-weighted rates and deltas.
    """
    s = np.asarray(strata, dtype=object).ravel()
    if s.size == 0:
        return np.zeros(0)
    labels, inv, counts = np.unique(s.astype(str), return_inverse=True, return_counts=True)
    missing = [lab for lab in labels if lab not in population]
    if missing:
        raise ValueError(f"strata without a population size: {missing}")
    w_h = np.array([float(population[lab]) / c for lab, c in zip(labels, counts, strict=True)])
    w = w_h[inv.ravel()]
    return w / w.mean() if w.mean() > 0 else w


# --------------------------------------------------------------------------------------------
# Power, sample size, gates
# --------------------------------------------------------------------------------------------


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
    The design effect ignores the positive correlation between the sides of a paired input,
    so the result is conservative when the same inputs are hard on both sides. Returns
    ``inf`` when no increase up to ``1 - base_rate`` is detectable.
    """
    if n_inputs <= 0 or samples <= 0:
        return math.inf
    p0 = min(max(float(base_rate), 0.0), 1.0)
    deff = 1.0 + (samples - 1) * max(float(icc), 0.0)
    m = n_inputs * samples / deff
    za = float(sps.norm.isf(alpha / max(int(n_tests), 1)))
    zb = float(sps.norm.ppf(power))
    margin = max(float(max_increase), 0.0)

    half_step = 0.5 / (n_inputs * samples)  # continuity: per-input rates live on a 1/K lattice

    def f(delta: float) -> float:
        p1 = p0 + delta
        se = math.sqrt(max(p0 * (1 - p0) + p1 * (1 - p1), 0.0) / m)
        se_null = math.sqrt(se * se + delta * delta / n_inputs)
        return delta - max(margin, za * se_null + half_step) - zb * se

    top = 1.0 - p0
    if top <= 0 or f(top) < 0:
        return math.inf
    grid = np.linspace(1e-9, top, 400)
    vals = np.array([f(x) for x in grid])
    first = int(np.argmax(vals >= 0))
    if first == 0:
        return float(grid[0])
    return float(optimize.brentq(f, grid[first - 1], grid[first], xtol=1e-10))


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
) -> bool:
    """True when the gate cannot catch an increase of ``factor * max_increase`` with ``power``.

    A "pass" from such a sample says little: a regression twice the tolerated margin would
    usually go unnoticed. (A "fail" is always supported: its error rate is controlled.)
    """
    mde = min_detectable_increase(
        n_inputs, samples, base_rate, alpha, power, icc, max_increase=max_increase, n_tests=n_tests
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


def gate_decision(delta: float, p_adjusted: float, max_increase: float, alpha: float) -> str:
    """Verdict of one gated rate.

    "fail": the increase is significant after correction (``p_adjusted < alpha``) AND larger
    than its margin (``delta > max_increase``); "warn": a significant increase within the
    margin, or an increase beyond the margin that is not significant (or non-finite input);
    "pass" otherwise. Use the one-sided ``p_increase`` (Holm-adjusted over the gated
    metrics) as ``p_adjusted``.
    """
    if not (math.isfinite(delta) and math.isfinite(p_adjusted)):
        return "warn"
    significant = p_adjusted < alpha and delta > 0
    if significant and delta > max_increase:
        return "fail"
    if significant or delta > max_increase:
        return "warn"
    return "pass"
