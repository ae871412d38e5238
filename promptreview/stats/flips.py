"""Answer disagreement: the noise floor, the flip rate and their comparison; pure functions, no I/O.

:func:`noise_floor` is the A/A disagreement of one side with itself over its K samples,
:func:`flip_rate` the share of (input, k) whose answer changed, and :func:`flip_vs_noise` tests
whether head disagrees with base more than base disagrees with itself (a within-input
permutation test, seeded). Input: (n_inputs, K) arrays of canonical answers (None for an
errored completion), encoded to shared integer codes; output: floats and a :class:`FlipResult`.

Everything is linear in the number of completions: disagreement is counted from per-input answer
counts, never by comparing pairs. With ``c_a`` the count of answer ``a`` among an input's V valid
samples, the disagreeing pairs k < k' are ``(V² − Σ c_a²) / 2`` of ``V(V − 1) / 2``; across sides,
``Vb·Vh − Σ cb_a·ch_a`` of ``Vb·Vh``. The values equal the pairwise definitions exactly (integer
counts, the same divisions); ``tests/flips_pairwise.py`` keeps the pairwise implementation as the
reference the tests compare against.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from .primitives import CHUNK_CELLS, is_missing, multinomial_draws

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Enumerate the C(2K, K) ways to split an input's 2K answers when there are at most this many;
#: beyond, each resample draws random keys per answer (the same law, more work).
TABLE_MAX_SPLITS = 4096


def _as_2d_objects(a: np.ndarray) -> npt.NDArray[np.object_]:
    arr = np.asarray(a, dtype=object)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError("answers must be an (n_inputs, K) array")
    return arr


def encode(*arrays: npt.NDArray[np.object_]) -> list[IntArray]:
    """Map answers to integer codes shared across arrays; missing (None/NaN) -> -1."""
    table: dict[object, int] = {}
    out: list[IntArray] = []
    for arr in arrays:
        flat = arr.ravel().tolist()
        codes = [-1 if is_missing(v) else table.setdefault(v, len(table)) for v in flat]
        out.append(np.asarray(codes, dtype=np.int64).reshape(arr.shape))
    return out


def _pair_counts(x: IntArray, y: IntArray | None = None) -> tuple[IntArray, IntArray, IntArray]:
    """Per row: (Vx, Vy, Σ_a cx_a·cy_a) with c the answer counts of the row's valid codes (y = x when None).

    Counted on (row, code) keys made compact by one sort, so the work and memory stay linear in the
    number of answers however many distinct answers there are.
    """
    n = x.shape[0]
    top = max(int(x.max(initial=-1)), -1 if y is None else int(y.max(initial=-1)))
    span = top + 2
    kx = np.repeat(np.arange(n, dtype=np.int64), x.shape[1]) * span + (x.ravel() + 1)
    ky = kx if y is None else np.repeat(np.arange(n, dtype=np.int64), y.shape[1]) * span + (y.ravel() + 1)
    uniq, inverse = np.unique(np.concatenate([kx, ky]) if y is not None else kx, return_inverse=True)
    inverse = inverse.ravel()
    cx = np.bincount(inverse[: kx.size], minlength=uniq.size)
    cy = cx if y is None else np.bincount(inverse[kx.size :], minlength=uniq.size)
    valid = (uniq % span) != 0  # code -1 (missing) sits at 0
    row = uniq // span

    def per_row(values: IntArray) -> IntArray:
        return np.bincount(row[valid], weights=values[valid], minlength=n).astype(np.int64)

    return per_row(cx), per_row(cy), per_row(cx * cy)


def within_counts(codes: IntArray) -> tuple[IntArray, IntArray]:
    """Per row: disagreeing and valid pair counts over k < k' (from answer counts)."""
    v, _, sq = _pair_counts(codes)
    return (v * v - sq) // 2, v * (v - 1) // 2


def cross_counts(x: IntArray, y: IntArray) -> tuple[IntArray, IntArray]:
    """Per row: disagreeing and valid pair counts over all (k, k') pairs of x and y."""
    vx, vy, dot = _pair_counts(x, y)
    return vx * vy - dot, vx * vy


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
    (codes,) = encode(arr)
    neq, cnt = within_counts(codes)
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
    cb, ch = encode(b, h)
    return flip_rate_codes(cb, ch)


def flip_rate_codes(cb: IntArray, ch: IntArray) -> float:
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


