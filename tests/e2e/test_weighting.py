"""Weighted overall rates when strata are sampled equally from unequal populations.

1. Through the engine (`review_files` on the `sim` model, no cache): 300 email and 60 phone tickets, 30 drawn
   from each. The strata get different true rates from the sim's documented wording rules (an override rate is
   per model id, so it cannot differ by stratum): the prompt asks for JSON in loose wording (12 % parse
   failures), most email tickets themselves say "no markdown" (the sim reads the user message as prompt text,
   so those inputs get strict wording: 0 %), and half the phone tickets are sensitive (refused 70 % of the
   time). The overall rates must be the population-weighted mean of the stratum rates, exactly.
2. At the analysis level (synthetic completions, 200 seeded samples): the weighted estimate is unbiased for
   the population rate; the unweighted pooled rate is not (tests/engine/measurement/test_analysis.py).
"""

from __future__ import annotations

import json

import pytest

from promptreview.engine.review import ReviewOptions, review_files
from promptreview.providers import sim
from promptreview.report.json import render
from promptreview.sources.config import Config, PromptEntry, SampleSpec

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
