"""`promptreview init` in a repository as a new team has it, then the first `check`: the starter config works
with the prompt files found there, and what it says of its own sample is what `--plan` says."""

from __future__ import annotations

import json
import re

import pytest

from promptreview.sources.config import parse_config
from tests.e2e_helpers import LOOSE, STRICT, prompt_yml, suite_rows

pytestmark = pytest.mark.e2e

PLAN = ["check", "--base", "HEAD~1", "--head", "HEAD", "--plan", "--format", "json"]


def test_the_first_check_runs_on_the_files_own_model_and_inputs(git_repo, run_cli):
    """A GitHub Models file with its own model and testData: no suite to point anywhere, no model over it."""
    rows = "".join(f"  - {{channel: chat, ticket: {json.dumps(r['ticket'])}}}\n" for r in suite_rows())
    git_repo.write(
        "prompts/triage.prompt.yml", prompt_yml(STRICT, model="openai/gpt-4o") + "testData:\n" + rows
    )
    assert run_cli(["init"], git_repo.root).code == 0
    git_repo.commit("promptreview init")
    edited = prompt_yml(LOOSE, model="openai/gpt-4o") + "testData:\n" + rows
    git_repo.write("prompts/triage.prompt.yml", edited)
    git_repo.commit("edit the prompt")
    result = run_cli(PLAN, git_repo.root)
    assert result.code == 0, result.err
    prompt = result.json()["plan"]["prompts"][0]
    assert prompt["n_inputs"] == len(suite_rows())
    assert {side["model"] for side in prompt["sides"].values()} == {"github:openai/gpt-4o"}


def test_with_tools_the_detectable_change_init_writes_counts_their_gates(git_repo, run_cli):
    """A prompt file that declares tools is reviewed with its four tool faults' gates too: the figure init
    writes assumes that Holm family (3 + 4 gates), as `--plan` does."""
    from tests.e2e.test_tools import prompt as tool_prompt

    git_repo.write("prompts/weather.prompt.yml", tool_prompt("Use the get_weather tool."))
    assert run_cli(["init", "--model", "sim:tools-v1"], git_repo.root).code == 0
    config_text = (git_repo.root / "promptreview.yml").read_text("utf-8")
    assert "Holm over 7 gates" in config_text
    size = parse_config(config_text).prompts[0].sample.size
    rows = [{"question": f"What is the weather in town {i}?"} for i in range(size + 10)]
    git_repo.write("evals/inputs.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    git_repo.commit("promptreview init")
    git_repo.write("prompts/weather.prompt.yml", tool_prompt("Use the get_weather tool, please."))
    git_repo.commit("edit the prompt")
    result = run_cli(PLAN, git_repo.root)
    assert result.code == 0, result.err
    planned = result.json()["plan"]["prompts"][0]["min_detectable_increase"]
    written = re.search(r"increase of (\d+\.\d) pp with 80 % power", config_text).group(1)
    assert f"{max(planned.values()) * 100:.1f}" == written


def test_the_smallest_detectable_change_init_writes_is_what_plan_shows(git_repo, run_cli):
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT))
    assert run_cli(["init", "--model", "sim:triage-v1"], git_repo.root).code == 0
    config_text = (git_repo.root / "promptreview.yml").read_text("utf-8")
    size = parse_config(config_text).prompts[0].sample.size
    rows = [{"channel": "chat", "ticket": f"ticket number {i}: my order is late"} for i in range(size + 40)]
    git_repo.write("evals/inputs.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    git_repo.commit("promptreview init")
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("edit the prompt")
    result = run_cli(PLAN, git_repo.root)
    assert result.code == 0, result.err
    planned = result.json()["plan"]["prompts"][0]
    assert planned["n_inputs"] == size
    written = re.search(r"increase of (\d+\.\d) pp with 80 % power", config_text).group(1)
    assert f"{max(planned['min_detectable_increase'].values()) * 100:.1f}" == written
    text = run_cli(PLAN[:-2], git_repo.root)
    assert f"parse failure {written} pp" in text.out  # the terminal plan shows the same figure
