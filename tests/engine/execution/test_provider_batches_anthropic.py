"""The provider-batches driver through Anthropic's Message Batches (tests/anthropic_batch_server.py): answers into
the cache, resume, errored, canceled and expired lines, 5xx and timeouts while polling, a foreign id refused.
Every payload the server sends or reads is checked against the SDK's own types (`fake.problems`)."""

from __future__ import annotations

import json

import pytest

from promptreview.engine.execution import provider_batches as driver
from promptreview.engine.execution.cache import ResponseCache
from promptreview.engine.execution.runner import RunSettings, run_requests
from promptreview.errors import BatchesRunning, ProviderError, RejectedRequest
from promptreview.providers import anthropic
from promptreview.providers.anthropic_batches import AnthropicBatches
from promptreview.providers.provider_batches import BatchLimits
from promptreview.providers.retry import RetryPolicy
from promptreview.records import CompletionRequest, Message, ModelSpec
from promptreview.report import notes as note_words
from tests.anthropic_batch_server import AnthropicBatchServer
from tests.servers import Reply, anthropic_error

MODEL = ModelSpec("anthropic", "claude-sonnet-4-5-20250929")
KEY = "sk-ant-api03-test-SECRETSECRET"


def requests(n: int, model: ModelSpec = MODEL) -> list[CompletionRequest]:
    return [
        CompletionRequest(
            model,
            (Message("system", "Classify."), Message("user", f"ticket {i}")),
            params=(("temperature", 0.0),),
        )
        for i in range(n)
    ]


class Waits:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def settings(waits: Waits, timeout: float = 120.0) -> RunSettings:
    policy = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=10.0, jitter=0.0, sleep=waits)
    return RunSettings(concurrency=4, retry=policy, batch="on", timeout=timeout)


def providers(fake: AnthropicBatchServer) -> dict:
    return {"anthropic": anthropic.create({"ANTHROPIC_BASE_URL": fake.url, "ANTHROPIC_API_KEY": KEY})}


def label_of(params: dict) -> str:
    return json.dumps({"label": params["messages"][0]["content"]})


def ticket(params: dict) -> int:
    return int(params["messages"][0]["content"].split()[1])


def labels(out) -> list[str]:
    return [json.loads(c.response.text)["label"] for c in out]


