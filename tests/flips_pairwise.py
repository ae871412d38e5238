"""The pairwise implementation of the flip statistics, kept as the reference the linear-time one is tested against.

:func:`noise_floor` is the A/A disagreement of one side with itself over its K samples,
:func:`flip_rate` the share of (input, k) whose answer changed, and :func:`flip_vs_noise` tests
whether head disagrees with base more than base disagrees with itself (a within-input
permutation test, seeded). Input: (n_inputs, K) arrays of canonical answers (None for an
errored completion), encoded to shared integer codes; output: floats and a :class:`FlipResult`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from promptreview.stats.primitives import CHUNK_CELLS, is_missing


def _as_2d_objects(a: np.ndarray) -> npt.NDArray[np.object_]:
    arr = np.asarray(a, dtype=object)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError("answers must be an (n_inputs, K) array")
    return arr


def _encode(*arrays: npt.NDArray[np.object_]) -> list[npt.NDArray[np.int64]]:
    """Map answers to integer codes shared across arrays; missing (None/NaN) -> -1."""
    table: dict[object, int] = {}
    out: list[npt.NDArray[np.int64]] = []
    for arr in arrays:
        flat = arr.ravel()
        codes = np.empty(flat.size, dtype=np.int64)
        for i, v in enumerate(flat):
            codes[i] = -1 if is_missing(v) else table.setdefault(v, len(table))
        out.append(codes.reshape(arr.shape))
    return out


def _within_disagreement(codes: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
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


def _cross_disagreement(
    x: npt.NDArray[np.int64], y: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
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

    def stat(
        x: npt.NDArray[np.int64], y: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
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
    chunk = max(1, CHUNK_CELLS // (n * 2 * k))
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
