"""promptreview.stats.decision, a gate's pass / warn / fail from the change and its p-value."""

from __future__ import annotations

import pytest

from promptreview import stats


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