def test_answers_come_back_into_the_cache_from_one_batch(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    progress: list[tuple[int, int]] = []
    reqs = requests(5)
    with AnthropicBatchServer(label_of, polls_before_end=1) as fake:
        out = run_requests(
            reqs, providers(fake), cache, settings(Waits()), progress=lambda d, t: progress.append((d, t))
        )
        assert fake.submitted() == [[r.cache_key() for r in reqs]]
        assert fake.server.requests_to("/v1/messages") == []  # nothing went the synchronous way
        (batch_id,) = fake.batches
        sent = fake.requests[0].json["requests"]
        provider = providers(fake)["anthropic"]
        assert [r["params"] for r in sent] == [provider.build_body(r) for r in reqs]
        assert fake.problems == []
    assert labels(out) == [f"ticket {i}" for i in range(5)]
    assert all(c.response.batched and not c.cached and c.response.served_model == MODEL.model for c in out)
    assert progress[-1] == (5, 5)
    assert cache.open_batches("anthropic", fake.url) == []
    assert len(cache.lookup(reqs)) == 5
    cache.close()


def test_a_second_run_polls_the_batch_the_first_left_running(tmp_path):
    path = tmp_path / "c.sqlite"
    with AnthropicBatchServer(label_of, polls_before_end=2) as fake:

        async def interrupt(seconds: float) -> None:
            raise KeyboardInterrupt

        first = ResponseCache(path)
        with pytest.raises(BatchesRunning) as stopped:
            policy = RetryPolicy(max_attempts=3, base_delay=1.0, jitter=0.0, sleep=interrupt)
            run_requests(requests(3), providers(fake), first, RunSettings(retry=policy, batch="on"))
        first.close()
        assert stopped.value.batch_ids == tuple(fake.batches)

        second = ResponseCache(path)
        out = run_requests(requests(3), providers(fake), second, settings(Waits()))
        assert len(fake.submitted()) == 1  # polled, not sent again
        assert second.open_batches("anthropic", fake.url) == []
        second.close()
        assert fake.problems == []
    assert labels(out) == ["ticket 0", "ticket 1", "ticket 2"]


def test_errored_lines_are_retried_synchronously():
    """api_error (500) and overloaded_error (529) lines: asked again one by one, not in a follow-up batch."""

    def outcome(custom_id: str, params: dict, attempt: int) -> str | None:
        return {1: "errored:api_error", 2: "errored:overloaded_error"}.get(ticket(params))

    with AnthropicBatchServer(label_of, outcome=outcome) as fake:
        out = run_requests(requests(4), providers(fake), None, settings(Waits()))
        assert len(fake.submitted()) == 1
        synchronous = fake.server.requests_to("/v1/messages")
        assert sorted(ticket(r.json) for r in synchronous) == [1, 2]
        assert fake.problems == []
    assert labels(out) == [f"ticket {i}" for i in range(4)]
    assert [c.response.batched for c in out] == [True, False, False, True]


def test_an_invalid_request_line_is_the_rejected_request_path(tmp_path):
    def outcome(custom_id: str, params: dict, attempt: int) -> str | None:
        return "errored:invalid_request_error" if ticket(params) == 2 else None

    cache = ResponseCache(tmp_path / "c.sqlite")
    reqs = requests(4)
    with AnthropicBatchServer(label_of, outcome=outcome) as fake:
        with pytest.raises(RejectedRequest) as rejected:
            run_requests(reqs, providers(fake), cache, settings(Waits()))
        assert fake.server.requests_to("/v1/messages") == []
    assert rejected.value.status == 400 and rejected.value.request == reqs[2]
    assert "invalid_request_error" in rejected.value.reason
    assert len(cache.lookup(reqs)) == 3  # the answers it had are kept
    cache.close()


@pytest.mark.parametrize("kind", ["expired", "canceled"])
def test_expired_or_canceled_lines_go_out_again_in_a_new_batch(kind):
    """A batch whose window passed (or that was cancelled) with requests unanswered: only those are sent again,
    in a second batch."""
    reqs = requests(6)
    ends = {"expire_batches": (0,)} if kind == "expired" else {"cancel_batches": (0,)}
    with AnthropicBatchServer(label_of, answered_before_end=2, **ends) as fake:  # type: ignore[arg-type]
        out = run_requests(reqs, providers(fake), None, settings(Waits()))
        first, second = fake.submitted()
        assert first == [r.cache_key() for r in reqs]
        assert sorted(second) == sorted(r.cache_key() for r in reqs[2:])  # in the order the results came
        assert fake.server.requests_to("/v1/messages") == []
        assert fake.problems == []
    assert labels(out) == [f"ticket {i}" for i in range(6)] and all(c.response.batched for c in out)


def test_lines_with_no_result_at_all_are_sent_again():
    def outcome(custom_id: str, params: dict, attempt: int) -> str | None:
        return "missing" if ticket(params) == 0 else None

    with AnthropicBatchServer(label_of, outcome=outcome, check_shapes=False) as fake:
        out = run_requests(requests(2), providers(fake), None, settings(Waits()))
        assert [ticket(r.json) for r in fake.server.requests_to("/v1/messages")] == [0]
    assert labels(out) == ["ticket 0", "ticket 1"]


def test_5xx_and_timeouts_while_polling_are_retried():
    waits = Waits()
    faults = (
        Reply(503, anthropic_error("api_error", "Internal server error")),
        Reply(drop=True),  # the connection closed without an answer
    )
    with AnthropicBatchServer(label_of, poll_faults=faults, polls_before_end=1) as fake:
        out = run_requests(requests(2), providers(fake), None, settings(waits))
        assert len(fake.submitted()) == 1
    assert labels(out) == ["ticket 0", "ticket 1"]
    # two failed polls and the retry backoff, a poll that finds it running, the polling wait, the last poll
    assert waits.seconds == [1.0, 2.0, driver.POLL_FIRST]


def test_a_poll_that_times_out_is_retried():
    waits = Waits()
    with AnthropicBatchServer(label_of, poll_faults=(Reply(200, {}, delay=2.0),)) as fake:
        out = run_requests(requests(1), providers(fake), None, settings(waits, timeout=0.3))
        assert len(fake.submitted()) == 1
    assert labels(out) == ["ticket 0"] and waits.seconds[0] == 1.0


def test_polling_that_keeps_failing_is_an_outage_and_leaves_the_batch_to_resume(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    faults = tuple(Reply(502, anthropic_error("api_error", "Bad gateway")) for _ in range(3))
    with AnthropicBatchServer(label_of, poll_faults=faults) as fake:
        with pytest.raises(ProviderError, match="polling provider batch .* failed after 3 attempts"):
            run_requests(requests(2), providers(fake), cache, settings(Waits()))
        assert len(cache.open_batches("anthropic", fake.url)) == 1
        out = run_requests(requests(2), providers(fake), cache, settings(Waits()))  # the re-run collects it
        assert len(fake.submitted()) == 1
    assert labels(out) == ["ticket 0", "ticket 1"]
    cache.close()


def test_a_result_naming_an_id_we_did_not_send_refuses_the_batch(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    reqs = requests(3)
    foreign = {"custom_id": "f" * 64, "result": {"type": "canceled"}}
    with AnthropicBatchServer(label_of, extra_lines=(foreign,)) as fake:
        with pytest.raises(ProviderError, match="a request id it was not sent.*none of its results are used"):
            run_requests(reqs, providers(fake), cache, settings(Waits()))
        assert cache.open_batches("anthropic", fake.url) == []
    assert cache.lookup(reqs) == {}  # not one answer of the untrusted batch was stored
    cache.close()


def test_split_to_the_limits(monkeypatch):
    monkeypatch.setattr(AnthropicBatches, "limits", BatchLimits(max_requests=2, max_bytes=10**9))
    with AnthropicBatchServer(label_of) as fake:
        out = run_requests(requests(5), providers(fake), None, settings(Waits()))
        assert [len(ids) for ids in fake.submitted()] == [2, 2, 1]
    assert labels(out) == [f"ticket {i}" for i in range(5)]


@pytest.mark.parametrize(
    ("error_type", "raised", "status"),
    [
        ("request_too_large", RejectedRequest, 413),
        ("authentication_error", ProviderError, 401),
        ("permission_error", ProviderError, 403),
    ],
)
def test_an_errored_line_stops_the_run_as_its_synchronous_twin_would(error_type, raised, status):
    def outcome(custom_id: str, params: dict, attempt: int) -> str | None:
        return f"errored:{error_type}" if ticket(params) == 1 else None

    with AnthropicBatchServer(label_of, outcome=outcome) as fake:
        with pytest.raises(raised) as stopped:
            run_requests(requests(3), providers(fake), None, settings(Waits()))
        assert fake.server.requests_to("/v1/messages") == []
    assert type(stopped.value) is raised
    if raised is RejectedRequest:
        assert stopped.value.status == status  # type: ignore[attr-defined]
    assert KEY not in str(stopped.value)


def test_an_error_type_we_do_not_know_is_asked_again():
    def outcome(custom_id: str, params: dict, attempt: int) -> str | None:
        return "errored:brand_new_error" if ticket(params) == 0 else None

    with AnthropicBatchServer(label_of, outcome=outcome, check_shapes=False) as fake:
        out = run_requests(requests(2), providers(fake), None, settings(Waits()))
        assert [ticket(r.json) for r in fake.server.requests_to("/v1/messages")] == [0]
    assert labels(out) == ["ticket 0", "ticket 1"]


def test_a_recorded_batch_the_server_does_not_know_is_sent_again(tmp_path):
    """A cache restored under another workspace's key names a batch this server answers 404 for: forgotten, and
    its calls go out in a new batch."""
    cache = ResponseCache(tmp_path / "c.sqlite")
    reqs = requests(2)
    with AnthropicBatchServer(label_of) as fake:
        cache.add_batch("anthropic", fake.url, "msgbatch_elsewhere", [r.cache_key() for r in reqs])
        out = run_requests(reqs, providers(fake), cache, settings(Waits()))
        assert fake.server.requests_to("/v1/messages/batches/msgbatch_elsewhere", "GET")
        assert len(fake.submitted()) == 1
    assert labels(out) == ["ticket 0", "ticket 1"]
    assert cache.open_batches("anthropic", fake.url) == []
    cache.close()


def test_a_create_that_got_no_answer_names_the_batch_it_may_have_made(tmp_path):
    """Message Batches carry no tag of ours: the batch the unanswered create made cannot be told from another's,
    so the retry makes a new one and a note names the possible duplicate (its id) to cancel."""
    reqs = requests(3)
    with AnthropicBatchServer(label_of, create_drops=1) as fake:
        provider = providers(fake)["anthropic"]
        out = run_requests(reqs, {"anthropic": provider}, None, settings(Waits()))
        first, second = fake.batches  # the dropped create made one: the review used the other
        assert fake.server.requests_to("/v1/messages/batches", "GET")
        assert fake.problems == []
    assert all(c.response is not None and c.response.batched for c in out)
    (said,) = [n for n in provider.notes if n.kind == "provider_batch_maybe_duplicate"]
    assert said.data["batches"] == first and said.data["requests"] == 3
    text = note_words.words(said)
    assert first in text and "cancel" in text
