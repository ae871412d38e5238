"""Output-distribution shift of one field between base and head; pure functions, no I/O.

Categorical fields: the Stuart-Maxwell test of marginal homogeneity (:func:`stuart_maxwell`)
and its cluster-robust version with a sign-flip permutation p over inputs
(:func:`categorical_shift`); numeric fields and lengths: a Wilcoxon signed-rank test on
per-input differences (:func:`numeric_shift`, :func:`length_shift`). Paired values (one per
(input, k)) and optional input ids in, a :class:`ShiftResult` out; resampling is seeded.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from promptreview.vocabulary import ShiftKind

from .primitives import (
    CHUNK_CELLS,
    EXACT_MAX_NONZERO,
    chi2_sf,
    fair_coin_sums,
    flip_patterns,
    jensenshannon,
    missing_mask,
    rankdata,
    wilcoxon_pratt,
)

# The sign-flip resamples are drawn in pieces of at most this many cells. The draws continue one stream, so the
# piece size changes no p-value; a quarter of the shared CHUNK_CELLS keeps each piece's few arrays (the draws,
# the signs, their products: 16 MB each at 2,000,000 cells) from setting the peak memory of a 100,000-completion
# review, at a few more numpy calls (decision 83).
SIGN_FLIP_CELLS = CHUNK_CELLS // 4


@dataclasses.dataclass
class ShiftResult:
    """Distribution shift of one output field between base and head.

    ``effect`` is the headline effect size named by ``effect_name`` (total variation for
    categorical fields, median of paired differences for numeric and length fields).
    ``details`` holds the rest (Jensen-Shannon distance, degrees of freedom, asymptotic p,
    numbers of pairs and inputs). The test is named in two parts: ``test_name`` for narrow tables
    ("Stuart-Maxwell"), ``test_details`` the rest of its description; ``test`` is both.
    """

    field: str
    kind: ShiftKind
    test_name: str
    test_details: str
    statistic: float
    p_value: float
    effect: float | None
    effect_name: str
    base: dict[str, float | None]
    head: dict[str, float | None]
    details: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def test(self) -> str:
        return f"{self.test_name} {self.test_details}" if self.test_details else self.test_name


def shift_size(effect: float | None, effect_name: str | None, base: Mapping[str, Any]) -> float | None:
    """A shift's size as a share, comparable with a rate's margin: the total variation (the share of answers
    that moved to another value), or a median shift relative to the base median. None: no size to compare
    (no effect, or a base median of zero that any shift is infinitely larger than)."""
    if effect is None:
        return None
    if effect_name != "median_shift":
        return abs(effect)
    median = base.get("median")
    if not isinstance(median, (int, float)) or median == 0:
        return None
    return abs(effect) / abs(median)


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


def _quadratic_chi2(diff: npt.NDArray[np.float64], v: npt.NDArray[np.float64]) -> tuple[float, int, float]:
    if diff.size == 0 or not np.any(v):
        return 0.0, 0, 1.0
    vinv = np.linalg.pinv(v, hermitian=True)
    df = int(np.linalg.matrix_rank(v, hermitian=True))
    stat = max(float(diff @ vinv @ diff), 0.0)
    if df == 0:
        return 0.0, 0, 1.0
    return stat, df, chi2_sf(stat, df)


def _labels(a: np.ndarray) -> npt.NDArray[np.object_]:
    return np.asarray(a, dtype=object).ravel()


def _group_index(groups: np.ndarray | None, n: int) -> tuple[npt.NDArray[np.intp], int]:
    if groups is None:
        return np.arange(n), n
    g = np.asarray(groups, dtype=object).ravel()
    if g.size != n:
        raise ValueError(f"groups must have one entry per pair: {g.size} != {n}")
    _, inv = np.unique(g.astype(str), return_inverse=True)
    return inv.ravel(), int(inv.max()) + 1 if n else 0


def _category_codes(
    b: npt.NDArray[np.object_], h: npt.NDArray[np.object_]
) -> tuple[list[str], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The labels' categories (as strings, sorted) and each label's category code, for both sides."""
    labels = np.concatenate([b, h])
    try:
        distinct: set[Any] | None = set(labels.tolist())
    except TypeError:  # a list or an object as a label: numpy cannot make it a string; Python can, below
        distinct = None
    if distinct is not None and not any(str(x).endswith("\x00") for x in distinct):
        # in C: numpy orders str by code point as Python does (but drops trailing NULs, hence the check)
        uniq, codes = np.unique(labels.astype(str), return_inverse=True)
        codes = codes.ravel()
        return [str(c) for c in uniq], codes[: b.size], codes[b.size :]
    cats = sorted({str(x) for x in labels})
    index = {c: i for i, c in enumerate(cats)}
    coded = np.array([index[str(x)] for x in labels], dtype=np.intp)
    return cats, coded[: b.size], coded[b.size :]


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
    ok = ~(missing_mask(b) | missing_mask(h))
    b, h, gi = b[ok], h[ok], gi[ok]
    name, method = "Stuart-Maxwell", "(cluster-robust), sign-flip permutation over inputs"
    if b.size == 0:
        return ShiftResult(
            field,
            "categorical",
            name,
            method,
            0.0,
            1.0,
            None,
            "total_variation",
            {},
            {},
            {"n_pairs": 0, "n_inputs": 0},
        )
    cats, bc, hc = _category_codes(b, h)
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
        test_name=name,
        test_details=f"{method} ({how})",
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
    dmat: npt.NDArray[np.float64], vinv: npt.NDArray[np.float64], stat: float, seed: int, n_resamples: int
) -> tuple[float, str]:
    rows = dmat[np.any(dmat != 0.0, axis=1)]
    m = rows.shape[0]
    eps = 1e-9 * max(1.0, abs(stat))

    def stats_for(signs: np.ndarray) -> npt.NDArray[np.float64]:
        z = signs @ rows
        quad: npt.NDArray[np.float64] = np.einsum("rc,cd,rd->r", z, vinv, z)
        return quad

    if m <= EXACT_MAX_NONZERO:
        signs = 1.0 - 2.0 * flip_patterns(m)
        return float(np.mean(stats_for(signs) >= stat - eps)), f"exact, {m} discordant inputs"
    rng = np.random.default_rng(seed)
    hits = 0
    done = 0
    # Inputs with the same count difference d_i are exchangeable under the null: their signed sum is
    # d_u * (c_u - 2 Binomial(c_u, 1/2)), so one binomial draw per distinct row (few: d_i has K base and
    # K head labels) replaces one sign per input. Same law, other random numbers.
    urows, counts = np.unique(rows, axis=0, return_counts=True)
    grouped = urows.shape[0] * 4 <= m
    width = urows.shape[0] if grouped else m
    chunk = max(1, SIGN_FLIP_CELLS // max(width, rows.shape[1]))
    while done < n_resamples:
        r = min(chunk, n_resamples - done)
        if grouped:
            signed = counts - 2.0 * fair_coin_sums(rng, counts, r)
            z = signed @ urows
            quad = np.einsum("rc,cd,rd->r", z, vinv, z)
        else:
            quad = stats_for(1.0 - 2.0 * rng.integers(0, 2, size=(r, m)))
        hits += int(np.count_nonzero(quad >= stat - eps))
        done += r
    return (1.0 + hits) / (1.0 + n_resamples), f"Monte Carlo, {n_resamples} resamples, {m} discordant inputs"


def _floats(a: np.ndarray) -> npt.NDArray[np.float64]:
    arr = np.asarray(a, dtype=object).ravel()
    out = np.full(arr.size, np.nan)
    present = ~missing_mask(arr)
    out[present] = arr[present].astype(float)
    return out


def _signed_rank_exact(d: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Exact two-sided p of the signed-rank statistic (Pratt's ranks, mid-ranks for ties) under the
    sign-flip null, by enumerating all 2**m sign patterns of the m nonzero differences. Returns
    (W+, p): W+ is the sum of the ranks of the positive differences."""
    ranks = rankdata(np.abs(d))  # Pratt: zeros take part in the ranking, then drop out
    nz = d != 0
    r = ranks[nz]
    w_plus = float(r[d[nz] > 0].sum())
    centre = float(r.sum()) / 2.0
    signs = flip_patterns(int(r.size)).astype(np.float64)
    w_star = signs @ r
    eps = 1e-9 * max(1.0, float(r.sum()))
    p = float(np.mean(np.abs(w_star - centre) >= abs(w_plus - centre) - eps))
    return w_plus, min(1.0, p)


def numeric_shift(
    field: str,
    base_values: np.ndarray,
    head_values: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    kind: Literal["numeric", "length"] = "numeric",
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
    name, method = "Wilcoxon signed-rank", "(Pratt) on per-input differences"
    if b.size == 0:
        empty = {"median": None, "mean": None, "n": 0}
        return ShiftResult(
            field,
            kind,
            name,
            method,
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
    if 0 < np.count_nonzero(d) <= EXACT_MAX_NONZERO:
        # few discordant inputs: the normal approximation (which scipy uses with ties or zeros) is far off
        # (p = 0.045 where the smallest attainable exact p is 0.125); enumerate every sign pattern instead
        stat, p = _signed_rank_exact(d)
        method = "(Pratt), exact sign-flip p on per-input differences"
    elif np.count_nonzero(d) > 0:
        approx = wilcoxon_pratt(d)
        if approx is not None:
            stat, p = approx
        else:  # 17 to 50 untied nonzero differences: scipy's exact null (imported only here: it costs a second)
            from scipy import stats as sps

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = sps.wilcoxon(d, zero_method="pratt", alternative="two-sided")
            stat, p = float(res.statistic), float(res.pvalue)
        p = p if math.isfinite(p) else 1.0
    return ShiftResult(
        field=field,
        kind=kind,
        test_name=name,
        test_details=method,
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
