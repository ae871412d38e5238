"""Sequential stopping's statistics: the e-processes keep their level, and the stopping rule's decisions on
seeded data. (The engine's input order, and a whole review that stops early: tests/engine/test_sequential.py.)
"""

from __future__ import annotations

import numpy as np

from promptreview.stats import sequential as seq


def _diffs(rng: np.random.Generator, n: int, base: float, head: float, k: int = 3) -> np.ndarray:
    """Per-input differences of per-input rates from K binomial samples per side."""
    return rng.binomial(k, head, n) / k - rng.binomial(k, base, n) / k


def test_e_values_of_no_data_and_no_change_are_one():
    assert seq.regression_e_value(np.array([])) == 1.0
    assert seq.regression_e_value(np.zeros(50)) == 1.0
    # nothing moved: evidence that the increase is below a 10 pp margin grows with every input
    assert seq.futility_e_value(np.zeros(10), 0.1) < seq.futility_e_value(np.zeros(100), 0.1)


def test_regression_e_process_keeps_its_level_under_the_null():
    # Ville: under E[d] = 0 the e-process reaches 1/alpha with probability <= alpha, looked at after every input
    rng = np.random.default_rng(11)
    crossed = 0
    reps = 400
    for _ in range(reps):
        d = _diffs(rng, 300, 0.1, 0.1)
        wealth = [seq.regression_e_value(d[:t]) for t in range(10, 301, 10)]
        crossed += max(wealth) >= 20
    assert crossed / reps <= 0.05


def test_futility_e_process_keeps_its_level_when_the_increase_reaches_the_margin():
    rng = np.random.default_rng(12)
    reps = 300
    crossed = sum(
        max(seq.futility_e_value(d[:t], 0.1) for t in range(10, 301, 10)) >= 20
        for d in (_diffs(rng, 300, 0.05, 0.15) for _ in range(reps))
    )
    assert crossed / reps <= 0.05


def test_decisions_on_seeded_data():
    rng = np.random.default_rng(3)
    margins = {"parse_failure": 0.02, "refusal": 0.02}
    clear = {"parse_failure": _diffs(rng, 60, 0.02, 0.27), "refusal": _diffs(rng, 60, 0.03, 0.03)}
    decision, look = seq.decide_look(clear, margins, alpha=0.05, futility_level=0.025)
    assert decision == "regression"
    assert look.inputs == 60 and look.regression["parse_failure"] >= 2 / 0.05

    # the same data but a margin above the observed increase: no regression stop (the gate could not fail)
    decision, _ = seq.decide_look(clear, {"parse_failure": 0.5, "refusal": 0.02}, 0.05, 0.025)
    assert decision is None

    nothing = {"parse_failure": np.zeros(250), "refusal": np.zeros(250)}
    assert seq.decide_look(nothing, {"parse_failure": 0.05, "refusal": 0.05}, 0.05, 0.025)[0] == "futility"
    # futility is not allowed when another gate (flips, shifts) could still fail
    assert seq.decide_look(nothing, {"parse_failure": 0.05, "refusal": 0.05}, 0.05, 0.025, False)[0] is None
    # too few inputs to settle anything
    few = {"parse_failure": _diffs(rng, 20, 0.05, 0.08), "refusal": np.zeros(20)}
    assert seq.decide_look(few, margins, 0.05, 0.025)[0] is None
