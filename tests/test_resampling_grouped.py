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

    from promptreview.stats._common import fair_coin_sums

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
    from promptreview.stats._common import fair_coin_sums

    rng = np.random.default_rng(0)
    assert fair_coin_sums(rng, np.array([0, 0]), 5).tolist() == [[0, 0]] * 5
    assert fair_coin_sums(rng, np.array([], dtype=np.int64), 3).shape == (3, 0)
    same = [fair_coin_sums(np.random.default_rng(9), np.array([5, 70]), 10) for _ in range(2)]
    assert np.array_equal(*same)  # deterministic for a seed
    with pytest.raises(ValueError):
        fair_coin_sums(rng, np.array([-1]), 2)
