"""The paired change of a quality check: a pass rate's or a judge's mean score, one-sided for a decrease."""

from __future__ import annotations

import numpy as np
import pytest

from promptreview.stats.scores import paired_pass_test, paired_score_test


def test_paired_pass_test_is_one_sided_for_a_decrease():
    base = np.ones(20)
    head = np.r_[np.zeros(8), np.ones(12)]
    result = paired_pass_test(base, head)
    assert result.delta == pytest.approx(-0.4) and result.ci95[1] < 0
    assert result.p_decrease < 0.01 and result.discordant == 8
    assert paired_pass_test(head, base).p_decrease > 0.5  # an increase is no regression
    scores = paired_score_test(np.full(10, 4.0), np.r_[np.full(6, 2.0), np.full(4, 4.0)])
    assert scores.delta == pytest.approx(-1.2) and scores.p_decrease == pytest.approx(1 / 64)
    assert scores.ci95[0] < -1.2 < scores.ci95[1]
