"""The Monte Carlo sign-flip tests draw one binomial per distinct value (or distinct count row) instead of one
coin per input: the same null law with other random numbers, so their p-values must agree with the
one-coin-per-input reference (the previous implementation, kept here) within Monte Carlo error, stay
deterministic for a seed, and still fall back to one coin per input when nearly every value is distinct."""

from __future__ import annotations

import math

import numpy as np
import pytest

from promptreview.stats.paired import _sign_flip_test
from promptreview.stats.shift import _quadratic_sign_flip, categorical_shift


def _coins_sum_test(contrib: np.ndarray, seed: int, r: int) -> tuple[float, float]:
    nz = contrib[contrib != 0.0]
    t = float(nz.sum())
    eps = 1e-9 * float(np.abs(nz).sum())
    flips = np.random.default_rng(seed).integers(0, 2, size=(r, nz.size)).astype(np.float64)
    tstar = t - 2.0 * (flips @ nz)
    two = (1.0 + np.count_nonzero(np.abs(tstar) >= abs(t) - eps)) / (1.0 + r)
    gt = (1.0 + np.count_nonzero(tstar >= t - eps)) / (1.0 + r)
    return float(two), float(gt)


def _coins_quadratic(dmat: np.ndarray, vinv: np.ndarray, stat: float, seed: int, r: int) -> float:
    rows = dmat[np.any(dmat != 0.0, axis=1)]
    signs = 1.0 - 2.0 * np.random.default_rng(seed).integers(0, 2, size=(r, rows.shape[0]))
    z = signs @ rows
    quad = np.einsum("rc,cd,rd->r", z, vinv, z)
    return float((1.0 + np.count_nonzero(quad >= stat - 1e-9 * max(1.0, abs(stat)))) / (1.0 + r))


def _close(a: float, b: float, r: int) -> bool:
    p = (a + b) / 2
    return abs(a - b) <= 5.0 * math.sqrt(2.0 * max(p * (1 - p), 1e-4) / r)


