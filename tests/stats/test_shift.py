"""promptreview.stats.shift, the categorical, numeric and length shifts, against hand-computed values and
SciPy / statsmodels references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from promptreview import stats

statsmodels = pytest.importorskip("statsmodels")
from statsmodels.stats.contingency_tables import SquareTable  # noqa: E402

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


def test_wilcoxon_with_few_discordant_inputs_is_exact():
    # 3 inputs moved by +1, 2 unchanged: the exact sign-flip p is 2/8 = 0.25 (the normal approximation says
    # less); the smallest attainable two-sided p with 3 discordant inputs is 0.25
    from promptreview.stats.shift import numeric_shift

    result = numeric_shift("x", np.array([1.0, 1, 1, 5, 5]), np.array([2.0, 2, 2, 5, 5]))
    assert result.p_value == pytest.approx(0.25)
    assert "exact" in result.test


def _triage_labels(n_inputs: int, k: int, cats: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """K labels per side for each input, drawn at random from `cats` categories (the triage review's field)."""
    rng = np.random.default_rng(5)
    names = np.array(["billing", "technical", "account", "shipping", "other", "spam"][:cats], dtype=object)
    base = names[rng.integers(0, cats, size=n_inputs * k)]
    head = names[rng.integers(0, cats, size=n_inputs * k)]
    return base, head, np.repeat(np.array([f"in{i}" for i in range(n_inputs)], dtype=object), k)


def test_the_sign_flip_p_value_does_not_depend_on_the_piece_size(monkeypatch):
    """The resamples continue one random stream: drawn in pieces of any size, the same p-value (the guard of
    decision 83's smaller pieces), for grouped draws (few distinct count differences) and one sign per input."""
    from promptreview.stats import shift

    grouped, one_per_input = _triage_labels(3000, 5), _triage_labels(400, 5, cats=6)
    for base, head, groups in (grouped, one_per_input):
        seen = set()
        for cells in (2_000_000, 500_000, 12_345, 700):
            monkeypatch.setattr(shift, "SIGN_FLIP_CELLS", cells)
            res = stats.categorical_shift("f", base, head, groups=groups, seed=3)
            seen.add((res.p_value, res.test_details))
        assert len(seen) == 1, seen


def test_the_sign_flips_of_10000_inputs_stay_within_a_few_megabytes():
    """100,000 completions are 10,000 inputs per side: drawn in pieces of 2,000,000 cells, the sign flips' arrays
    (some 55 MB at once) set the review's peak memory; in pieces of a quarter of that, about 20 MB."""
    import tracemalloc

    base, head, groups = _triage_labels(10_000, 5)
    tracemalloc.start()
    try:
        stats.categorical_shift("f", base, head, groups=groups, seed=3)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 30 * 2**20, peak / 2**20
