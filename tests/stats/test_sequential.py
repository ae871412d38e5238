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


def test_the_stop_reads_the_weighted_change_the_verdict_reads():
    # half the inputs from a stratum that is 2 % of the suite regress by +70 pp; the rest do not move:
    # +35 pp unweighted, +1.4 pp weighted, within a 2 pp margin
    n = 60
    d = np.where(np.arange(n) % 2 == 1, 0.7, 0.0)
    planned = np.where(np.arange(n) % 2 == 1, 0.04, 1.96)  # share of the suite / share of the sample
    estimate = np.where(np.arange(n) % 2 == 1, 0.02 / 30, 0.98 / 30)
    margins = {"refusal": 0.02}
    unweighted, _ = seq.decide_look({"refusal": d}, margins, 0.05, 0.025)
    assert unweighted == "regression"
    weighted, look = seq.decide_look(
        {"refusal": d}, margins, 0.05, 0.025, weights=planned, weight_bound=1.96, estimate_weights=estimate
    )
    assert weighted != "regression"
    assert abs(seq.weighted_mean(d, estimate) - 0.014) < 1e-12
    assert look.regression["refusal"] < 60


def test_a_stop_for_regression_clears_the_whole_review_family():
    rng = np.random.default_rng(5)
    d = _diffs(rng, 40, 0.02, 0.22)
    margins = {"refusal": 0.02}
    e = seq.regression_e_value(d)
    assert 1 / 0.05 <= e < 12 / 0.05  # enough for one test, not for a family of twelve
    assert seq.decide_look({"refusal": d}, margins, 0.05, 0.025)[0] == "regression"
    assert seq.decide_look({"refusal": d}, margins, 0.05, 0.025, family=12)[0] is None