@pytest.mark.parametrize("seed", range(6))
def test_sign_flip_grouped_agrees_with_one_coin_per_input(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    k = 5
    n = 600
    weights = np.array([1.0, 2.5, 0.7])[rng.integers(0, 3, n)]
    d = (rng.binomial(k, 0.12 + 0.006 * seed, n) - rng.binomial(k, 0.12, n)) / k
    contrib = weights * d
    r = 20000
    two, gt, how = _sign_flip_test(contrib, seed=seed, n_resamples=r)
    ref_two, ref_gt = _coins_sum_test(contrib, seed, r)
    assert "Monte Carlo" in how
    assert _close(two, ref_two, r) and _close(gt, ref_gt, r), (two, ref_two, gt, ref_gt)
    assert _sign_flip_test(contrib, seed=seed, n_resamples=r) == (two, gt, how)


def test_sign_flip_distinct_values_keep_one_coin_per_input() -> None:
    contrib = np.random.default_rng(1).normal(0.1, 1.0, 300)
    two, gt, _ = _sign_flip_test(contrib, seed=3, n_resamples=2000)
    assert (two, gt) == _coins_sum_test(contrib, 3, 2000)


@pytest.mark.parametrize("seed", range(4))
def test_quadratic_sign_flip_grouped_agrees_with_one_sign_per_input(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    n, k = 500, 5
    cats = np.array(["a", "b", "c"], dtype=object)
    base = cats[rng.choice(3, size=n * k, p=[0.6, 0.3, 0.1])]
    head = cats[rng.choice(3, size=n * k, p=[0.6 - 0.008 * seed, 0.3, 0.1 + 0.008 * seed])]
    groups = np.repeat(np.arange(n), k)
    r = 20000
    res = categorical_shift("f", base, head, groups=groups, seed=seed, n_resamples=r)
    assert "Monte Carlo" in res.test
    # rebuild the per-input count differences the function tests
    index = {"a": 0, "b": 1, "c": 2}
    dmat = np.zeros((n, 3))
    np.add.at(dmat, (groups, [index[x] for x in head]), 1.0)
    np.add.at(dmat, (groups, [index[x] for x in base]), -1.0)
    vinv = np.linalg.pinv(dmat.T @ dmat, hermitian=True)
    ref = _coins_quadratic(dmat, vinv, res.statistic, seed, r)
    assert _close(res.p_value, ref, r), (res.p_value, ref)
    again = _quadratic_sign_flip(dmat, vinv, res.statistic, seed, r)
    assert again[0] == res.p_value


@pytest.mark.parametrize("count", [1, 2, 7, 31, 63, 64, 65, 129, 1000])
def test_fair_coin_sums_are_binomial_half(count):
    """The bit-counting draws follow Binomial(count, 1/2): chi-square goodness of fit against scipy's pmf
    (bins with expectation under 5 pooled), mean and variance, for counts inside one 64-bit word, at its edge
    and over several words."""
    from scipy import stats as sps

    from promptreview.stats.primitives import fair_coin_sums

    r = 100_000
    draws = fair_coin_sums(np.random.default_rng(count), np.array([count, 3]), r)
    assert draws.shape == (r, 2) and draws.dtype == np.int64
    column = draws[:, 0]
    assert column.min() >= 0 and column.max() <= count
    observed = np.bincount(column, minlength=count + 1).astype(float)
    expected = sps.binom.pmf(np.arange(count + 1), count, 0.5) * r
    big = expected >= 5
    obs = np.append(observed[big], observed[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    obs, exp = obs[exp > 0], exp[exp > 0]
    assert sps.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-4
    assert abs(column.mean() - count / 2) < 5 * math.sqrt(count / 4 / r)
    # the second column (3 coins) is independent of the first
    assert abs(np.corrcoef(column, draws[:, 1])[0, 1]) < 5 / math.sqrt(r)


def test_fair_coin_sums_edge_cases():
    from promptreview.stats.primitives import fair_coin_sums

    rng = np.random.default_rng(0)
    assert fair_coin_sums(rng, np.array([0, 0]), 5).tolist() == [[0, 0]] * 5
    assert fair_coin_sums(rng, np.array([], dtype=np.int64), 3).shape == (3, 0)
    same = [fair_coin_sums(np.random.default_rng(9), np.array([5, 70]), 10) for _ in range(2)]
    assert np.array_equal(*same)  # deterministic for a seed
    with pytest.raises(ValueError):
        fair_coin_sums(rng, np.array([-1]), 2)


def test_missing_mask_is_is_missing_of_every_element():
    from promptreview.stats.primitives import is_missing, missing_mask

    values = [None, float("nan"), np.float64("nan"), np.float32("nan"), 1.0, 0, "a", "", True, False]
    values += [[float("nan")], {"a": None}, float("inf"), np.float32(1), (None,)]
    array = np.empty(len(values), dtype=object)
    array[:] = values
    assert missing_mask(array).tolist() == [is_missing(v) for v in values]
    assert missing_mask(array.reshape(3, 5)).tolist() == [is_missing(v) for v in values]


@pytest.mark.parametrize(
    ("n", "p"), [(1, [0.5, 0.5]), (9, [0.2, 0.3, 0.5]), (300, [0.1, 0.05, 0.6, 0.25]), (40, [1.0, 0.0])]
)
def test_multinomial_draws_follow_the_multinomial_law(n, p):
    """Conditional binomials give Multinomial(n, p): every row sums to n, and each category's count is
    Binomial(n, p_j) (mean and variance), with the multinomial's covariance -n p_i p_j between categories."""
    from promptreview.stats.primitives import multinomial_draws

    r = 100_000
    p = np.array(p)
    draws = multinomial_draws(np.random.default_rng(n), n, p, r)
    assert draws.shape == (r, p.size) and (draws.sum(axis=1) == n).all() and draws.min() >= 0
    for j, pj in enumerate(p):
        sd = math.sqrt(n * pj * (1 - pj))
        assert abs(draws[:, j].mean() - n * pj) <= 5 * sd / math.sqrt(r) + 1e-12
        assert draws[:, j].var() == pytest.approx(sd**2, rel=0.05, abs=1e-9)
    if p.size > 2 and n > 1:
        cov = np.cov(draws[:, 0], draws[:, 2])[0, 1]
        assert cov == pytest.approx(-n * p[0] * p[2], rel=0.1)


@pytest.mark.parametrize(
    ("base", "head"),
    [
        (["b", "a", "Z", "é", True, 10, "9", "", "a b"], ["a", "é", "Z", "zz", False, "10", 1.5, " ", "A"]),
        (["a", "a\x00", "x"], ["a\x00", "b", "a"]),  # a trailing NUL is its own category
        # unhashable labels: their strings are the categories
        ([{"k": 1}, ["x"], "a"], ["a", {"k": 1}, None]),
    ],
)
def test_category_codes_are_the_sorted_string_categories(base, head):
    from promptreview.stats.shift import _category_codes

    b, h = np.empty(len(base), dtype=object), np.empty(len(head), dtype=object)
    b[:], h[:] = base, head
    cats, bc, hc = _category_codes(b, h)
    expected = sorted({str(x) for x in base} | {str(x) for x in head})
    index = {c: i for i, c in enumerate(expected)}
    assert cats == expected
    assert bc.tolist() == [index[str(x)] for x in base] and hc.tolist() == [index[str(x)] for x in head]
