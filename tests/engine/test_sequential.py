"""Sequential stopping in the engine: the seeded, stratified input order and its batches, and a whole review that
stops early through the CLI (sim model, a real temp repository). The e-processes and the stopping rule:
tests/stats/test_sequential.py."""

from __future__ import annotations

import json

import pytest

from promptreview.engine.sequential import batch_size, input_order
from promptreview.sources.suites import SuiteRow
from tests.reports import assert_valid_report


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
    # the stop is the verdict: the gate that stopped it fails, and the JSON names it
    assert info["stopped_on"] == ["parse_failure"] and prompt["rates"]["parse_failure"]["gate"] == "fail"
    assert prompt["verdict"] == "fail"

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


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def _tool_prompt(model: str) -> str:
    return json.dumps(
        {
            "model": model,
            "messages": [
                {
                    "role": "system",
                    "content": "Use the get_weather tool for every question about the weather.",
                },
                {"role": "user", "content": "{{question}}"},
            ],
            "tools": [WEATHER_TOOL],
        }
    )


@pytest.fixture
def tool_repo(git_repo):
    """300 weather questions; the base prompt's calls are sound, the head's model sends arguments that are not
    JSON in 40 % of its calls (`sim`'s `tool_invalid_json`, docs/sim.md)."""
    rows = [{"id": f"q{i}", "question": f"What is the weather in city {i}?"} for i in range(300)]
    git_repo.write("questions.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    git_repo.write("base.prompt.yml", _tool_prompt("sim:tools-v1"))
    git_repo.write("head.prompt.yml", _tool_prompt("sim:tools-v1?tool_invalid_json=0.4"))
    git_repo.write(
        "promptreview.yml",
        "version: 1\nmodel: sim:tools-v1\nsamples: 2\nprompts:\n  - files: '*.prompt.yml'\n"
        "    suite: questions.jsonl\n    output: text\n    sample: {size: 300, seed: 3}\n",
    )
    return git_repo


@pytest.mark.e2e
def test_a_tool_fault_regression_stops_a_sequential_review(tool_repo, run_cli):
    """The tool faults' rates are gated rates: the run follows them batch by batch and stops on them."""
    result = run_cli(
        ["compare", "base.prompt.yml", "head.prompt.yml", "--sequential", "--format", "json"], tool_repo.root
    )
    assert result.code == 1, result.err
    assert_valid_report(result.json())
    prompt = result.json()["prompts"][0]
    info = prompt["sequential"]
    assert info["reason"] == "regression" and info["after_inputs"] < 300
    assert info["stopped_on"] == ["tool_invalid_json"] and "tool_invalid_json" in info["e_values"]
    assert prompt["rates"]["tool_invalid_json"]["gate"] == "fail"
    assert any("stopped early on e-value" in w for w in prompt["warnings"])


@pytest.mark.e2e
def test_a_prompt_without_tools_may_stop_for_futility(tmp_path, git_repo, run_cli):
    """No rate moves, margins of 5 pp: the run stops once no gate can fail. (The tool faults' default gates
    must not count as gates nobody follows for a prompt that declares no tools.)"""
    rows = [{"id": f"t{i}", "ticket": f"ticket {i}"} for i in range(300)]
    git_repo.write("inputs.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    text = "messages:\n  - role: system\n    content: Answer the ticket.\n  - role: user\n    content: '{{ticket}}'\n"
    git_repo.write("base.prompt.yml", text)
    git_repo.write("head.prompt.yml", text.replace("the ticket.", "the ticket, please."))
    git_repo.write(
        "promptreview.yml",
        "version: 1\nmodel: sim:triage-v1\nsamples: 3\ngates:\n  refusal: {max_increase: 0.05}\n"
        "prompts:\n  - files: '*.prompt.yml'\n    suite: inputs.jsonl\n    output: text\n",
    )
    result = run_cli(
        ["compare", "base.prompt.yml", "head.prompt.yml", "--sequential", "--format", "json"], git_repo.root
    )
    assert result.code == 0, result.err
    info = result.json()["prompts"][0]["sequential"]
    assert info["reason"] == "futility" and info["after_inputs"] < 300


@pytest.mark.e2e
def test_the_plan_counts_the_tool_gates_in_the_family(tool_repo, run_cli):
    """`--plan`'s detectable increases assume the verdict's nominal Holm family, the tool faults' four gates
    included (3 outcome gates + 4), and each tool gate gets a detectable increase of its own."""
    from promptreview import stats
    from promptreview.engine.planning.forecast import ASSUMED_BASE_RATE

    result = run_cli(
        ["compare", "base.prompt.yml", "head.prompt.yml", "--plan", "--format", "json"], tool_repo.root
    )
    assert result.code == 0, result.err
    detectable = result.json()["plan"]["prompts"][0]["min_detectable_increase"]
    assert sorted(detectable) == sorted(
        ["refusal", "tool_missing", "tool_unknown", "tool_invalid_json", "tool_invalid_arguments"]
    )
    seven = stats.min_detectable_increase(300, 2, ASSUMED_BASE_RATE, alpha=0.05, max_increase=0.02, n_tests=7)
    assert detectable["refusal"] == detectable["tool_missing"] == pytest.approx(seven)
