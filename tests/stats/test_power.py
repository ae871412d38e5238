"""promptreview.stats.power, the detectable increases, against their documented equation and SciPy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from promptreview import stats


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