def _contribution(x_valid: IntArray, y_valid: IntArray, x_sq: IntArray, cross_dot: IntArray) -> FloatArray:
    """One input's term of T, ``cross − within`` (0 where either is undefined), from its counts."""
    cc = x_valid * y_valid
    wc = x_valid * (x_valid - 1) // 2
    defined = (cc > 0) & (wc > 0)
    cross = np.where(defined, (cc - cross_dot) / np.maximum(cc, 1), 0.0)
    within = np.where(defined, ((x_valid * x_valid - x_sq) // 2) / np.maximum(wc, 1), 0.0)
    return np.asarray(cross - within, dtype=np.float64)


def _split_terms(labels: IntArray, masks: npt.NDArray[np.bool_]) -> FloatArray:
    """The term of T for each split of one input's pooled answers.

    ``labels``: the 2K pooled answers as local codes 0..L-1 (-1 missing); ``masks``: (S, 2K), True
    for the answers the split calls "base". Returns (S,) terms.
    """
    n_labels = int(labels.max(initial=-1)) + 1
    onehot = (labels[:, None] == np.arange(n_labels)[None, :]).astype(np.int64)  # (2K, L)
    cx = masks.astype(np.int64) @ onehot  # (S, L)
    total = onehot.sum(axis=0)
    cy = total[None, :] - cx
    return _contribution(cx.sum(axis=1), cy.sum(axis=1), (cx * cx).sum(axis=1), (cx * cy).sum(axis=1))


def _local_labels(pooled: IntArray) -> IntArray:
    """Each row's answers relabelled canonically: label 0 for its most frequent answer, 1 for the next, ...,
    laid out in order and padded with -1 (missing).

    Only the counts matter to the split terms, so two inputs with the same pattern of counts get the same
    row and their null terms are computed once. Vectorised: one sort of (row, code) keys.
    """
    m, width = pooled.shape
    span = int(pooled.max(initial=-1)) + 2
    keys = np.repeat(np.arange(m, dtype=np.int64), width) * span + (pooled.ravel() + 1)
    uniq, counts = np.unique(keys, return_counts=True)
    valid = (uniq % span) != 0
    row, counts = uniq[valid] // span, counts[valid]
    order = np.lexsort((-counts, row))  # by row, then by decreasing count
    row, counts = row[order], counts[order]
    first = np.searchsorted(row, np.arange(m))
    rank = np.arange(len(row)) - first[row]
    table = np.zeros((m, width), dtype=np.int64)
    table[row, rank] = counts
    cum = np.cumsum(table, axis=1)  # (m, width)
    position = np.arange(width)
    labels = (cum[:, None, :] <= position[None, :, None]).sum(axis=2)
    return np.where(position[None, :] < cum[:, -1:], labels, -1).astype(np.int64)


@lru_cache(maxsize=16)
def _splits(k: int) -> npt.NDArray[np.bool_]:
    """Every way to choose which K of an input's 2K answers are "base": one boolean row per combination, in
    `itertools.combinations` order."""
    chosen = np.array(list(itertools.combinations(range(2 * k), k)), dtype=np.intp)
    splits = np.zeros((len(chosen), 2 * k), dtype=bool)
    splits[np.arange(len(chosen))[:, None], chosen] = True
    splits.flags.writeable = False  # shared by every call
    return splits


def _resample_table(
    pooled: IntArray, k: int, n_resamples: int, t_obs: float, eps: float, rng: np.random.Generator
) -> int:
    """Hits T* >= T with each input's split drawn uniformly from the C(2K, K) enumerated splits.

    Inputs with the same pattern of answer counts have the same null terms, each taking a handful of
    distinct values; the sum of n such independent terms is drawn as multinomial counts of those values
    (the same law as n separate draws), so a resample costs O(patterns × values), not O(inputs).
    """
    labels = _local_labels(pooled)
    patterns, which = np.unique(labels, axis=0, return_inverse=True)
    sizes = np.bincount(which.ravel(), minlength=len(patterns))
    splits = _splits(k)
    tstar = np.zeros(n_resamples)
    for pattern, size in zip(patterns, sizes, strict=True):
        values, counts = np.unique(_split_terms(pattern, splits), return_counts=True)
        if len(values) == 1:
            tstar += size * values[0]
            continue
        draws = multinomial_draws(rng, int(size), counts / counts.sum(), n_resamples)  # (R, values)
        tstar += draws @ values
    return int(np.count_nonzero(tstar >= t_obs - eps))


def _resample_keys(
    pooled: IntArray, k: int, n_resamples: int, t_obs: float, eps: float, rng: np.random.Generator
) -> int:
    """Hits T* >= T with each input's split drawn as the K smallest of 2K random keys (large K)."""
    labels = _local_labels(pooled)  # (m, 2K), local codes
    m, width = labels.shape
    span = width + 1
    chunk = max(1, CHUNK_CELLS // (m * width))
    valid = labels >= 0
    total = np.zeros((m, span), dtype=np.int64)
    np.add.at(total, (np.repeat(np.arange(m), width), labels.ravel() + 1), 1)
    total = total[:, 1:]
    hits = done = 0
    while done < n_resamples:
        r = min(chunk, n_resamples - done)
        keys = rng.random((r, m, width))
        kth = np.partition(keys, k - 1, axis=2)[..., k - 1 : k]
        first = (keys <= kth) & valid[None]
        idx = (np.arange(r * m, dtype=np.int64).reshape(r, m, 1) * span + labels[None] + 1)[first]
        cx = np.bincount(idx, minlength=r * m * span).reshape(r, m, span)[..., 1:]
        cy = total[None] - cx
        terms = _contribution(cx.sum(axis=2), cy.sum(axis=2), (cx * cx).sum(axis=2), (cx * cy).sum(axis=2))
        hits += int(np.count_nonzero(terms.sum(axis=1) >= t_obs - eps))
        done += r
    return hits


def flip_vs_noise(
    base_answers: np.ndarray, head_answers: np.ndarray, *, seed: int = 0, n_resamples: int = 5000
) -> FlipResult:
    """Is the head-vs-base disagreement larger than the noise floor (base vs base)?

    Per input i: ``cross_i`` = share of all K*K pairs (k, k') with base[k] != head[k'];
    ``within_i`` = share of the K(K-1)/2 pairs k < k' with base[k] != base[k']. If head answers
    come from the same distribution as base answers, both have expectation ``1 - sum_a pi_a^2``.
    Statistic: ``T = sum_i (cross_i - within_i)`` over inputs where both are defined.
    Null distribution: for each input the 2K answers (K base + K head) are exchangeable under
    H0, so they are split at random into K "base" and K "head" within the input (inputs are
    never mixed), and T recomputed (Monte Carlo, seeded); p = (1 + #{T* >= T}) / (1 + R).
    One-sided.
    """
    b, h = _as_2d_objects(base_answers), _as_2d_objects(head_answers)
    if b.shape != h.shape:
        raise ValueError(f"base and head answers must have the same shape: {b.shape} != {h.shape}")
    cb, ch = encode(b, h)
    return flip_vs_noise_codes(cb, ch, seed=seed, n_resamples=n_resamples)


def flip_vs_noise_codes(cb: IntArray, ch: IntArray, *, seed: int = 0, n_resamples: int = 5000) -> FlipResult:
    """:func:`flip_vs_noise` on answers already encoded (shared integer codes, -1 missing), shape (n, K)."""
    n, k = cb.shape
    if k < 2 or n == 0:
        return FlipResult(
            flip_rate_codes(cb, ch) if n else 0.0, None, None, None, "none (K < 2: no noise floor)"
        )
    cn, cc = cross_counts(cb, ch)
    wn, wc = within_counts(cb)
    defined = (cc > 0) & (wc > 0)
    if not defined.any():
        return FlipResult(flip_rate_codes(cb, ch), None, None, None, "none (no input with two valid answers)")
    cross = np.where(defined, cn / np.maximum(cc, 1), 0.0)
    within = np.where(defined, wn / np.maximum(wc, 1), 0.0)
    hvb = float(cross[defined].mean())
    nf = float(within[defined].mean())
    t_obs = float((cross - within).sum())
    eps = 1e-9 * max(1.0, float(defined.sum()))

    # An input whose valid answers are all one answer adds 0 to T under every split: leave it out.
    pooled = np.concatenate([cb, ch], axis=1)  # (n, 2K)
    lo = np.where(pooled >= 0, pooled, np.iinfo(np.int64).max).min(axis=1)
    hi = pooled.max(axis=1)
    informative = pooled[(hi >= 0) & (hi != lo)]
    rng = np.random.default_rng(seed)
    if len(informative) == 0:
        hits = n_resamples if t_obs <= eps else 0
    elif math.comb(2 * k, k) <= TABLE_MAX_SPLITS:
        hits = _resample_table(informative, k, n_resamples, t_obs, eps, rng)
    else:
        hits = _resample_keys(informative, k, n_resamples, t_obs, eps, rng)
    p = (1.0 + hits) / (1.0 + n_resamples)
    return FlipResult(
        head_vs_base=hvb,
        noise_floor=nf,
        excess=hvb - nf,
        p_value=float(p),
        test=f"within-input permutation of all-pairs disagreement, one-sided ({n_resamples} resamples)",
    )
