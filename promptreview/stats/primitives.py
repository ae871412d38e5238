"""Helpers shared by several modules of the statistics package; pure, no I/O.

The limits of the resampling tests (when the sign-flip tests of :mod:`.paired` and :mod:`.shift`
enumerate every sign pattern instead of drawing Monte Carlo resamples, and how many array cells
one resampling chunk may build, a memory guard also used by :mod:`.flips`), the enumeration of
all sign patterns those exact tests share, the rule for a missing value (None or a float NaN) that :mod:`.flips` and :mod:`.shift` apply to answers,
labels and numbers, and the few distribution functions the tests use (binomial, normal, t, chi-square, ranks,
Jensen-Shannon), taken from scipy.special so that no review pays for importing scipy.stats.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

_BinomFn = Callable[[Any, Any, Any], Any]
try:  # what scipy.stats.binom itself calls: private names, so a scipy that moves them gets the public ones
    from scipy.special import _ufuncs

    _binom_cdf: _BinomFn = _ufuncs._binom_cdf
    _binom_sf: _BinomFn = _ufuncs._binom_sf
    _binom_pmf: _BinomFn = _ufuncs._binom_pmf
except (ImportError, AttributeError):  # pragma: no cover - depends on the installed scipy
    _binom_cdf, _binom_sf = special.bdtr, special.bdtrc

    def _binom_pmf(k: Any, n: Any, p: Any) -> Any:
        return special.comb(n, k, exact=False) * p**k * (1.0 - p) ** (n - k)


#: Enumerate all 2**m sign patterns when at most this many inputs differ; Monte Carlo beyond.
EXACT_MAX_NONZERO = 16
#: Upper bound on the number of array cells built per resampling chunk (memory guard).
CHUNK_CELLS = 2_000_000


def flip_patterns(m: int) -> npt.NDArray[np.int64]:
    """All 2**m patterns of m flip indicators (0 = keep, 1 = flip), one pattern per row.

    Row r holds the binary digits of r, least significant first; the exact sign-flip tests
    enumerate these rows in this order.
    """
    idx = np.arange(2**m, dtype=np.int64)
    return (idx[:, None] >> np.arange(m)) & 1


_ALL_BITS = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


def fair_coin_sums(
    rng: np.random.Generator, counts: npt.NDArray[np.int64], size: int
) -> npt.NDArray[np.int64]:
    """`size` rows of independent Binomial(counts[j], 1/2) draws, one column per count.

    Drawn as what a Binomial(c, 1/2) is, the number of heads among c fair coins: the set bits of c random bits
    from the generator's raw 64-bit output (a word per 64 coins). Same law as ``rng.binomial(counts, 0.5)``,
    other random numbers, and some thirty times faster: the grouped sign-flip tests draw millions of them.
    """
    counts = np.asarray(counts, dtype=np.int64).ravel()
    if counts.size == 0 or size <= 0:
        return np.zeros((max(size, 0), counts.size), dtype=np.int64)
    if np.any(counts < 0):
        raise ValueError("coin counts must be non-negative")
    words = np.maximum((counts + 63) // 64, 1)  # a count of 0 keeps one word, fully masked
    ends = np.cumsum(words)
    masks = np.full(int(ends[-1]), _ALL_BITS, dtype=np.uint64)
    tail = (counts - 64 * (words - 1)).astype(np.uint64)  # coins in each count's last word: 0..64
    masks[ends - 1] = np.where(
        tail >= 64, _ALL_BITS, (np.uint64(1) << np.minimum(tail, np.uint64(63))) - np.uint64(1)
    )
    raw = rng.bit_generator.random_raw(size * masks.size).reshape(size, masks.size)
    # (numpy's stubs give bitwise_count's result as Any)
    heads: npt.NDArray[np.int64] = np.bitwise_count(raw & masks).astype(np.int64)
    if masks.size == counts.size:  # every count fits one word (the usual case)
        return heads
    return np.add.reduceat(heads, ends - words, axis=1).astype(np.int64, copy=False)


def multinomial_draws(
    rng: np.random.Generator, n: int, p: npt.NDArray[np.float64], size: int
) -> npt.NDArray[np.int64]:
    """`size` Multinomial(n, p) draws, one row each, by conditional binomials: X_1 ~ Bin(n, p_1), then
    X_j ~ Bin(n - X_1 - ... - X_{j-1}, p_j / (1 - p_1 - ... - p_{j-1})), the last taking the rest. Same law as
    ``rng.multinomial(n, p, size)``, other random numbers; one vectorised binomial call per category instead
    of a multinomial per row (the flip test's resampling draws hundreds of thousands of rows)."""
    p = np.asarray(p, dtype=float).ravel()
    out = np.empty((size, p.size), dtype=np.int64)
    left = np.full(size, int(n), dtype=np.int64)
    rest = 1.0
    for j in range(p.size - 1):
        q = min(max(p[j] / rest, 0.0), 1.0) if rest > 0 else 0.0
        out[:, j] = rng.binomial(left, q)
        left -= out[:, j]
        rest -= p[j]
    out[:, -1] = left
    return out


def is_missing(v: object) -> bool:
    """True for None and a float NaN (Python's or numpy's): a value that was not observed."""
    return v is None or (isinstance(v, float | np.floating) and math.isnan(v))


def missing_mask(a: Any) -> npt.NDArray[np.bool_]:
    """`is_missing` of every element, flattened, in two vectorised comparisons (a NaN is the value unequal
    to itself; None equals only None) instead of a Python call per element."""
    arr = np.asarray(a, dtype=object).ravel()
    none: npt.NDArray[np.bool_] = arr == None  # noqa: E711 (elementwise, not an identity test)
    nan: npt.NDArray[np.bool_] = arr != arr
    return np.asarray(none | nan, dtype=np.bool_)


# The distribution functions the tests need, straight from scipy.special: the very ufuncs scipy.stats calls for
# these distributions (so the numbers are the same to the last digit), without importing scipy.stats, whose import
# (every distribution's docstring is built) costs a second or more of every review. Arguments outside the
# support are handled as scipy.stats handles them.


def binom_cdf(k: int, n: int, p: float) -> float:
    """``scipy.stats.binom.cdf(k, n, p)`` for integer k."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return float(_binom_cdf(k, n, p))


def binom_sf(k: int, n: int, p: float) -> float:
    """``scipy.stats.binom.sf(k, n, p)`` for integer k."""
    if k < 0:
        return 1.0
    if k >= n:
        return 0.0
    return float(_binom_sf(k, n, p))


def binom_pmf(k: int, n: int, p: float) -> float:
    """``scipy.stats.binom.pmf(k, n, p)`` for integer k."""
    if k < 0 or k > n:
        return 0.0
    return float(_binom_pmf(k, n, p))


def norm_ppf(q: float) -> float:
    """``scipy.stats.norm.ppf(q)``."""
    return float(special.ndtri(q))


def norm_isf(q: float) -> float:
    """``scipy.stats.norm.isf(q)``."""
    return float(-special.ndtri(q))


def t_ppf(q: float, df: float) -> float:
    """``scipy.stats.t.ppf(q, df)``."""
    return float(special.stdtrit(df, q))


def chi2_sf(x: float, df: float) -> float:
    """``scipy.stats.chi2.sf(x, df)``."""
    return 1.0 if x <= 0 else float(special.chdtrc(df, x))


def rankdata(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``scipy.stats.rankdata(a)`` (average ranks for ties) of a 1-d array."""
    arr = np.asarray(a).ravel()
    sorter = np.argsort(arr, kind="mergesort")
    inv = np.empty(sorter.size, dtype=np.intp)
    inv[sorter] = np.arange(sorter.size, dtype=np.intp)
    arr = arr[sorter]
    obs = np.r_[True, arr[1:] != arr[:-1]]
    dense = obs.cumsum()[inv]
    count = np.r_[np.nonzero(obs)[0], len(obs)]
    ranks: npt.NDArray[np.float64] = 0.5 * (count[dense] + count[dense - 1] + 1)
    return ranks


def jensenshannon(p: npt.NDArray[np.float64], q: npt.NDArray[np.float64], base: float) -> float:
    """``scipy.spatial.distance.jensenshannon(p, q, base)`` of two 1-d arrays, the same operations in the same order."""
    p = p / np.sum(p, axis=0, keepdims=True)
    q = q / np.sum(q, axis=0, keepdims=True)
    m = (p + q) / 2.0
    js = np.sum(special.rel_entr(p, m), axis=0) + np.sum(special.rel_entr(q, m), axis=0)
    js /= np.log(base)
    return float(np.sqrt(js / 2.0))


def wilcoxon_pratt(d: npt.NDArray[np.float64]) -> tuple[float, float] | None:
    """``scipy.stats.wilcoxon(d, zero_method="pratt")`` (two-sided, no continuity correction): (statistic, p),
    computed as scipy computes it wherever scipy uses its normal approximation (more than 50 differences, or
    more than 13 with ties or zeros); None where scipy would compute an exact or a permutation p instead."""
    d = np.asarray(d, dtype=float).ravel()
    n = int(d.size)
    n_zero = int(np.count_nonzero(d == 0))
    y = np.sort(np.abs(d), kind="stable")
    first = np.r_[True, y[1:] != y[:-1]]
    starts = np.nonzero(first)[0]
    sizes = np.diff(np.r_[starts, n]).astype(float)
    if not (n > 50 or ((bool(np.any(sizes > 1)) or n_zero > 0) and n > 13)):
        return None
    r = rankdata(np.abs(d))
    r_plus = np.sum((d > 0).astype(float) * r)
    r_minus = np.sum((d < 0).astype(float) * r)
    count = float(n)
    zeros = float(n_zero)
    mn = count * (count + 1.0) * 0.25 - zeros * (zeros + 1.0) * 0.25
    se = count * (count + 1.0) * (2.0 * count + 1.0) - zeros * (zeros + 1.0) * (2.0 * zeros + 1.0)
    if n_zero:
        sizes[0] = 0.0  # zeros (the smallest |d|) take no part in the tie correction
    se = np.sqrt((se - np.sum(sizes**3 - sizes) / 2) / 24)
    z = (r_plus - mn) / se
    return float(min(r_plus, r_minus)), float(2 * special.ndtr(-np.abs(z)))
