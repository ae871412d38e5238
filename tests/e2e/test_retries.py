"""A review takes its retry policy from its options: the caller's `sleep` sees every wait a whole review asks for
(the server's `retry-after`, else the jittered backoff), and the config's `retry:` settings are laid over it."""

from __future__ import annotations

import hashlib
import threading

from promptreview.engine.review import ReviewOptions, review_changes
from promptreview.providers.retry import RetryPolicy
from tests.e2e.test_openai import OPENAI_MODEL, openai_answer
from tests.e2e_helpers import LOOSE, make_triage_repo, prompt_yml
from tests.servers import Reply, ScriptedServer, openai_compatible_handler, openai_error


def _busy_then_answering(busy: int = 2):
    """Each request body: a 503 without a wait, then (busy=2) a 429 asking for 7 s, then the answer."""
    tries: dict[str, int] = {}
    lock = threading.Lock()

    def answer(body: dict) -> str | Reply:
        key = hashlib.sha256(repr(sorted(body.items())).encode()).hexdigest()
        with lock:
            tries[key] = tries.get(key, 0) + 1
            attempt = tries[key]
        if attempt == 1:
            return Reply(503, openai_error("overloaded", "server_error"))
        if attempt == 2 and busy == 2:
            return Reply(429, openai_error("slow down", "rate_limit_exceeded"), headers={"retry-after": "7"})
        return openai_answer(body)

    return answer


def _review(git_repo, url: str, policy: RetryPolicy):
    opts = ReviewOptions(
        repo_root=git_repo.root,
        env={"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": "sk-test"},
        base="HEAD~1",
        head="HEAD",
        use_cache=False,
        retry=policy,
    )
    return review_changes(opts)


def test_the_callers_sleep_sees_every_wait_of_a_whole_review(git_repo, retry_waits):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}", per_stratum=1, samples=1)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("head")
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    with ScriptedServer(openai_compatible_handler(_busy_then_answering())) as server:
        report = _review(git_repo, server.url, RetryPolicy(base_delay=0.25, jitter=0.0, sleep=sleep))
    calls = 2 * 3  # two sides, one input per stratum, one sample
    assert len(server.requests) == 3 * calls
    # after the 503: the policy's first backoff; after the 429: what the server asked for
    assert sorted(slept) == [0.25] * calls + [7.0] * calls
    assert retry_waits == []  # nothing waited through the module's default
    (prompt,) = report.prompts
    assert prompt.calls.retried == calls and prompt.calls.failed == 0


def test_a_config_with_a_retry_block_keeps_the_callers_sleep_and_backoff(git_repo):
    make_triage_repo(
        git_repo, model=f"openai:{OPENAI_MODEL}", per_stratum=1, samples=1, extra="retry: {max_attempts: 2}\n"
    )
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("head")
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    policy = RetryPolicy(max_attempts=9, base_delay=0.25, jitter=0.0, sleep=sleep)
    with ScriptedServer(openai_compatible_handler(_busy_then_answering(busy=1))) as server:
        report = _review(git_repo, server.url, policy)
    assert slept == [0.25] * 6 and len(server.requests) == 12  # one 503 a call, then its answer
    (prompt,) = report.prompts
    assert prompt.calls.retried == 6 and prompt.calls.failed == 0
