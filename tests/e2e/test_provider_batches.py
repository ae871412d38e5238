"""`promptreview check --batch` against a local server that speaks OpenAI's Batch API: the review's calls go
out as one provider batch, come back into the cache, and the report is the one the synchronous path gives."""

from __future__ import annotations

import json

import pytest

from tests.batch_servers import LineFault, OpenAIBatchServer
from tests.e2e.test_openai import OPENAI_MODEL, openai_answer
from tests.e2e_helpers import LOOSE, make_triage_repo, prompt_yml
from tests.reports import assert_valid_report
from tests.servers import Reply, openai_chat_completion

pytestmark = pytest.mark.e2e  # runs whole reviews; `pytest -m "not e2e"` skips them

INPUTS = 12  # 4 per stratum x 3 strata
CALLS = 2 * INPUTS * 2  # two sides, two samples


@pytest.fixture
def repo(git_repo):
    make_triage_repo(
        git_repo,
        model=f"openai:{OPENAI_MODEL}",
        per_stratum=4,
        samples=2,
        extra=f"prices:\n  openai:{OPENAI_MODEL}: {{input: 1.0, output: 2.0}}\n",
    )
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("loosen the format instruction")
    return git_repo


def review(run_cli, repo, server, *extra, env=None, code=0):
    out = repo.root / f"report-{len(list(repo.root.glob('report-*.json')))}.json"
    environment = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test", **(env or {})}
    result = run_cli(
        ["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "--output", str(out), *extra],
        repo.root,
        env=environment,
    )
    assert "Traceback" not in result.err, result.err
    assert result.code == code, result.err
    if code:
        return result
    report = json.loads(out.read_text())
    assert_valid_report(report)
    return report


def synchronous(request):
    return Reply(200, openai_chat_completion(openai_answer(request.json), model=OPENAI_MODEL))


def test_check_batch_sends_one_batch_and_reports_what_the_synchronous_path_does(repo, run_cli):
    with OpenAIBatchServer(openai_answer, validate=True) as server:
        server.http.route("POST", "/v1/chat/completions", synchronous)
        batched = review(run_cli, repo, server, "--batch")
        assert len(server.batch_posts) == 1 and len(server.lines_seen) == CALLS
        assert not server.http.requests_to("/v1/chat/completions")
        again = review(run_cli, repo, server, "--batch")  # every answer is in the cache now
        assert len(server.batch_posts) == 1
        single = review(
            run_cli, repo, server, "--no-cache"
        )  # the config's auto: a terminal run is synchronous
        assert len(server.http.requests_to("/v1/chat/completions")) == CALLS
    (prompt,) = batched["prompts"]
    for key in ("verdict", "rates", "flip_rate", "strata"):
        assert prompt[key] == single["prompts"][0][key] == again["prompts"][0][key], key
    assert any("provider batch" in n for n in batched["notes"]), batched["notes"]
    # priced at the batch rate: half the synchronous price, and so is the cached re-run (the cache keeps `batched`)
    assert again["prompts"][0]["calls"]["cost_usd"] == prompt["calls"]["cost_usd"]
    assert prompt["calls"]["cost_usd"]["base"] == pytest.approx(
        single["prompts"][0]["calls"]["cost_usd"]["base"] / 2
    )


def test_no_batch_and_config_off_stay_synchronous_on_a_scheduled_run(repo, run_cli):
    with OpenAIBatchServer(openai_answer) as server:
        server.http.route("POST", "/v1/chat/completions", synchronous)
        review(run_cli, repo, server, "--no-batch", env={"GITHUB_EVENT_NAME": "schedule"})
        assert not server.batch_posts


def test_a_rejected_line_for_the_head_fails_the_change_as_synchronously(repo, run_cli):
    def answer(body: dict):
        if "clean, parseable JSON" in body["messages"][0]["content"]:  # the head's prompt only
            return LineFault(400, "invalid_value", "Invalid 'messages[0].content': not allowed.")
        return openai_answer(body)

    with OpenAIBatchServer(answer) as server:
        result = review(run_cli, repo, server, "--batch", code=1)  # the change fails: not an outage
    assert "not allowed" in result.err


def test_an_unknown_id_in_the_results_is_an_outage(repo, run_cli):
    with OpenAIBatchServer(openai_answer, extra_ids=["0" * 64]) as server:
        result = review(run_cli, repo, server, "--batch", code=3)
    assert "not sent" in result.err and "none of its results are used" in result.err


def test_ctrl_c_leaves_the_batch_running_and_the_next_run_collects_it(repo, run_cli, monkeypatch):
    from promptreview.providers import retry

    async def interrupted(seconds: float) -> None:  # Ctrl-C while it waits between two polls
        raise KeyboardInterrupt

    with OpenAIBatchServer(openai_answer, polls=2) as server:
        with monkeypatch.context() as patch:
            patch.setattr(retry, "wait", interrupted)
            result = review(run_cli, repo, server, "--batch", code=130)
        (batch_id,) = server.batches
        assert f"provider batches {batch_id} keep running" in result.err
        assert "run the same command again" in result.err and "Traceback" not in result.err
        report = review(run_cli, repo, server, "--batch")
        assert len(server.batch_posts) == 1 and len(server.uploads) == 1  # collected, not sent again
        with monkeypatch.context() as patch:
            patch.setattr(retry, "wait", interrupted)
            result = review(run_cli, repo, server, "--batch", "--no-cache", code=130)
        assert "without the cache nothing recorded them, so a re-run sends their calls again" in result.err
    assert report["prompts"][0]["calls"]["total"] == CALLS


def test_sequential_submits_one_batch_per_round(repo, run_cli):
    from promptreview.engine.sequential import batch_size

    with OpenAIBatchServer(openai_answer) as server:
        report = review(run_cli, repo, server, "--batch", "--sequential")
        sizes = [len(server.inputs(b)) for b in server.batches]
        # each round waits for its batch's answers before the next round's batch is made (it decides to stop or
        # go on from them): creates and result reads alternate
        steps = [
            "create" if r.method == "POST" else "read"
            for r in server.http.requests
            if (r.method, r.path) == ("POST", "/v1/batches") or r.path.endswith("/content")
        ]
        creates = [i for i, step in enumerate(steps) if step == "create"]
        assert all("read" in steps[a:b] for a, b in zip(creates, creates[1:], strict=False))
    info = report["prompts"][0]["sequential"]
    assert info["reason"] == "completed" and info["after_inputs"] == INPUTS
    size = batch_size(INPUTS)  # inputs per round; 4 calls an input (two sides, two samples)
    rounds = [min(size, INPUTS - start) for start in range(0, INPUTS, size)]
    assert len(rounds) > 1 and sizes == [4 * n for n in rounds]  # one batch per round
    said = [n for n in report["notes"] if "provider batch" in n]
    assert said == [
        f"{CALLS} calls to openai answered through {len(rounds)} provider batches (priced at the batch rate)"
    ]


def test_plan_prices_a_batching_run_at_the_batch_rate(repo, run_cli):
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-test"}
    args = ["check", "--base", "HEAD~1", "--head", "HEAD", "--plan", "--format", "json"]
    batched = run_cli([*args, "--batch"], repo.root, env=env)
    single = run_cli(args, repo.root, env=env)
    assert batched.code == single.code == 0, batched.err
    plan, plan_single = batched.json()["plan"], single.json()["plan"]
    assert plan["batch_rate"] is True and plan_single["batch_rate"] is False
    # a batch line is one sample (no `n`): the synchronous path's fewer requests do not apply
    assert plan_single["requests"] < CALLS and plan["requests"] == CALLS
    assert plan["cost_usd_max"] == pytest.approx(plan_single["cost_usd_max"] / 2)
    text = run_cli([*args[:-2], "--batch"], repo.root, env=env)
    assert "at the batch rate" in text.out and "as few as" not in text.out


def test_auto_decides_on_the_whole_reviews_calls_as_its_plan_does_also_when_sequential(
    repo, run_cli, monkeypatch
):
    """A scheduled run at the threshold: `--plan` prices it at the batch rate, so the run batches, even when
    `--sequential` runs it in rounds each below the threshold (main weighed each round alone: no batch, the
    full price the plan did not show)."""
    from promptreview.engine.planning import batch_mode
    from promptreview.engine.sequential import batch_size

    monkeypatch.setattr(batch_mode, "AUTO_THRESHOLD", CALLS)
    scheduled = {"GITHUB_EVENT_NAME": "schedule"}
    with OpenAIBatchServer(openai_answer) as server:
        server.http.route("POST", "/v1/chat/completions", synchronous)
        plan = review(run_cli, repo, server, "--plan", env=scheduled)["plan"]
        assert plan["batch_rate"] is True and plan["uncached_calls"] == CALLS
        review(run_cli, repo, server, "--sequential", "--no-cache", env=scheduled)
        rounds = -(-INPUTS // batch_size(INPUTS))
        assert len(server.batch_posts) == rounds > 1
        assert not server.http.requests_to("/v1/chat/completions")


def test_while_it_waits_the_run_says_its_batch_ids_and_how_to_resume(repo, run_cli):
    """Said once, on stderr, terminal or CI log alike: a batch may take hours and the bar counts calls only."""
    env = lambda server: {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test"}  # noqa: E731
    args = ["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "--batch"]
    with OpenAIBatchServer(openai_answer, polls=3) as server:
        result = run_cli(args, repo.root, env=env(server))
        (batch_id,) = server.batches
        assert result.code == 0, result.err
        said = [line for line in result.err.splitlines() if "waiting for provider batches" in line]
        assert said == [
            f"promptreview: waiting for provider batches {batch_id} (a batch may take up to 24 hours); Ctrl-C "
            "leaves them running at the provider, and the same command run again (here, or where this cache is "
            "restored) collects them"
        ]
        result = run_cli([*args, "--no-cache"], repo.root, env=env(server))
        assert result.code == 0, result.err
        assert "but without the cache a re-run sends their calls again" in result.err


@pytest.mark.parametrize(
    ("model", "env"),
    [
        (f"openai:{OPENAI_MODEL}", {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-test"}),
        (
            "anthropic:claude-sonnet-4-5-20250929",
            {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9", "ANTHROPIC_API_KEY": "sk-ant-test"},
        ),
    ],
)
def test_plan_prices_each_side_at_the_tables_batch_rate(git_repo, run_cli, model, env):
    """The plan's numbers, side by side, are the price table's own times its batch rate (no config price)."""
    from promptreview.providers.pricing import BATCH_RATES, PRICE_TABLE

    make_triage_repo(git_repo, model=model, per_stratum=4, samples=2)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("loosen the format instruction")
    args = ["check", "--base", "HEAD~1", "--head", "HEAD", "--plan", "--format", "json"]
    plans = {}
    for flag in ("--batch", "--no-batch"):
        result = run_cli([*args, flag], git_repo.root, env=env)
        assert result.code == 0, result.err
        plans[flag] = result.json()["plan"]
    entry_input, _cached, entry_output = PRICE_TABLE[model]
    rate = BATCH_RATES[model.partition(":")[0]]
    assert rate == 0.5
    total = 0.0
    for name, side in plans["--batch"]["prompts"][0]["sides"].items():
        full = (side["prompt_tokens"] * entry_input + side["max_completion_tokens"] * entry_output) / 1e6
        assert side["cost_usd_max"] == pytest.approx(full * rate, rel=1e-12), name
        assert plans["--no-batch"]["prompts"][0]["sides"][name]["cost_usd_max"] == pytest.approx(
            full, rel=1e-12
        )
        total += full * rate
    assert plans["--batch"]["cost_usd_max"] == pytest.approx(total, rel=1e-12)
    assert plans["--batch"]["batch_rate"] is True and plans["--no-batch"]["batch_rate"] is False
