"""promptreview.stats against hand-computed values and SciPy / statsmodels references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from promptreview import stats

statsmodels = pytest.importorskip("statsmodels")
from statsmodels.stats.contingency_tables import SquareTable, mcnemar  # noqa: E402
from statsmodels.stats.multitest import multipletests  # noqa: E402
from statsmodels.stats.proportion import proportion_confint  # noqa: E402

# ---------------------------------------------------------------- Wilson


@pytest.mark.parametrize("x,n", [(0, 10), (1, 10), (5, 10), (10, 10), (3, 97), (40, 400), (1, 1)])
@pytest.mark.parametrize("conf", [0.95, 0.9])
def test_wilson_matches_statsmodels(x, n, conf):
    lo, hi = stats.wilson_interval(x, n, conf)
    ref = proportion_confint(x, n, alpha=1 - conf, method="wilson")
    assert lo == pytest.approx(ref[0], abs=1e-12)
    assert hi == pytest.approx(ref[1], abs=1e-12)


def test_wilson_hand_value_and_degenerate():
    # 2 of 20, z = 1.959964: centre = (0.1 + z^2/40) / (1 + z^2/20), half = z sqrt(.09/20 + z^2/1600) / (1 + z^2/20)
    z = sps.norm.ppf(0.975)
    denom = 1 + z * z / 20
    centre = (0.1 + z * z / 40) / denom
    half = z * math.sqrt(0.1 * 0.9 / 20 + z * z / 1600) / denom
    assert stats.wilson_interval(2, 20) == pytest.approx((centre - half, centre + half))
    assert stats.wilson_interval(0, 0) == (0.0, 1.0)
    assert stats.wilson_interval(3, -1) == (0.0, 1.0)
    lo, hi = stats.wilson_interval(0, 50)
    assert lo == 0.0 and 0 < hi < 0.1


def test_clustered_wilson_reduces_to_wilson_for_binary():
    x = np.array([1] * 7 + [0] * 33, dtype=float)
    assert stats.clustered_wilson(x) == pytest.approx(stats.wilson_interval(7, 40))
    # all zeros with K = 3: the per-input rule, n_eff = 40 inputs (not 120 completions: the 3 samples of an
    # input may fail together, so 0 of 120 completions is no stronger evidence than 0 of 40 inputs)
    zeros = np.zeros(40)
    assert stats.clustered_wilson(zeros, counts=np.full(40, 3)) == pytest.approx(stats.wilson_interval(0, 40))
    assert stats.clustered_wilson(np.array([])) == (0.0, 1.0)


def test_clustered_wilson_widens_under_clustering():
    # 10 inputs always fail, 90 never (K = 3): 10 independent units of information, not 30
    clustered = np.array([1.0] * 10 + [0.0] * 90)
    lo_c, hi_c = stats.clustered_wilson(clustered, counts=np.full(100, 3))
    lo_i, hi_i = stats.wilson_interval(30, 300)
    assert hi_c - lo_c > hi_i - lo_i


# ---------------------------------------------------------------- McNemar


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


# ---------------------------------------------------------------- Newcombe


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


# ---------------------------------------------------------------- paired rates


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


# ---------------------------------------------------------------- noise floor, flips


ANSWERS = np.array([["a", "a", "b"], ["x", "x", "x"], ["p", "q", "r"]], dtype=object)


def test_noise_floor_hand_value():
    # per input: 2 of 3 pairs disagree, 0 of 3, 3 of 3
    assert stats.noise_floor(ANSWERS) == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert stats.noise_floor(ANSWERS[:, :1]) is None
    with_missing = np.array([["a", None, "b"], ["x", None, None]], dtype=object)
    assert stats.noise_floor(with_missing) == pytest.approx(1.0)  # second input has no pair


def test_flip_rate_hand_value():
    head = np.array([["a", "b", "b"], ["x", "y", "x"], ["p", "q", "r"]], dtype=object)
    assert stats.flip_rate(ANSWERS, head) == pytest.approx(2 / 9)
    head_missing = head.copy()
    head_missing[0, 1] = None
    assert stats.flip_rate(ANSWERS, head_missing) == pytest.approx(1 / 8)


def test_flip_vs_noise_hand_values():
    head = np.array([["b", "b", "b"], ["x", "x", "y"], ["p", "q", "r"]], dtype=object)
    r = stats.flip_vs_noise(ANSWERS, head, n_resamples=500)
    # cross over 9 pairs: input 0: base a,a,b vs b,b,b -> 6 of 9; input 1: 3 of 9; input 2: 6 of 9
    assert r.head_vs_base == pytest.approx((6 / 9 + 3 / 9 + 6 / 9) / 3)
    assert r.noise_floor == pytest.approx(stats.noise_floor(ANSWERS))
    assert r.excess == pytest.approx(r.head_vs_base - r.noise_floor)
    assert 0 < r.p_value <= 1


def test_flip_vs_noise_detects_a_real_change_and_not_a_copy():
    rng = np.random.default_rng(0)
    labels = np.array(["a", "b", "c"], dtype=object)
    base = labels[rng.choice(3, size=(60, 3), p=[0.8, 0.15, 0.05])]
    same = labels[rng.choice(3, size=(60, 3), p=[0.8, 0.15, 0.05])]
    moved = labels[rng.choice(3, size=(60, 3), p=[0.2, 0.75, 0.05])]
    assert stats.flip_vs_noise(base, moved, n_resamples=500).p_value < 0.01
    assert stats.flip_vs_noise(base, same, n_resamples=500).p_value > 0.05
    k1 = stats.flip_vs_noise(base[:, :1], moved[:, :1])
    assert k1.noise_floor is None and k1.p_value is None and k1.excess is None
    assert k1.head_vs_base == pytest.approx(stats.flip_rate(base[:, :1], moved[:, :1]))


# ---------------------------------------------------------------- categorical shift


TABLE = np.array([[20, 3, 2], [5, 30, 4], [1, 6, 25]])


def _pairs_from_table(table, names=("a", "b", "c")):
    base, head = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            base += [names[i]] * int(count)
            head += [names[j]] * int(count)
    return np.array(base, dtype=object), np.array(head, dtype=object)


@pytest.mark.parametrize(
    "table",
    [
        TABLE,
        np.array([[10, 8, 1, 0], [2, 15, 3, 1], [0, 9, 12, 4], [3, 0, 1, 20]]),
        np.array([[5, 9], [2, 30]]),
    ],
)
def test_stuart_maxwell_matches_statsmodels(table):
    stat, df, p = stats.stuart_maxwell(table)
    ref = SquareTable(table, shift_zeros=False).homogeneity()
    assert stat == pytest.approx(ref.statistic, rel=1e-9)
    assert df == ref.df
    assert p == pytest.approx(ref.pvalue, rel=1e-9)


def test_stuart_maxwell_drops_unseen_categories():
    padded = np.zeros((4, 4))
    padded[:3, :3] = TABLE
    assert stats.stuart_maxwell(padded) == pytest.approx(stats.stuart_maxwell(TABLE))


def test_categorical_shift_k1_is_stuart_maxwell():
    base, head = _pairs_from_table(TABLE)
    r = stats.categorical_shift("label", base, head, n_resamples=2000)
    ref = SquareTable(TABLE, shift_zeros=False).homogeneity()
    assert r.kind == "categorical"
    assert r.statistic == pytest.approx(ref.statistic, rel=1e-9)
    assert r.details["p_chi2"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.details["df"] == 2
    assert r.base == {"a": 25, "b": 39, "c": 32}
    assert r.head == {"a": 26, "b": 39, "c": 31}
    pb = np.array([25, 39, 32]) / 96
    ph = np.array([26, 39, 31]) / 96
    assert r.effect == pytest.approx(0.5 * np.abs(pb - ph).sum())
    assert r.effect_name == "total_variation"
    assert r.details["jensen_shannon"] == pytest.approx(jensenshannon(pb, ph, base=2))
    assert r.p_value > 0.5


def test_categorical_shift_two_labels_equals_exact_mcnemar():
    base, head = _pairs_from_table(np.array([[10, 2], [9, 30]]), names=("yes", "no"))
    r = stats.categorical_shift("flag", base, head)
    assert r.statistic == pytest.approx((9 - 2) ** 2 / 11)
    assert r.p_value == pytest.approx(stats.mcnemar_p(2, 9, mid_p=False))


def test_categorical_shift_clusters_by_input():
    # 2 labels, K = 3 on 4 inputs; per-input head-minus-base count of "A": 2, 1, 0, -1
    groups = np.repeat([0, 1, 2, 3], 3)
    base = np.array(list("BBBBBAAABAAA"), dtype=object)
    head = np.array(list("AABBAAAABBAA"), dtype=object)
    r = stats.categorical_shift("f", base, head, groups=groups)
    # T = (sum x)^2 / sum x^2 = 4 / 6; exact over the 2^3 sign patterns of (2, 1, -1): |sum| >= 2 in 6 of 8
    assert r.statistic == pytest.approx(4 / 6)
    assert r.p_value == pytest.approx(6 / 8)
    assert r.details["n_inputs"] == 4 and r.details["n_pairs"] == 12


def test_categorical_shift_missing_and_degenerate():
    base = np.array(["a", None, "b", "a"], dtype=object)
    head = np.array(["a", "b", None, "a"], dtype=object)
    r = stats.categorical_shift("f", base, head)
    assert r.details["n_pairs"] == 2 and r.p_value == 1.0 and r.statistic == 0.0 and r.effect == 0.0
    none = stats.categorical_shift("f", np.array([None]), np.array([None]))
    assert none.p_value == 1.0 and none.effect is None and none.base == {}


# ---------------------------------------------------------------- numeric / length shift


def test_numeric_shift_matches_scipy_wilcoxon():
    rng = np.random.default_rng(5)
    base = rng.normal(10, 2, 40).round(1)
    head = (base + rng.normal(0.5, 1, 40)).round(1)
    r = stats.numeric_shift("score", base, head)
    d = np.round(head - base, 10)
    ref = sps.wilcoxon(d, zero_method="pratt")
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert r.statistic == pytest.approx(ref.statistic)
    assert r.effect == pytest.approx(np.median(d))
    assert r.effect_name == "median_shift"
    assert r.base == {"median": pytest.approx(np.median(base)), "mean": pytest.approx(base.mean()), "n": 40}


def test_numeric_shift_aggregates_per_input():
    groups = np.repeat(np.arange(6), 3)
    base = np.arange(18, dtype=float)
    head = base + np.repeat([1.0, 2.0, 3.0, -0.5, 4.0, 5.0], 3) + np.tile([-1.0, 0.0, 1.0], 6)
    r = stats.numeric_shift("n", base, head, groups=groups)
    per_input = np.array([1.0, 2.0, 3.0, -0.5, 4.0, 5.0])
    ref = sps.wilcoxon(per_input, zero_method="pratt")
    assert r.p_value == pytest.approx(ref.pvalue)
    assert r.effect == pytest.approx(np.median(per_input))
    assert r.details["n_inputs"] == 6


def test_numeric_and_length_degenerate():
    r = stats.numeric_shift("x", np.array([1.0, 2.0, None]), np.array([1.0, 2.0, 5.0]))
    assert r.p_value == 1.0 and r.effect == 0.0 and r.base["n"] == 2
    empty = stats.numeric_shift("x", np.array([None]), np.array([1.0]))
    assert empty.p_value == 1.0 and empty.effect is None
    ln = stats.length_shift("reason", np.array([10, 12, 9, 30]), np.array([20, 25, 19, 41]))
    assert ln.kind == "length" and ln.effect == pytest.approx(10.5)
    assert ln.p_value == pytest.approx(sps.wilcoxon(np.array([10, 13, 10, 11.0]), zero_method="pratt").pvalue)


# ---------------------------------------------------------------- multiplicity


@pytest.mark.parametrize(
    "p",
    [
        [0.01, 0.04, 0.03, 0.2],
        [0.001, 0.5, 0.049, 0.049, 0.8, 0.0001],
        [0.9],
        list(np.random.default_rng(1).uniform(0, 0.1, 15)),
    ],
)
def test_holm_and_bh_match_statsmodels(p):
    assert stats.holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]))
    assert stats.benjamini_hochberg(p) == pytest.approx(list(multipletests(p, method="fdr_bh")[1]))


def test_multiplicity_edge_cases():
    assert stats.holm([]) == [] and stats.benjamini_hochberg([]) == []
    assert stats.holm([0.3, 0.6]) == [0.6, 0.6]
    assert stats.holm([float("nan"), 0.01]) == [1.0, 0.02]


# ---------------------------------------------------------------- strata


POP = {"big": 900, "small": 100}
RATES = {"big": 0.1, "small": 0.5}


def test_weighted_rate_differs_from_unweighted_under_equal_allocation():
    # equal allocation (50 + 50) from unequal strata (900 / 100): the unweighted mean of the
    # stratum rates over-represents the small stratum; the population rate is 0.9*0.1 + 0.1*0.5.
    assert stats.weighted_rate(RATES, POP) == pytest.approx(0.14)
    unweighted = (50 * 0.1 + 50 * 0.5) / 100
    assert unweighted == pytest.approx(0.30)
    assert not stats.is_proportional({"big": 50, "small": 50}, POP)
    assert stats.is_proportional({"big": 90, "small": 10}, POP)
    assert stats.is_proportional({"big": 67, "small": 133}, {"big": 333, "small": 667})  # rounding
    assert stats.weighted_rate({"big": 0.1, "small": None}, POP) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        stats.weighted_rate({"other": 0.1}, POP)


def test_weighted_estimator_is_unbiased_for_the_population_rate():
    rng = np.random.default_rng(2024)
    reps, n_h, k = 2000, 50, 3
    strata = np.array(["big"] * n_h + ["small"] * n_h)
    w = stats.input_weights(strata, POP)
    assert w[0] / w[-1] == pytest.approx(9.0)
    weighted, unweighted, via_test = [], [], []
    for _ in range(reps):
        rates = {s: rng.binomial(n_h * k, RATES[s]) / (n_h * k) for s in POP}
        weighted.append(stats.weighted_rate(rates, POP))
        unweighted.append(np.mean(list(rates.values())))
    for _ in range(200):
        per_input = np.concatenate([rng.binomial(k, RATES[s], n_h) / k for s in ("big", "small")])
        via_test.append(stats.paired_rate_test(per_input, per_input, w).base)
    se = math.sqrt((0.81 * 0.09 + 0.01 * 0.25) / (n_h * k) / reps)
    assert np.mean(weighted) == pytest.approx(0.14, abs=4 * se)
    assert np.mean(unweighted) == pytest.approx(0.30, abs=0.01)
    assert np.mean(via_test) == pytest.approx(0.14, abs=0.01)


# ---------------------------------------------------------------- power, gates


def test_min_detectable_increase_properties():
    mde = stats.min_detectable_increase(100, 3, 0.05)
    assert 0.04 < mde < 0.07
    assert stats.min_detectable_increase(400, 3, 0.05) < mde < stats.min_detectable_increase(100, 1, 0.05)
    assert stats.min_detectable_increase(100, 3, 0.05, icc=0.3) > mde
    assert stats.min_detectable_increase(100, 3, 0.05, n_tests=3) > mde
    assert stats.min_detectable_increase(100, 3, 0.05, max_increase=0.08) > 0.08
    assert stats.min_detectable_increase(0, 3, 0.05) == math.inf
    assert stats.min_detectable_increase(2, 1, 0.5) == math.inf
    # the root satisfies the documented equation
    p0, n, k = 0.05, 100, 3
    p1 = p0 + mde
    se = math.sqrt((p0 * (1 - p0) + p1 * (1 - p1)) / (n * k))
    se0 = math.sqrt(se * se + mde * mde / n)
    rhs = sps.norm.isf(0.05) * se0 + 0.5 / (n * k) + sps.norm.ppf(0.8) * se
    assert mde == pytest.approx(rhs, rel=1e-6)


def test_underpowered():
    assert stats.underpowered(20, 1, 0.05, 0.02)
    assert not stats.underpowered(5000, 3, 0.05, 0.02)


def test_icc_estimate():
    assert stats.icc_estimate(np.array([0.0, 1.0, 0.0, 1.0]), np.array([3, 3, 3, 3])) == pytest.approx(1.0)
    assert stats.icc_estimate(np.array([0.5, 0.5]), np.array([2, 2])) == 0.0
    assert stats.icc_estimate(np.array([0.5]), np.array([2])) == 0.0


@pytest.mark.parametrize(
    "delta,p,expected",
    [
        (0.05, 0.01, "fail"),
        (0.01, 0.01, "warn"),  # significant, within margin
        (0.05, 0.20, "warn"),  # beyond margin, not significant
        (0.01, 0.20, "pass"),
        (-0.05, 0.01, "pass"),  # significant improvement
        (0.02, 0.01, "warn"),  # exactly at the margin is within it
        (float("nan"), 0.5, "warn"),
    ],
)
def test_gate_decision(delta, p, expected):
    assert stats.gate_decision(delta, p, 0.02, 0.05) == expected


def test_wilcoxon_with_few_discordant_inputs_is_exact():
    # 3 inputs moved by +1, 2 unchanged: the exact sign-flip p is 2/8 = 0.25 (the normal approximation says
    # less); the smallest attainable two-sided p with 3 discordant inputs is 0.25
    from promptreview.stats.shift import numeric_shift

    result = numeric_shift("x", np.array([1.0, 1, 1, 5, 5]), np.array([2.0, 2, 2, 5, 5]))
    assert result.p_value == pytest.approx(0.25)
    assert "exact" in result.test


def test_design_effect_of_unequal_weights():
    deff = stats.weighting_design_effect([700, 200, 100], [33, 33, 33])
    assert deff**0.5 == pytest.approx(1.273, abs=0.001)
    assert stats.weighting_design_effect([100, 100], [10, 10]) == pytest.approx(1.0)
    plain = stats.min_detectable_increase(99, 3, 0.05, max_increase=0.02)
    weighted = stats.min_detectable_increase(99, 3, 0.05, max_increase=0.02, design_effect=deff)
    assert weighted > plain * 1.15


def test_inputs_to_detect_matches_the_detectable_increase():
    n = stats.inputs_to_detect(0.05, 1, 0.0, max_increase=0.02, n_tests=3)
    assert n is not None
    assert stats.min_detectable_increase(n, 1, 0.0, max_increase=0.02, n_tests=3) <= 0.05
    assert stats.min_detectable_increase(n - 1, 1, 0.0, max_increase=0.02, n_tests=3) > 0.05
    assert stats.inputs_to_detect(0.01, 1, 0.0, max_increase=0.02) is None  # within the margin: never


@pytest.mark.parametrize(
    ("n", "k", "base", "margin", "deff"),
    [(30, 3, 0.05, 0.0, 1.0), (200, 5, 0.0, 0.02, 1.0), (120, 3, 0.2, 0.05, 1.4), (12, 2, 0.3, 0.1, 2.0)],
)
def test_detectable_increase_is_brents_root(n, k, base, margin, deff):
    """The root search agrees with scipy.optimize.brentq on the same function (to its tolerance)."""
    from scipy import optimize

    from promptreview.stats import power

    found = power.min_detectable_increase(n, k, base, max_increase=margin, design_effect=deff)
    seen: list = []
    real = power._bisect

    def spy(f, low, high, *, xtol):
        seen.append((f, low, high))
        return real(f, low, high, xtol=xtol)

    power._bisect = spy
    try:
        assert power.min_detectable_increase(n, k, base, max_increase=margin, design_effect=deff) == found
    finally:
        power._bisect = real
    f, low, high = seen[0]
    assert f(low) < 0 <= f(high)
    assert found == pytest.approx(optimize.brentq(f, low, high, xtol=1e-12), abs=2e-10)
