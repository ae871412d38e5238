"""`promptreview check --batch` against a local server that speaks Anthropic's Message Batches (shapes checked
against the SDK's own types): one batch, the answers into the cache, the report the synchronous path gives, at
half its price; a batch whose results name an id it was not sent is an outage (exit 3), not a verdict."""

from __future__ import annotations

import json

import pytest

from tests.anthropic_batch_server import AnthropicBatchServer
from tests.e2e.test_openai import anthropic_answer
from tests.e2e_helpers import LOOSE, make_triage_repo, prompt_yml
from tests.reports import assert_valid_report

pytestmark = pytest.mark.e2e  # runs whole reviews; `pytest -m "not e2e"` skips them

MODEL = "claude-sonnet-4-5-20250929"
INPUTS = 12  # 4 per stratum x 3 strata
CALLS = 2 * INPUTS * 2  # two sides, two samples


@pytest.fixture
def repo(git_repo):
    make_triage_repo(
        git_repo,
        model=f"anthropic:{MODEL}",
        per_stratum=4,
        samples=2,
        extra=f"prices:\n  anthropic:{MODEL}: {{input: 3.0, output: 15.0}}\n",
    )
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("loosen the format instruction")
    return git_repo


def review(run_cli, repo, fake, *extra, code=0):
    out = repo.root / f"report-{len(list(repo.root.glob('report-*.json')))}.json"
    result = run_cli(
        ["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "--output", str(out), *extra],
        repo.root,
        env={"ANTHROPIC_BASE_URL": fake.url, "ANTHROPIC_API_KEY": "sk-ant-api03-test"},
    )
    assert "Traceback" not in result.err, result.err
    assert result.code == code, result.err
    if code:
        return result
    report = json.loads(out.read_text())
    assert_valid_report(report)
    return report


def test_check_batch_through_message_batches_reports_what_the_synchronous_path_does(repo, run_cli):
    with AnthropicBatchServer(anthropic_answer, polls_before_end=1) as fake:
        batched = review(run_cli, repo, fake, "--batch")
        assert [len(ids) for ids in fake.submitted()] == [CALLS]
        assert fake.server.requests_to("/v1/messages") == []
        single = review(run_cli, repo, fake, "--no-cache")  # a terminal run under `auto`: synchronous
        assert len(fake.server.requests_to("/v1/messages")) == CALLS
        assert fake.problems == []
    (prompt,) = batched["prompts"]
    for key in ("verdict", "rates", "flip_rate", "strata"):
        assert prompt[key] == single["prompts"][0][key], key
    assert prompt["calls"]["cost_usd"]["base"] == pytest.approx(
        single["prompts"][0]["calls"]["cost_usd"]["base"] / 2
    )


def test_a_result_for_an_id_not_sent_is_exit_3(repo, run_cli):
    foreign = {"custom_id": "f" * 64, "result": {"type": "expired"}}
    with AnthropicBatchServer(anthropic_answer, extra_lines=(foreign,)) as fake:
        result = review(run_cli, repo, fake, "--batch", code=3)
        assert fake.server.requests_to("/v1/messages") == []
    assert "a request id it was not sent" in result.err
