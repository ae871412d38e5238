from pathlib import Path

import pytest

from promptreview.errors import UsageError
from promptreview.sources.config import parse_config

MINIMAL = "version: 1\nprompts:\n  - files: 'prompts/*.prompt.yml'\n    suite: suite.jsonl\n"


def error_of(text: str) -> str:
    with pytest.raises(UsageError) as info:
        parse_config(text)
    return str(info.value)


def test_minimal_config_gets_defaults():
    config = parse_config(MINIMAL)
    assert config.samples == 3
    assert config.alpha == 0.05
    assert config.gates["parse_failure"].max_increase == 0.02 and config.gates["parse_failure"].gating
    assert not config.gates["flip_rate"].gating
    assert config.prompts[0].files == ("prompts/*.prompt.yml",)


def test_full_design_example_parses():
    text = """
version: 1
model: openai:gpt-4o-mini-2024-07-18
params: {temperature: 0.7, max_tokens: 400}
samples: 3
concurrency: 8
budget: {max_calls: 5000}
prompts:
  - files: "prompts/**/*.prompt.yml"
    suite: promptreview/sample_suites/support_triage/inputs.jsonl
    schema: schemas/triage.schema.json
    strata: [channel]
    sample: {per_stratum: 25, seed: 1234}
gates:
  parse_failure: {max_increase: 0.02}
  schema_violation: {max_increase: 0.02}
  refusal: {max_increase: 0.02}
  alpha: 0.05
"""
    config = parse_config(text)
    assert config.max_calls == 5000
    assert config.prompts[0].sample.per_stratum == 25 and config.prompts[0].sample.seed == 1234
    assert config.params == {"temperature": 0.7, "max_tokens": 400}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            MINIMAL.replace("suite.jsonl", "suite.jsonl\n    sample: {per_stratum: 0}"),
            "prompts[0].sample.per_stratum: must be an integer >= 1",
        ),
        (
            MINIMAL.replace("suite.jsonl", "suite.jsonl\n    sample: {per_stratum: many}"),
            "prompts[0].sample.per_stratum: must be an integer >= 1",
        ),
        (MINIMAL + "colour: blue\n", "colour: unknown key"),
        (
            MINIMAL.replace("    suite: suite.jsonl\n", "    suite: suite.jsonl\n    sampel: {}\n"),
            "prompts[0].sampel: unknown key (did you mean 'sample'?",
        ),
        ("version: 2\nprompts: [{files: a, suite: b}]", "version: must be 1"),
        ("version: 1\nprompts: [{suite: s.jsonl}]", "prompts[0]: missing required key 'files'"),
        ("version: 1\nprompts: []", "prompts: must not be empty"),
        (MINIMAL + "gates: {alpha: 1.5}\n", "gates.alpha: must be a number > 0 and < 1"),
        (
            "version: 1\nprompts: [{files: a, suite: b, sample: {per_stratum: 2, size: 9}}]",
            "prompts[0].sample: give either per_stratum or size, not both",
        ),
        (
            "version: 1\nprompts: [{files: 3, suite: b}]",
            "prompts[0].files: must be a glob or a list of globs",
        ),
        ("version: [1\n", "is not valid YAML"),
        ("- 1\n- 2\n", "must be a mapping"),
    ],
)
def test_errors_name_the_key_path(text, message):
    assert message in error_of(text)


def test_named_gate_is_gating_and_flip_can_be_made_gating():
    config = parse_config(MINIMAL + "gates:\n  flip_rate: {max_increase: 0.1}\n  refusal: {gating: false}\n")
    assert config.gates["flip_rate"].gating and config.gates["flip_rate"].max_increase == 0.1
    assert not config.gates["refusal"].gating


def test_settings_left_out_keep_their_defaults_and_given_ones_arrive():
    from promptreview.engine.jobs import ReviewOptions
    from promptreview.engine.review import _settings
    from promptreview.providers.retry import RetryPolicy

    default = _settings(ReviewOptions(repo_root=Path("."), env={}), parse_config(MINIMAL))
    assert default.retry == RetryPolicy() and default.timeout == 120.0 and default.concurrency == 8
    text = (
        MINIMAL
        + "concurrency: 3\nretry: {max_attempts: 2, base_delay: 0, timeout: 7.5}\nbudget: {max_calls: 9}\n"
    )
    config = parse_config(text)
    assert (config.max_calls, config.allow_fenced, config.max_error_rate) == (9, False, 0.1)
    given = _settings(ReviewOptions(repo_root=Path("."), env={}), config)
    assert given.retry == RetryPolicy(max_attempts=2, base_delay=0.0) and given.timeout == 7.5
    assert given.concurrency == 3


@pytest.mark.parametrize(
    ("line", "value", "batching"),
    [("", "auto", True), ("sample_batching: auto\n", "auto", True), ("sample_batching: off\n", "off", False),
     ("sample_batching: 'off'\n", "off", False), ("sample_batching: false\n", "off", False)],
)  # fmt: skip
def test_sample_batching_is_auto_unless_turned_off(line, value, batching):
    from promptreview.engine.jobs import ReviewOptions
    from promptreview.engine.review import _settings

    config = parse_config(MINIMAL + line)
    assert config.sample_batching == value
    assert _settings(ReviewOptions(repo_root=Path("."), env={}), config).sample_batching is batching


def test_sample_batching_rejects_other_values():
    assert "sample_batching: must be one of" in error_of(MINIMAL + "sample_batching: always\n")


@pytest.mark.parametrize(
    ("line", "value"),
    [("", "auto"), ("batch: auto\n", "auto"), ("batch: on\n", "on"), ("batch: off\n", "off"),
     ("batch: 'on'\n", "on"), ("batch: true\n", "on"), ("batch: false\n", "off")],
)  # fmt: skip
def test_batch_is_auto_unless_set(line, value):
    assert parse_config(MINIMAL + line).batch == value


def test_batch_rejects_other_values():
    assert "batch: must be one of" in error_of(MINIMAL + "batch: always\n")


@pytest.mark.parametrize(
    ("config_line", "flag", "event", "mode"),
    [("", None, None, "off"), ("", None, "pull_request", "off"), ("", None, "schedule", "auto"),
     ("", None, "workflow_dispatch", "auto"), ("", "on", None, "on"), ("batch: on\n", "off", "schedule", "off"),
     ("batch: on\n", None, "pull_request", "on"), ("batch: off\n", None, "schedule", "off")],
)  # fmt: skip
def test_the_runs_batch_mode_auto_only_where_no_pull_request_waits(config_line, flag, event, mode):
    from promptreview.engine.jobs import ReviewOptions
    from promptreview.engine.review import _settings

    config = parse_config(MINIMAL + config_line)
    env = {"GITHUB_EVENT_NAME": event} if event else {}
    assert _settings(ReviewOptions(repo_root=Path("."), env=env, batch=flag), config).batch == mode


def test_a_price_may_give_its_batch_share():
    config = parse_config(MINIMAL + 'prices:\n  "openai:*": {input: 1.0, output: 2.0, batch: 0.4}\n')
    assert config.prices["openai:*"]["batch"] == 0.4
    assert "batch" in error_of(MINIMAL + 'prices:\n  "openai:*": {input: 1.0, output: 2.0, batch: 2}\n')
