"""The gates on hand-built measurements: `decide` on `PromptStats` and `RateRow`s written out here, no review run.

Holm over every gated test of every compared prompt (a test that cannot reject left out of the family), each
gate's pass / warn / fail, the ceilings of an added prompt, a prompt with too many failed calls, quality checks,
answer flips, and the power lines (the detectable increase, "sample too small", "inconclusive").
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from promptreview import stats
from promptreview.engine.gates.decision import Candidate, decide, power_lines
from promptreview.engine.measurement.analysis import PromptStats, SideErrors
from promptreview.report.document import (
    CallStats,
    EvaluatorRow,
    FlipRow,
    RateRow,
    SequentialInfo,
    ShiftRow,
    StatTest,
    StratumRow,
)
from promptreview.report.notes import words
from promptreview.sources.config import Config, DecreaseGate, QualityGates, gate_specs
from promptreview.verdicts import PromptVerdict

RATES = ("parse_failure", "schema_violation", "refusal")
CONFIG = Config(prompts=[])  # the defaults: 2 pp margins on the three rates, alpha 0.05


def moved(base: float, head: float, p: float, discordant: int = 20) -> RateRow:
    """A compared rate: `p` is the one-sided p of "head is higher" (what the gates test)."""
    return RateRow(
        base, head, head - base, (head - base - 0.03, head - base + 0.03), p_value=min(1.0, 2 * p),
        p_increase=p, base_n=300, head_n=300, discordant=discordant,
    )  # fmt: skip


STILL = moved(0.01, 0.01, 0.6, discordant=4)  # nothing moved


def measured(
    *,
    n_inputs: int = 2000,  # enough to catch twice a 2 pp margin: no "sample too small"
    samples: int = 3,
    failed: int = 0,
    flip: FlipRow | None = None,
    shifts: tuple[ShiftRow, ...] = (),
    strata: tuple[StratumRow, ...] = (),
    **rates: RateRow,
) -> PromptStats:
    calls = n_inputs * samples
    return PromptStats(
        weighted=False,
        n_inputs=n_inputs,
        samples=samples,
        rates={name: rates.get(name, STILL) for name in RATES},
        flip_rate=flip,
        distribution_shift=shifts,
        strata=strata,
        examples=(),
        failure_details={},
        calls=CallStats(total=2 * calls, failed=failed),
        served={},
        errors={"base": SideErrors(0, calls), "head": SideErrors(failed, calls)},
        notes=(),
    )


def one(stats_: PromptStats, config: Config = CONFIG, change: str = "modified", evaluators=()):
    (decision,) = decide([Candidate(change, stats_, tuple(evaluators))], config)
    return decision


def test_nothing_moved_passes_and_every_gate_says_so():
    given = measured()
    decision = one(given)
    assert decision.verdict is PromptVerdict.PASS and decision.warnings == ()
    for name in RATES:
        row = decision.stats.rates[name]
        assert row.gate is PromptVerdict.PASS and row.max_increase == 0.02
        assert 0 < row.min_detectable < 1
    # a decided copy: what it was given is unchanged
    assert given.rates["parse_failure"].gate is None and given.rates["parse_failure"].p_adjusted is None


@pytest.mark.parametrize(
    ("base", "head", "p", "verdict"),
    [
        (0.01, 0.09, 0.001, PromptVerdict.FAIL),  # significant, estimated beyond the 2 pp margin
        (0.01, 0.02, 0.001, PromptVerdict.WARN),  # significant, within the margin
        (0.01, 0.09, 0.3, PromptVerdict.WARN),  # beyond the margin, not significant: inconclusive
        (0.01, 0.015, 0.3, PromptVerdict.PASS),
        (0.09, 0.01, 0.999, PromptVerdict.PASS),  # it went down
    ],
)
def test_one_gated_rate(base, head, p, verdict):
    decision = one(measured(parse_failure=moved(base, head, p)))
    row = decision.stats.rates["parse_failure"]
    assert decision.verdict is verdict and row.gate is verdict
    # Holm over the three gated rates of the one prompt
    assert row.p_adjusted == pytest.approx(stats.holm([p, 0.6, 0.6])[0])
    assert bool(decision.warnings) is (verdict is not PromptVerdict.PASS)


def test_holm_family_is_every_gated_rate_of_every_compared_prompt():
    regressed = measured(parse_failure=moved(0.01, 0.09, 0.01))
    assert one(regressed).verdict is PromptVerdict.FAIL  # 3 tests: 0.01 x 3 = 0.03 < 0.05
    decisions = decide([Candidate("modified", regressed), Candidate("modified", measured())], CONFIG)
    row = decisions[0].stats.rates["parse_failure"]
    assert row.p_adjusted == pytest.approx(0.06)  # 6 tests: 0.01 x 6
    assert decisions[0].verdict is PromptVerdict.WARN  # beyond the margin, no longer significant
    assert decisions[1].verdict is PromptVerdict.PASS


def test_a_rate_no_input_moved_cannot_reject_and_stays_out_of_the_family():
    quiet = moved(0.0, 0.0, 1.0, discordant=0)
    decision = one(measured(parse_failure=moved(0.01, 0.09, 0.02), schema_violation=quiet, refusal=quiet))
    assert decision.stats.rates["schema_violation"].p_adjusted == 1.0
    assert decision.stats.rates["parse_failure"].p_adjusted == pytest.approx(0.02)  # a family of one
    assert decision.verdict is PromptVerdict.FAIL


def test_a_gate_that_does_not_gate_only_warns():
    config = replace(CONFIG, gates=gate_specs({"parse_failure": {"max_increase": 0.02, "gating": False}}))
    decision = one(measured(parse_failure=moved(0.01, 0.09, 0.001)), config)
    assert decision.verdict is PromptVerdict.WARN
    row = decision.stats.rates["parse_failure"]
    assert row.gate is None and row.min_detectable is None  # no gate, no detectable increase to promise
    # and it leaves the Holm family: the two gated rates are the family
    assert decision.stats.rates["refusal"].p_adjusted == pytest.approx(stats.holm([0.6, 0.6])[0])


def test_a_wider_margin_keeps_the_same_increase_a_warning():
    config = replace(CONFIG, gates=gate_specs({"parse_failure": {"max_increase": 0.10}}))
    decision = one(measured(parse_failure=moved(0.01, 0.09, 0.001)), config)
    assert (
        decision.verdict is PromptVerdict.WARN and decision.stats.rates["parse_failure"].max_increase == 0.10
    )


def test_too_many_failed_calls_is_an_error_with_no_gate_and_no_place_in_the_family():
    broken = measured(failed=601, parse_failure=moved(0.01, 0.09, 0.001))  # 601 of 6000 head calls: over 10 %
    regressed = measured(parse_failure=moved(0.01, 0.09, 0.01))
    first, second = decide([Candidate("modified", broken), Candidate("modified", regressed)], CONFIG)
    assert first.verdict is PromptVerdict.ERROR
    assert [(w.kind, w.subject, w.data["failed"]) for w in first.warnings] == [("calls_failed", "head", 601)]
    assert all(row.gate is None for row in first.stats.rates.values())
    assert second.stats.rates["parse_failure"].p_adjusted == pytest.approx(0.03)  # only its own 3 tests
    assert second.verdict is PromptVerdict.FAIL
    # at the limit it is still trusted
    assert one(measured(failed=600)).verdict is PromptVerdict.PASS


def added(head: float, ci95: tuple[float, float] | None, n_inputs: int = 2000) -> PromptStats:
    row = RateRow(None, head, head_ci95=ci95, head_n=n_inputs * 3)
    return replace(measured(n_inputs=n_inputs), rates={name: row for name in RATES})


@pytest.mark.parametrize(
    ("head", "ci95", "n_inputs", "verdict"),
    [
        (0.12, (0.07, 0.19), 2000, PromptVerdict.FAIL),  # the lower bound is above the 5 % ceiling
        (0.06, (0.03, 0.11), 2000, PromptVerdict.PASS),  # above it, but not surely
        (0.2, None, 5, PromptVerdict.FAIL),  # too few inputs for an interval: the point estimate decides
        (0.0, None, 5, PromptVerdict.PASS),
    ],
)
def test_an_added_prompt_is_held_to_the_ceilings(head, ci95, n_inputs, verdict):
    decision = one(added(head, ci95, n_inputs), change="added")
    assert decision.verdict is verdict
    for row in decision.stats.rates.values():
        assert row.gate is verdict and row.max_rate == 0.05 and row.p_adjusted is None
    assert bool(decision.warnings) is (verdict is PromptVerdict.FAIL or n_inputs < 10)


def test_an_added_prompt_is_not_in_the_family_of_the_compared_ones():
    regressed = measured(parse_failure=moved(0.01, 0.09, 0.01))
    _, compared = decide(
        [Candidate("added", added(0.0, (0.0, 0.01))), Candidate("modified", regressed)], CONFIG
    )
    assert compared.stats.rates["parse_failure"].p_adjusted == pytest.approx(0.03)


def check(delta: float, p: float, *, kind: str = "expect", name: str = "category", **kw) -> EvaluatorRow:
    kw = {"base_n": 300, "head_n": 300, **kw}
    return EvaluatorRow(
        name, kind, "category", 0.9, 0.9 + delta, delta, p_value=min(1.0, 2 * p), p_decrease=p,
        discordant=20, **kw,
    )  # fmt: skip


def test_a_quality_check_fails_on_a_significant_decrease_beyond_its_margin():
    decision = one(measured(), evaluators=[check(-0.2, 0.001)])
    (row,) = decision.evaluators
    assert (
        decision.verdict is PromptVerdict.FAIL and row.gate is PromptVerdict.FAIL and row.max_decrease == 0.02
    )
    # a quality check's test joins the rates' Holm family: four tests
    assert row.p_adjusted == pytest.approx(stats.holm([0.001, 0.6, 0.6, 0.6])[0])

    within = one(measured(), evaluators=[check(-0.01, 0.001)])
    assert within.verdict is PromptVerdict.WARN
    better = one(measured(), evaluators=[check(0.05, 0.999)])
    assert better.verdict is PromptVerdict.PASS and better.evaluators[0].gate is PromptVerdict.PASS


def test_a_quality_checks_own_margin_and_a_gate_that_does_not_gate():
    own = one(measured(), evaluators=[check(-0.2, 0.001, max_decrease=0.5)])
    assert own.verdict is PromptVerdict.WARN and own.evaluators[0].max_decrease == 0.5
    config = replace(CONFIG, quality_gates=QualityGates(expect=DecreaseGate(0.02, gating=False)))
    warned = one(measured(), config, evaluators=[check(-0.2, 0.001)])
    assert warned.verdict is PromptVerdict.WARN and warned.evaluators[0].gate is None


def flips(excess: float, p: float) -> FlipRow:
    return FlipRow(0.1 + excess, 0.1, excess, p_value=p)


def test_answer_flips_warn_by_default_and_fail_when_gating_beyond_the_margin():
    decision = one(measured(flip=flips(0.3, 0.001)))
    assert decision.verdict is PromptVerdict.WARN and decision.stats.flip_rate.gate is PromptVerdict.WARN
    assert one(measured(flip=flips(0.3, 0.2))).verdict is PromptVerdict.PASS  # not significant
    gating = replace(CONFIG, gates=gate_specs({"flip_rate": {"max_increase": 0.05}}))
    assert one(measured(flip=flips(0.3, 0.001)), gating).verdict is PromptVerdict.FAIL
    assert one(measured(flip=flips(0.03, 0.001)), gating).verdict is PromptVerdict.WARN  # within the margin


def test_a_distribution_shift_warns_unless_it_gates():
    shift = ShiftRow("category", "categorical", StatTest("Stuart-Maxwell"), 20.0, 0.001, {}, {})
    assert one(measured(shifts=(shift,))).verdict is PromptVerdict.WARN
    gating = replace(CONFIG, gates=gate_specs({"distribution_shift": {}}))
    assert one(measured(shifts=(shift,)), gating).verdict is PromptVerdict.FAIL
    calm = replace(shift, p_value=0.5)
    assert one(measured(shifts=(calm,))).verdict is PromptVerdict.PASS


def test_a_significant_shift_below_the_floor_is_not_one_that_matters():
    """The gate and the report's "shifts that matter" use one rule: significant, and larger than
    `gates.distribution_shift.max_increase` (2% of answers, or of the base median, by default)."""
    tiny = ShiftRow(
        "category", "categorical", StatTest("Stuart-Maxwell"), 20.0, 0.001, {}, {}, 0.01, "total_variation"
    )
    decision = one(measured(shifts=(tiny,)))
    assert decision.verdict is PromptVerdict.PASS and not decision.stats.distribution_shift[0].matters
    large = replace(tiny, effect=0.05)
    decision = one(measured(shifts=(large,)))
    assert decision.verdict is PromptVerdict.WARN and decision.stats.distribution_shift[0].matters
    shorter = ShiftRow(
        "(output tokens)",
        "length",
        StatTest("Wilcoxon signed-rank"),
        6.0,
        0.001,
        {"median": 100.0},
        {"median": 99.0},
        -1.0,
        "median_shift",
    )
    assert not one(measured(shifts=(shorter,))).stats.distribution_shift[0].matters  # 1% of the median
    assert one(measured(shifts=(replace(shorter, effect=-30.0),))).stats.distribution_shift[0].matters
    looser = replace(CONFIG, gates=gate_specs({"distribution_shift": {"max_increase": 0.0, "gating": False}}))
    assert one(measured(shifts=(tiny,)), looser).verdict is PromptVerdict.WARN


def test_strata_with_a_significant_change_come_first_then_by_size():
    def stratum(label: str, delta: float, p: float) -> StratumRow:
        row = RateRow(0.01, 0.01 + delta, delta, p_value=p)
        return StratumRow({"channel": label}, f"channel={label}", 30, 100, {"parse_failure": row})

    strata = (stratum("a", 0.01, 0.9), stratum("b", 0.30, 0.6), stratum("c", 0.05, 0.0001))
    decision = one(measured(strata=strata))
    assert [s.label for s in decision.stats.strata] == ["channel=c", "channel=b", "channel=a"]


# -- the power lines ---------------------------------------------------------------------------------------


def test_a_pass_on_too_small_a_sample_says_so_once():
    small = one(measured(n_inputs=10, samples=1))
    assert small.verdict is PromptVerdict.PASS
    (line,) = small.warnings
    assert line.kind == "sample_too_small" and line.data["gates"] == RATES
    detectable = small.stats.rates["parse_failure"].min_detectable
    assert detectable == pytest.approx(
        stats.min_detectable_increase(10, 1, 0.01, alpha=0.05, max_increase=0.02, n_tests=3)
    )
    assert one(measured(n_inputs=5000, samples=3)).warnings == ()


def test_a_fail_is_never_called_underpowered():
    result, lines = power_lines(measured(n_inputs=10, samples=1), PromptVerdict.FAIL, CONFIG, 3)
    assert lines == []
    assert all(math.isfinite(result.rates[name].min_detectable) for name in RATES)


def test_an_inconclusive_change_names_the_sample_that_would_decide_it_once():
    unsure = moved(0.01, 0.09, 0.3)
    decision = one(measured(n_inputs=40, samples=1, parse_failure=unsure, refusal=unsure))
    assert decision.verdict is PromptVerdict.WARN
    # one line for both rates; the third gate, which passed, is the one "sample too small" line
    unsure, small = decision.warnings
    need = stats.inputs_to_detect(0.08, 1, 0.01, 0.05, max_increase=0.02, n_tests=3)
    assert unsure.kind == "rate_inconclusive" and need is not None and need > 40
    assert unsure.data["inputs_needed"] == need
    assert [name for name, _ in unsure.data["changes"]] == ["parse_failure", "refusal"]
    assert small.kind == "sample_too_small" and small.data["gates"] == ("schema_violation",)


def test_the_family_size_the_detectable_increase_assumes_is_the_nominal_one():
    # two compared prompts: three gated rates each, so the detectable increase assumes six tests
    first, _ = decide([Candidate("modified", measured()), Candidate("modified", measured())], CONFIG)
    assert first.stats.rates["refusal"].min_detectable == pytest.approx(
        stats.min_detectable_increase(2000, 3, 0.01, alpha=0.05, max_increase=0.02, n_tests=6)
    )


# -- one story: the interval, the test and a sequential stop agree with the verdict ----------------------


def test_no_failing_gate_whose_own_interval_includes_zero():
    # significant by the one-sided test, estimated above the margin, but the 95 % interval reaches below zero
    edge = replace(moved(0.05, 0.077, 0.002), ci95=(-0.013, 0.052))
    decision = one(measured(refusal=edge))
    row = decision.stats.rates["refusal"]
    assert decision.verdict is PromptVerdict.WARN and row.gate is PromptVerdict.WARN
    (said,) = [w for w in decision.warnings if w.kind == "rate_increase"]
    assert said.data["held"] is True
    assert "includes zero, so the gate does not fail" in words(said)
    clear = one(measured(refusal=replace(edge, ci95=(0.004, 0.052))))
    assert clear.verdict is PromptVerdict.FAIL and not clear.warnings[0].data["held"]


def stopped(reason: str, on: tuple[str, ...] = (), e: float = 75.0) -> SequentialInfo:
    return SequentialInfo(
        stopped=True, after_inputs=40, planned_inputs=200, reason=reason, looks=3,  # type: ignore[arg-type]
        e_values={"refusal": {"regression": e, "futility": 0.5}}, stopped_on=on,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_stop_for_regression_fails_the_gate_that_stopped_it():
    # the stop's anytime-valid evidence is the verdict's own, even where the fixed test on what ran is not
    # below alpha: a stop for regression never ends in a pass
    weak = moved(0.01, 0.05, 0.04)  # Holm over three: adjusted p 0.12
    (decision,) = decide(
        [Candidate("modified", measured(refusal=weak), sequential=stopped("regression", ("refusal",)))],
        CONFIG,
    )
    assert (
        decision.verdict is PromptVerdict.FAIL and decision.stats.rates["refusal"].gate is PromptVerdict.FAIL
    )
    (said,) = [w for w in decision.warnings if w.kind == "rate_increase"]
    assert "stopped early on e-value 75" in words(said)
    assert not [w for w in decision.warnings if w.kind == "rate_inconclusive"]


def test_a_stop_for_futility_leaves_no_gate_failing():
    big = moved(0.01, 0.05, 0.0001)
    (decision,) = decide(
        [Candidate("modified", measured(refusal=big), sequential=stopped("futility"))], CONFIG
    )
    assert decision.verdict is not PromptVerdict.FAIL
    assert all(row.gate is not PromptVerdict.FAIL for row in decision.stats.rates.values())


def test_a_quality_check_on_too_small_a_sample_says_so():
    # 30 inputs x 1 sample of an expected answer: a decrease of twice the margin would usually go unnoticed
    thin = check(0.0, 0.6, base_n=30, head_n=30)
    decision = one(measured(samples=1), evaluators=[thin])
    assert decision.verdict is PromptVerdict.PASS
    (line,) = [w for w in decision.warnings if w.kind == "check_too_small"]
    ((name, kind, field, detectable, n_inputs),) = line.data["checks"]
    assert (name, kind, field, n_inputs) == ("category", "expect", "category", 30)
    assert detectable == pytest.approx(
        stats.min_detectable_increase(30, 1, 0.1, alpha=0.05, max_increase=0.02, n_tests=3)
    )
    assert "expected category pass rate (30 inputs): the smallest decrease caught" in words(line)
    plenty = check(0.0, 0.6, base_n=6000, head_n=6000)  # 2,000 inputs x 3
    assert not [w for w in one(measured(), evaluators=[plenty]).warnings if w.kind == "check_too_small"]


def test_an_inconclusive_quality_check_names_the_sample_that_would_decide_it():
    unsure = check(-0.08, 0.3, base_n=40, head_n=40)
    decision = one(measured(samples=1), evaluators=[unsure])
    assert decision.verdict is PromptVerdict.WARN
    (line,) = [w for w in decision.warnings if w.kind == "check_inconclusive"]
    need = stats.inputs_to_detect(0.08, 1, 0.1, 0.05, max_increase=0.02, n_tests=3)
    assert need is not None and need > 40 and line.data["inputs_needed"] == need
    assert f"about {need} inputs × 1 sample would decide it with 80% power" in words(line)
    # a judge's mean score is no rate: still inconclusive, without a sample size
    score = check(-0.5, 0.3, kind="llm", name="tone", units="score", base_n=40, head_n=40)
    config = replace(
        CONFIG, quality_gates=QualityGates(per_evaluator={"tone": DecreaseGate(0.2, gating=True)})
    )
    (judged,) = [
        w
        for w in one(measured(samples=1), config, evaluators=[score]).warnings
        if w.kind == "check_inconclusive"
    ]
    assert "inputs_needed" not in judged.data


def test_no_failing_quality_check_whose_own_interval_includes_zero():
    edge = check(-0.2, 0.001, ci95=(-0.35, 0.01))
    decision = one(measured(), evaluators=[edge])
    assert decision.verdict is PromptVerdict.WARN and decision.evaluators[0].gate is PromptVerdict.WARN
    (said,) = [w for w in decision.warnings if w.kind == "check_decrease"]
    assert said.data["held"] is True and "includes zero, so the gate does not fail" in words(said)
    clear = one(measured(), evaluators=[check(-0.2, 0.001, ci95=(-0.35, -0.05))])
    assert clear.verdict is PromptVerdict.FAIL


def test_a_p_value_below_alpha_beside_an_interval_with_zero_says_why_they_differ():
    edge = replace(moved(0.05, 0.06, 0.3), p_value=0.03, ci95=(-0.004, 0.03))  # within the margin: no gate
    decision = one(measured(refusal=edge))
    (said,) = [n for n in decision.stats.notes if n.kind == "interval_differs"]
    assert said.data["changes"] == (("refusal", pytest.approx(0.01), 0.03, -0.004, 0.03),)
    assert "p is below 0.05 while the interval includes zero" in words(said)
    assert decision.warnings == ()  # a note beside the numbers, not a warning: the verdict stays a pass
    assert not [n for n in one(measured()).stats.notes if n.kind == "interval_differs"]


def test_a_tool_fault_is_gated_like_an_outcome_and_joins_the_holm_family():
    """A prompt with tools: its tool faults' rates are gated by `gates.tool_*` (a 2 pp margin by default)."""
    stats_ = measured()
    rates = {**stats_.rates, "tool_missing": moved(0.0, 0.5, 0.0001), "tool_unknown": STILL}
    decision = one(replace(stats_, rates=rates))
    assert decision.verdict is PromptVerdict.FAIL
    missing = decision.stats.rates["tool_missing"]
    assert missing.gate is PromptVerdict.FAIL and missing.max_increase == 0.02
    assert missing.p_adjusted == pytest.approx(0.0001 * 5)  # Holm over 5 gated tests: 3 outcomes, 2 faults
    assert decision.stats.rates["tool_unknown"].gate is PromptVerdict.PASS
    assert [w.subject for w in decision.warnings if w.kind == "rate_increase"] == ["tool_missing"]


def test_an_added_prompt_with_tools_is_held_to_their_ceilings():
    row = RateRow(None, 0.3, head_ci95=(0.2, 0.4), head_n=6000)
    given = added(0.0, (0.0, 0.01))
    decision = one(replace(given, rates={**given.rates, "tool_missing": row}), change="added")
    assert decision.verdict is PromptVerdict.FAIL
    assert decision.stats.rates["tool_missing"].gate is PromptVerdict.FAIL
    assert decision.stats.rates["tool_missing"].max_rate == 0.05
