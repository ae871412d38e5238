"""promptreview.stats.paired, McNemar, the Newcombe paired interval and the paired test of a rate, against
hand-computed values and SciPy / statsmodels references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from promptreview import stats

statsmodels = pytest.importorskip("statsmodels")
from statsmodels.stats.contingency_tables import mcnemar  # noqa: E402


@pytest.mark.parametrize("b,c", [(3, 10), (10, 3), (0, 5), (7, 7), (1, 0), (25, 12), (0, 0)])
def test_mcnemar_exact_matches_statsmodels(b, c):
    ref = mcnemar(np.array([[5, b], [c, 9]]), exact=True).pvalue if b + c else 1.0
    assert stats.mcnemar_p(b, c, mid_p=False) == pytest.approx(ref, abs=1e-12)


def test_mcnemar_mid_p_hand_value():
    # n = 13, k = 3: exact = 2 * (1 + 13 + 78 + 286) / 8192; mid-p subtracts P(X = 3) = 286 / 8192
    assert stats.mcnemar_p(3, 10, mid_p=False) == pytest.approx(756 / 8192)
    assert stats.mcnemar_p(3, 10) == pytest.approx((756 - 286) / 8192)
    assert stats.mcnemar_p(7, 7) == pytest.approx(1.0)
    assert stats.mcnemar_p(0, 0) == 1.0


def test_newcombe_paired_interval_reference():
    # Fagerland, Lydersen & Laake (2017) ch. 8, Cavo et al. (2012) table [[59, 6], [16, 80]]:
    # estimate -0.0621, 95 % CI -0.1186 to -0.0046 (contingencytables R package tests).
    # Variable 1 = head: both = 59, head only = 6, base only = 16, neither = 80.
    lo, hi = stats.newcombe_paired_interval(both=59, base_only=16, head_only=6, neither=80)
    assert lo == pytest.approx(-0.1186, abs=5e-5)
    assert hi == pytest.approx(-0.0046, abs=5e-5)


def test_newcombe_all_zero_is_symmetric_wilson_bound():
    lo, hi = stats.newcombe_paired_interval(0, 0, 0, 50)
    u = stats.wilson_interval(0, 50)[1]
    assert (lo, hi) == pytest.approx((-u, u))


def _binary_pairs(both, b_only, h_only, neither):
    base = np.array([1] * both + [1] * b_only + [0] * h_only + [0] * neither, dtype=float)
    head = np.array([1] * both + [0] * b_only + [1] * h_only + [0] * neither, dtype=float)
    return base, head


def test_paired_rate_k1_uses_mcnemar_mid_p_and_newcombe():
    base, head = _binary_pairs(2, 3, 10, 85)
    r = stats.paired_rate_test(base, head)
    assert r.test == "McNemar mid-p"
    assert (r.base, r.head, r.delta) == pytest.approx((0.05, 0.12, 0.07))
    assert r.p_value == pytest.approx(stats.mcnemar_p(3, 10))
    # one-sided mid-p: P(X > 10) + P(X = 10) / 2, X ~ Bin(13, 1/2)
    assert r.p_increase == pytest.approx(sps.binom.sf(10, 13, 0.5) + 0.5 * sps.binom.pmf(10, 13, 0.5))
    assert r.ci95 == pytest.approx(stats.newcombe_paired_interval(2, 3, 10, 85))
    assert r.base_ci95 == pytest.approx(stats.wilson_interval(5, 100))
    assert r.n_inputs == 100


def test_paired_rate_exact_sign_flip_hand_value():
    # differences (in thirds) 1, 1, 2, -1, 0, 0: T = 3; of the 16 sign patterns of the four nonzero
    # ones, T* >= 3 for 4 (c = +2 with a + b + e >= 1), |T*| >= 3 for 8.
    base = np.array([0, 0, 0, 1, 0, 1]) / 3
    head = np.array([1, 1, 2, 0, 0, 1]) / 3
    r = stats.paired_rate_test(base, head)
    assert r.delta == pytest.approx(3 / 3 / 6)
    assert r.p_increase == pytest.approx(4 / 16)
    assert r.p_value == pytest.approx(8 / 16)
    assert "exact" in r.test


def test_paired_rate_matches_scipy_permutation_test():
    rng = np.random.default_rng(3)
    base = rng.binomial(3, 0.2, 12) / 3
    head = rng.binomial(3, 0.4, 12) / 3
    r = stats.paired_rate_test(base, head)
    for alt, mine in (("greater", r.p_increase), ("two-sided", r.p_value)):
        ref = sps.permutation_test(
            (head, base),
            lambda x, y: np.mean(x - y),
            permutation_type="samples",
            alternative=alt,
            n_resamples=np.inf,
        ).pvalue
        assert mine == pytest.approx(ref, abs=1e-9)


def test_paired_rate_monte_carlo_close_to_exact_and_deterministic():
    rng = np.random.default_rng(4)
    base = rng.binomial(3, 0.1, 200) / 3
    head = rng.binomial(3, 0.13, 200) / 3
    r1 = stats.paired_rate_test(base, head, seed=7, n_resamples=4000)
    r2 = stats.paired_rate_test(base, head, seed=7, n_resamples=4000)
    assert r1 == r2
    assert "Monte Carlo" in r1.test
    # normal approximation of the sign-flip distribution: sd = sqrt(sum d^2)
    d = head - base
    z = d.sum() / math.sqrt((d * d).sum())
    assert r1.p_increase == pytest.approx(sps.norm.sf(z), abs=0.03)
    assert r1.ci95[0] < r1.delta < r1.ci95[1]


def test_paired_rate_weighted():
    base = np.array([0, 1, 0, 0, 1 / 3, 0, 0, 2 / 3])
    head = np.array([1 / 3, 1, 2 / 3, 0, 1, 0, 1 / 3, 2 / 3])
    w = np.array([3.0, 3, 3, 3, 1, 1, 1, 1])
    r = stats.paired_rate_test(base, head, w)
    assert r.base == pytest.approx(np.average(base, weights=w))
    assert r.delta == pytest.approx(np.average(head - base, weights=w))
    assert "weighted" in r.test
    ref = sps.permutation_test(
        (head, base),
        lambda x, y: np.sum(w * (x - y)),
        permutation_type="samples",
        alternative="greater",
        n_resamples=np.inf,
    ).pvalue
    assert r.p_increase == pytest.approx(ref, abs=1e-9)
    # binary data with unequal weights is no longer McNemar
    b01, h01 = _binary_pairs(1, 1, 4, 4)
    assert stats.paired_rate_test(b01, h01, np.arange(1.0, 11.0)).test != "McNemar mid-p"


def test_paired_rate_degenerate_never_nan():
    empty = stats.paired_rate_test(np.array([]), np.array([]))
    assert empty.p_value == 1.0 and empty.ci95 == (-1.0, 1.0) and empty.n_inputs == 0
    for k_counts in (None, np.full(30, 3)):
        z = stats.paired_rate_test(np.zeros(30), np.zeros(30), base_n=k_counts, head_n=k_counts)
        assert z.p_value == 1.0 and z.p_increase == 1.0 and z.delta == 0.0
        assert z.ci95[0] < 0 < z.ci95[1]
        assert all(math.isfinite(v) for v in (*z.ci95, *z.base_ci95, *z.head_ci95))
    same = np.array([0, 1 / 3, 1, 2 / 3, 0])
    s = stats.paired_rate_test(same, same)
    assert s.p_value == 1.0 and s.ci95[0] <= 0 <= s.ci95[1]
    # NaN (all completions errored) drops the pair
    nan = stats.paired_rate_test(np.array([np.nan, 0, 1]), np.array([1, 0, 1]))
    assert nan.n_inputs == 2 and nan.delta == 0.0
    with pytest.raises(ValueError):
        stats.paired_rate_test(np.zeros(3), np.zeros(4))
