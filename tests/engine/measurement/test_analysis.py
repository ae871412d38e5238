"""Weighted overall rates, in expectation (synthetic completions, 200 seeded samples): when strata are sampled
equally from unequal populations, the weighted estimate is unbiased for the population rate and the unweighted
pooled rate is not; a proportional sample is not weighted. (Through a whole review: tests/e2e/test_weighting.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

from promptreview.engine.jobs import PlannedCall
from promptreview.engine.measurement.analysis import PromptStats, _side_rate, analyse_prompt
from promptreview.engine.measurement.frame import build_frame
from promptreview.engine.measurement.outcomes import Classification, InvalidJSON, ScoredCall
from promptreview.records import Completion, CompletionRequest, ModelSpec, ProviderResponse, Usage
from promptreview.sources.config import SampleSpec
from promptreview.sources.suites import sample_suite

N_EMAIL, N_PHONE, PER_STRATUM = 300, 60, 30

EMAIL_RATES = (0.02, 0.05, 0.10, 0.15, 0.18)  # per-input true rates, cycled: stratum mean 0.10


PHONE_RATES = (0.3, 0.5, 0.7)  # stratum mean 0.50


def _population() -> tuple[list[dict], dict[str, float]]:
    rows, truth = [], {}
    for i in range(N_EMAIL):
        rows.append({"id": f"e{i}", "channel": "email", "ticket": f"email {i}"})
        truth[f"e{i}"] = EMAIL_RATES[i % len(EMAIL_RATES)]
    for i in range(N_PHONE):
        rows.append({"id": f"p{i}", "channel": "phone", "ticket": f"phone {i}"})
        truth[f"p{i}"] = PHONE_RATES[i % len(PHONE_RATES)]
    return rows, truth


_REQUEST = CompletionRequest(model=ModelSpec("sim", "synthetic"), messages=())


def _scored(input_id: str, stratum: str, k: int, failed: bool) -> ScoredCall:
    text = "{oops" if failed else '{"label": "billing"}'
    completion = Completion(_REQUEST, ProviderResponse(text=text, usage=Usage(5, 3)))
    outcome = (
        Classification("parse_failure", reason=InvalidJSON("Expecting value", 1, 1))
        if failed
        else Classification("ok", output={"label": "billing"})
    )
    return ScoredCall(PlannedCall(0, "head", input_id, stratum, k, _REQUEST), completion, outcome)


def _draw(rows: list[dict], truth: dict[str, float], spec: SampleSpec, rng, k: int = 3):
    """One seeded stratified sample of the population and K synthetic completions per sampled input."""
    sample = sample_suite("population.jsonl", rows, ("channel",), spec)
    scored = [
        _scored(r.input_id, r.stratum, j, bool(rng.random() < truth[r.input_id]))
        for r in sample.rows
        for j in range(k)
    ]
    return sample, build_frame("p.prompt.yml", scored)


def _analyse(sample, frame, k: int = 3) -> PromptStats:
    """The whole analysis of a head-only frame (an added prompt: no paired tests, so it is fast)."""
    return analyse_prompt(frame, sample, k, None, seed=0)


def test_weighted_rate_is_unbiased_for_the_population_rate_and_unweighted_is_not():
    rows, truth = _population()
    true_rate = float(np.mean(list(truth.values())))  # (300 * 0.10 + 60 * 0.50) / 360
    assert true_rate == pytest.approx(1 / 6)
    rng = np.random.default_rng(20240601)
    # the first samples go through the whole analysis: what it reports is `_side_rate`, used for the rest
    # (the full analysis of 200 samples would take most of a minute)
    for rep in range(3):
        sample, frame = _draw(rows, truth, SampleSpec(per_stratum=PER_STRATUM, seed=1000 + rep), rng)
        report = _analyse(sample, frame)
        assert report.weighted is True
        row = report.rates["parse_failure"]
        assert (row.head, row.head_count, row.head_n) == _side_rate(frame, "parse_failure", sample, True)
    weighted, unweighted = [], []
    for rep in range(200):
        sample, frame = _draw(rows, truth, SampleSpec(per_stratum=PER_STRATUM, seed=rep), rng)
        assert not sample.proportional
        rate, count, n = _side_rate(frame, "parse_failure", sample, True)
        weighted.append(rate)
        unweighted.append(count / n)
    weighted, unweighted = np.array(weighted), np.array(unweighted)
    se_w = weighted.std(ddof=1) / np.sqrt(len(weighted))
    se_u = unweighted.std(ddof=1) / np.sqrt(len(unweighted))
    assert 0.001 < se_w < 0.004  # the Monte Carlo error is what the design predicts (about 0.0019)
    assert abs(weighted.mean() - true_rate) < 4 * se_w
    # the pooled rate estimates the unweighted mean of the stratum rates, (0.10 + 0.50) / 2 = 0.30
    assert unweighted.mean() == pytest.approx(0.30, abs=0.02)
    assert unweighted.mean() - true_rate > 30 * se_u


def test_a_proportional_sample_is_not_weighted():
    rows, truth = _population()
    # 72 of 360 rows, proportional: 60 email and 12 phone, the same fraction of each stratum
    spec = SampleSpec(size=72, allocation="proportional", seed=3)
    report = _analyse(*_draw(rows, truth, spec, np.random.default_rng(1)))
    assert report.weighted is False
    row = report.rates["parse_failure"]
    assert row.head == pytest.approx(row.head_count / row.head_n, abs=1e-15)
    assert {s.label: s.n_inputs for s in report.strata} == {"channel=email": 60, "channel=phone": 12}
