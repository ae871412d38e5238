"""promptreview.stats.proportions, the Wilson and the clustered Wilson interval, against hand-computed
values and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from promptreview import stats

statsmodels = pytest.importorskip("statsmodels")
from statsmodels.stats.proportion import proportion_confint  # noqa: E402


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
