"""`promptreview check` against an OpenAI-compatible server that honours `n`: K samples of an input cost one
request, the report counts completions and requests apart, and every number is what one request per sample gives."""

from __future__ import annotations

import json
import threading

import pytest

from tests.e2e.test_openai import OPENAI_MODEL, openai_answer
from tests.e2e_helpers import LOOSE, make_triage_repo, prompt_yml
from tests.reports import assert_valid_report
from tests.servers import RecordedRequest, Reply, ScriptedServer, openai_chat_completion, openai_error

pytestmark = pytest.mark.e2e  # runs whole reviews; `pytest -m "not e2e"` skips them

INPUTS = 12  # 4 per stratum x 3 strata
SAMPLES = 3
COMPLETIONS = 2 * INPUTS * SAMPLES


class Server:
    """Deterministic triage answers; `n` honoured (every choice the same answer), ignored or rejected."""

    def __init__(self, mode: str = "honour") -> None:
        self.mode = mode
        self.asked: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Reply:
        body = request.json
        n = body.get("n") or 1
        with self.lock:
            self.asked.append(n)
        if self.mode == "reject" and n > 1:
            return Reply(422, openai_error("n: only 1 is supported for this model"))
        out = openai_chat_completion(openai_answer(body), model=OPENAI_MODEL, prompt_tokens=60,
                                     completion_tokens=20 * (n if self.mode == "honour" else 1))  # fmt: skip
        if self.mode == "honour":
            choice = out["choices"][0]
            out["choices"] = [{**choice, "index": i} for i in range(n)]
        return Reply(200, out)


@pytest.fixture
def repo(git_repo):
    def make(extra: str = ""):
        make_triage_repo(
            git_repo, model=f"openai:{OPENAI_MODEL}", per_stratum=4, samples=SAMPLES, extra=extra
        )
        git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
        git_repo.commit("loosen the format instruction")
        return git_repo

    return make


def check(run_cli, repo, server, *extra):
    env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test-e2e"}
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", *extra], repo.root, env=env)
    assert "Traceback" not in result.err, result.err
    return result


def review(run_cli, repo, server, *extra) -> dict:
    out = repo.root / f"report-{len(list(repo.root.glob('report-*.json')))}.json"
    result = check(run_cli, repo, server, "--format", "json", "--output", str(out), *extra)
    assert result.code == 0, result.err
    report = json.loads(out.read_text())
    assert_valid_report(report)
    return report


def test_k_samples_cost_one_request_and_the_numbers_do_not_change(repo, run_cli):
    repo = repo("prices:\n  openai:" + OPENAI_MODEL + ": {input: 1.0, output: 2.0}\n")
    handler = Server()
    with ScriptedServer(handler) as server:
        batched = review(run_cli, repo, server)
        assert handler.asked == [SAMPLES] * (2 * INPUTS)  # one request per input and side
        cached = review(run_cli, repo, server)
        assert (
            len(handler.asked) == 2 * INPUTS
        )  # every sample was cached on its own: the re-run sends nothing
        text = check(run_cli, repo, server, "--no-cache").out
        single = review(run_cli, repo, server, "--no-cache")  # the same review, one request per sample...
    (prompt,) = batched["prompts"]
    assert prompt["calls"]["total"] == COMPLETIONS and prompt["calls"]["requests"] == 2 * INPUTS
    assert (
        cached["prompts"][0]["calls"]["requests"] == 0
        and cached["prompts"][0]["calls"]["cached"] == COMPLETIONS
    )
    assert f"{COMPLETIONS} made in {2 * INPUTS} requests" in text
    # usage: 60 prompt tokens per request (paid once for its 3 choices), 20 output tokens per choice
    assert prompt["calls"]["prompt_tokens"] == 60 * 2 * INPUTS
    assert prompt["calls"]["completion_tokens"] == 20 * COMPLETIONS
    assert prompt["calls"]["cost_usd"]["base"] == pytest.approx(
        (60 * INPUTS * 1.0 + 20 * INPUTS * 3 * 2.0) / 1e6
    )
    # the cache holds each choice's share of the usage: a cached re-run reports the same tokens and cost
    for key in ("prompt_tokens", "completion_tokens", "cost_usd"):
        assert cached["prompts"][0]["calls"][key] == prompt["calls"][key], key
    for key in ("verdict", "rates", "flip_rate", "strata", "distribution_shift"):
        assert prompt[key] == single["prompts"][0][key] == cached["prompts"][0][key], key
    assert batched["verdict"] == single["verdict"] == cached["verdict"]


@pytest.mark.parametrize(("mode", "extra"), [("reject", ""), ("honour", "sample_batching: off\n")])
def test_a_server_that_rejects_n_and_the_off_switch(repo, run_cli, mode, extra):
    handler = Server(mode)
    with ScriptedServer(handler) as server:
        report = review(run_cli, repo(extra), server)
    # rejected: at most one rejected request per concurrency slot (4), then one request per sample; off: no n
    rejected = [n for n in handler.asked if n > 1]
    assert rejected == ([SAMPLES] * len(rejected)) and len(rejected) <= (4 if mode == "reject" else 0)
    assert handler.asked.count(1) == COMPLETIONS
    assert report["prompts"][0]["calls"]["requests"] == report["prompts"][0]["calls"]["total"] == COMPLETIONS


def test_the_plan_says_how_many_requests(repo, run_cli):
    repo = repo()
    with ScriptedServer(Server()) as server:
        plan = check(run_cli, repo, server, "--plan", "--format", "json").json()["plan"]
        text = check(run_cli, repo, server, "--plan").out
    assert plan["uncached_calls"] == COMPLETIONS and plan["requests"] == 2 * INPUTS
    assert f"as few as {2 * INPUTS}" in text and f"up to {COMPLETIONS}" in text


def test_a_sequential_review_sends_each_batch_with_n(repo, run_cli):
    handler = Server()
    with ScriptedServer(handler) as server:
        report = review(run_cli, repo(), server, "--sequential")
    (prompt,) = report["prompts"]
    ran = prompt["sequential"]["calls"]
    assert set(handler.asked) == {SAMPLES} and len(handler.asked) * SAMPLES == ran == prompt["calls"]["total"]
    assert prompt["calls"]["requests"] == ran // SAMPLES
