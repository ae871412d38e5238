"""Sequential stopping: the e-processes, the stopping rule's decisions on seeded data, and a whole review that
stops early through the CLI (sim model, a real temp repository)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from promptreview.engine.sequential import batch_size, input_order
from promptreview.sources.suites import SuiteRow
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


def test_input_order_is_seeded_and_interleaves_strata_in_proportion():
    rows = tuple(SuiteRow(f"e{i}", {}, "email") for i in range(60)) + tuple(
        SuiteRow(f"p{i}", {}, "phone") for i in range(30)
    )
    order = input_order(rows, 5)
    assert sorted(r.input_id for r in order) == sorted(r.input_id for r in rows)
    assert [r.input_id for r in order] == [r.input_id for r in input_order(rows, 5)]
    assert [r.input_id for r in order] != [r.input_id for r in input_order(rows, 6)]
    assert batch_size(len(rows)) == 10 and batch_size(3000) == 300
    for prefix in (3, 30, 60):  # every prefix is a stratified sample: 2 email tickets for each phone ticket
        first = order[:prefix]
        assert sum(r.stratum == "email" for r in first) == 2 * sum(r.stratum == "phone" for r in first)


SCHEMA = {
    "type": "object",
    "properties": {"category": {"enum": ["billing", "technical", "other"]}, "summary": {"type": "string"}},
    "required": ["category", "summary"],
}


def _prompt(rate: float) -> str:
    return (
        f'model: "sim:triage-v1?parse_failure={rate}"\n'
        "messages:\n  - role: system\n    content: Classify the ticket as JSON.\n"
        "  - role: user\n    content: '{{ticket}}'\n"
    )


@pytest.fixture
def seq_repo(git_repo):
    rows = [
        {"id": f"t{i}", "channel": ("email", "chat", "phone")[i % 3], "ticket": f"ticket {i}"}
        for i in range(300)
    ]
    git_repo.write("inputs.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    git_repo.write("schema.json", json.dumps(SCHEMA))
    git_repo.write("base.prompt.yml", _prompt(0.02))
    git_repo.write("head.prompt.yml", _prompt(0.27))
    git_repo.write(
        "promptreview.yml",
        "version: 1\nmodel: sim:triage-v1\nsamples: 3\nprompts:\n  - files: '*.prompt.yml'\n"
        "    suite: inputs.jsonl\n    schema: schema.json\n    strata: [channel]\n"
        "    sample: {per_stratum: 100, seed: 3}\n",
    )
    return git_repo


@pytest.mark.e2e
def test_a_clear_regression_stops_early_and_the_report_says_so(seq_repo, run_cli):
    result = run_cli(
        ["compare", "base.prompt.yml", "head.prompt.yml", "--sequential", "--format", "json"], seq_repo.root
    )
    assert result.code == 1, result.err
    prompt = result.json()["prompts"][0]
    info = prompt["sequential"]
    assert info["stopped"] is True and info["reason"] == "regression"
    assert info["planned_inputs"] == 300 and info["after_inputs"] == prompt["n_inputs"] < 150
    assert prompt["calls"]["total"] == info["calls"] == info["after_inputs"] * 6 <= 1800 // 2
    assert sum(s["n_inputs"] for s in prompt["strata"]) == info["after_inputs"]  # strata from what ran
    assert any(n.startswith("sequential: stopped after") for n in prompt["notes"])
    assert prompt["rates"]["parse_failure"]["head"] > 0.15

    fixed = run_cli(["compare", "base.prompt.yml", "head.prompt.yml", "--format", "json"], seq_repo.root)
    assert fixed.code == 1
    assert "sequential" not in fixed.json()["prompts"][0]
    assert fixed.json()["prompts"][0]["n_inputs"] == 300


@pytest.mark.e2e
def test_the_config_turns_it_on(seq_repo, run_cli):
    text = (seq_repo.root / "promptreview.yml").read_text()
    seq_repo.write("promptreview.yml", text.replace("samples: 3\n", "samples: 3\nsequential: true\n"))
    result = run_cli(["compare", "base.prompt.yml", "head.prompt.yml", "--format", "json"], seq_repo.root)
    assert result.json()["prompts"][0]["sequential"]["reason"] == "regression"


def test_sequential_must_be_a_boolean(seq_repo, run_cli):
    text = (seq_repo.root / "promptreview.yml").read_text()
    seq_repo.write("promptreview.yml", text.replace("samples: 3\n", "samples: 3\nsequential: often\n"))
    result = run_cli(["compare", "base.prompt.yml", "head.prompt.yml"], seq_repo.root)
    assert result.code == 2 and "sequential" in result.err
