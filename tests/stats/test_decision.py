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


def test_a_change_equal_to_its_margin_is_not_beyond_it_by_rounding():
    """6 misses in 300 against a 2 pp margin: 0.97 - 0.95 is 0.020000000000000018 in floating point."""
    from promptreview.stats import exceeds

    change = 0.97 - 0.95
    assert change > 0.02  # what a bare comparison would say
    assert not exceeds(change, 0.02) and exceeds(0.0201, 0.02)
    # significant, at the margin: not beyond it
    assert stats.gate_decision(change, 0.001, 0.02, 0.05) == "warn"
