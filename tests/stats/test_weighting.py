"""promptreview.stats.weighting, stratum weights and the weighted rate, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from promptreview import stats

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
