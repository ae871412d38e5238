"""promptreview.stats.multiplicity, Holm and Benjamini-Hochberg, against statsmodels."""

from __future__ import annotations

import numpy as np
import pytest

from promptreview import stats

statsmodels = pytest.importorskip("statsmodels")
from statsmodels.stats.multitest import multipletests  # noqa: E402


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
