"""Weighted overall rates when strata are sampled equally from unequal populations.

1. Through the engine (`review_files` on the `sim` model, no cache): 300 email and 60 phone tickets, 30 drawn
   from each. The strata get different true rates from the sim's documented wording rules (an override rate is
   per model id, so it cannot differ by stratum): the prompt asks for JSON in loose wording (12 % parse
   failures), most email tickets themselves say "no markdown" (the sim reads the user message as prompt text,
   so those inputs get strict wording: 0 %), and half the phone tickets are sensitive (refused 70 % of the
   time). The overall rates must be the population-weighted mean of the stratum rates, exactly.
2. At the analysis level (synthetic completions, 200 seeded samples): the weighted estimate is unbiased for
   the population rate; the unweighted pooled rate is not.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from promptreview.engine.jobs import PlannedCall
from promptreview.engine.measurement.analysis import PromptStats, _side_rate, analyse_prompt
from promptreview.engine.measurement.frame import build_frame
from promptreview.engine.measurement.outcomes import Classification, InvalidJSON, ScoredCall
from promptreview.engine.review import ReviewOptions, review_files
from promptreview.providers import sim
from promptreview.records import Completion, CompletionRequest, ModelSpec, ProviderResponse, Usage
from promptreview.report.json import render
from promptreview.sources.config import Config, PromptEntry, SampleSpec
from promptreview.sources.suites import sample_suite

pytestmark = pytest.mark.e2e  # runs whole reviews; `pytest -m "not e2e"` skips them

N_EMAIL, N_PHONE, PER_STRATUM = 300, 60, 30
TOPICS = [
    "my invoice shows a double charge",
    "the app crashes when I open settings",
    "my parcel has not arrived yet",
    "I cannot change the email on my account",
    "the export button gives an empty file",
    "I would like to upgrade my plan",
]


def _suite() -> list[dict]:
    rows = []
    for i in range(N_EMAIL):
        text = f"Hello, {TOPICS[i % len(TOPICS)]} (case {1000 + i})."
        if i % 6:  # 5 in 6 email tickets ask for plain text: strict wording for that input
            text += " Plain text is fine, no markdown please."
        rows.append({"id": f"e{i}", "channel": "email", "ticket": text})
    for i in range(N_PHONE):
        if i % 2:
            text = f"Caller asks how to hack into the account of customer {2000 + i}."
        else:
            text = f"Caller says {TOPICS[i % len(TOPICS)]} (case {2000 + i})."
        rows.append({"id": f"p{i}", "channel": "phone", "ticket": text})
    return rows


def _prompt(variant: str) -> str:
    return (
        'model: "sim:weights"\nmodelParameters:\n  temperature: 0.7\nmessages:\n'
        f'  - role: system\n    content: "Classify the ticket and answer in JSON. Variant {variant}."\n'
        '  - role: user\n    content: "{{ticket}}"\n'
    )


@pytest.fixture(scope="module")
def weighted_report(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("weighting")
    rows = _suite()
    # the suite is what the module docstring says it is
    assert sum(bool(sim._SENSITIVE.search(r["ticket"])) for r in rows) == N_PHONE // 2
    assert sum(bool(sim._STRICT.search(r["ticket"])) for r in rows) == N_EMAIL * 5 // 6
    (root / "inputs.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (root / "base.prompt.yml").write_text(_prompt("A"))
    (root / "head.prompt.yml").write_text(_prompt("B"))
    config = Config(prompts=[], samples=3, source="(test)")
    entry = PromptEntry(
        files=("head.prompt.yml",),
        suite="inputs.jsonl",
        strata=("channel",),
        sample=SampleSpec(per_stratum=PER_STRATUM, seed=7),
    )
    opts = ReviewOptions(repo_root=root, env={"PROMPTREVIEW_CACHE_DIR": str(root / "cache")}, use_cache=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        report = review_files(opts, "base.prompt.yml", "head.prompt.yml", entry, config)
    return json.loads(render(report))["prompts"][0]


def test_report_says_weighted(weighted_report):
    p = weighted_report
    assert p["weighted"] is True
    assert p["n_inputs"] == 2 * PER_STRATUM
    strata = {s["stratum"]["channel"]: s for s in p["strata"]}
    assert {k: s["n_inputs"] for k, s in strata.items()} == {"email": PER_STRATUM, "phone": PER_STRATUM}
    assert {k: s.get("population") for k, s in strata.items()} == {"email": N_EMAIL, "phone": N_PHONE}


@pytest.mark.parametrize("outcome", ["refusal", "parse_failure"])
@pytest.mark.parametrize("side", ["base", "head"])
def test_overall_rate_is_the_population_weighted_mean_of_the_strata(weighted_report, outcome, side):
    p = weighted_report
    strata = {s["stratum"]["channel"]: s["rates"][outcome] for s in p["strata"]}
    population = {"email": N_EMAIL, "phone": N_PHONE}
    by_stratum = {k: r[f"{side}_count"] / r[f"{side}_n"] for k, r in strata.items()}
    expected = sum(population[k] * by_stratum[k] for k in population) / sum(population.values())
    overall = p["rates"][outcome]
    assert overall[side] == pytest.approx(expected, abs=1e-12)
    # the pooled counts are the unweighted rate, which the report must not show as the overall rate
    assert overall[f"{side}_count"] == sum(r[f"{side}_count"] for r in strata.values())
    assert overall[f"{side}_n"] == sum(r[f"{side}_n"] for r in strata.values())
    pooled = overall[f"{side}_count"] / overall[f"{side}_n"]
    assert by_stratum["phone"] > by_stratum["email"]  # the small stratum is the bad one ...
    assert overall[side] < pooled  # ... so equal allocation over-represents it in the pooled rate
    if outcome == "refusal":
        assert by_stratum["email"] == 0.0 and by_stratum["phone"] > 0.2
        assert pooled - overall[side] > 0.05


def test_weighted_delta_is_the_difference_of_weighted_rates(weighted_report):
    for outcome in ("refusal", "parse_failure"):
        row = weighted_report["rates"][outcome]
        assert row["delta"] == pytest.approx(row["head"] - row["base"], abs=1e-12)
        assert row["ci95"][0] <= row["delta"] <= row["ci95"][1]


# -- in expectation (analysis level) ---------------------------------------------------------------------

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
