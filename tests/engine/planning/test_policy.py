"""The models a review may run on: exactly those the base names (`engine/planning/policy.py`)."""

from __future__ import annotations

import pytest

from promptreview.engine.planning.policy import allowed_models, check_migration, check_models
from promptreview.errors import UsageError
from promptreview.providers import parse_model_spec
from promptreview.sources.config import parse_config

ENTRY = "prompts:\n  - files: 'p/*.txt'\n    suite: s.jsonl\n"
CI = {"GITHUB_ACTIONS": "true"}


def test_the_built_in_default_model_is_named_by_no_one():
    config = parse_config("version: 1\n" + ENTRY)
    assert config.model == "sim:triage-v1"  # what such a config runs on...
    assert allowed_models(config) == set()  # ...is not a model the base named


def test_the_base_names_its_models_its_entries_and_its_prompt_files():
    config = parse_config(
        "version: 1\nmodel: openai:gpt-4o-mini-2024-07-18\nmodels: [sim:triage-v2]\n"
        + ENTRY
        + "    model: anthropic:claude-sonnet-4-5-20250929\n"
    )
    assert allowed_models(config, ["ollama:llama3"]) == {
        "openai:gpt-4o-mini-2024-07-18",
        "sim:triage-v2",
        "anthropic:claude-sonnet-4-5-20250929",
        "ollama:llama3",
    }


def test_a_models_map_stand_in_is_named_by_the_base():
    config = parse_config("version: 1\nmodels_map: {'mistral/mistral-large-2411': 'sim:triage-v2'}\n" + ENTRY)
    assert allowed_models(config) == {"sim:triage-v2"}


def test_in_ci_no_side_runs_on_a_sim_the_base_does_not_name():
    config = parse_config("version: 1\n" + ENTRY)
    sim = parse_model_spec("sim:triage-v1")
    check_models("p/a.txt", sim, sim, config, {})  # locally: both sides on the default, no migration
    with pytest.raises(UsageError, match="offline simulator"):
        check_models("p/a.txt", sim, sim, config, CI)
    named = parse_config("version: 1\nmodel: sim:triage-v1\n" + ENTRY)
    check_models("p/a.txt", sim, sim, named, CI)


def test_a_migration_candidate_must_be_a_model_the_config_or_the_prompts_name():
    config = parse_config("version: 1\nmodel: sim:a-v1\nmodels: [sim:b-v1]\nprompts:\n  - files: p/*.txt\n")
    check_migration(parse_model_spec("sim:b-v1"), config, [])
    check_migration(parse_model_spec("sim:c-v1"), config, ["sim:c-v1"])  # a prompt file names it
    with pytest.raises(UsageError, match=r"--to sim:d-v1: a model the config does not allow \(allowed: "):
        check_migration(parse_model_spec("sim:d-v1"), config, ["sim:c-v1"])
