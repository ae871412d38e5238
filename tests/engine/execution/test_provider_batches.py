"""The provider-batches driver against a local server that speaks OpenAI's Batch API (tests/batch_servers.py):
answers come back into the cache, resume from the cache, each fault, unknown ids refused, Ctrl-C."""

from __future__ import annotations

import asyncio
import json

import pytest

from promptreview.engine.execution import provider_batches as driver
from promptreview.engine.execution.cache import ResponseCache
from promptreview.engine.execution.runner import RunSettings, run_requests
from promptreview.engine.planning import batch_mode
from promptreview.errors import BatchesRunning, ProviderError, RejectedRequest
from promptreview.providers import openai, sim
from promptreview.providers.openai_batches import OpenAIBatches
from promptreview.providers.provider_batches import BatchLimits, batch_tag
from promptreview.providers.retry import RetryPolicy
from promptreview.records import CompletionRequest, Message, ModelSpec, ProviderResponse
from tests.batch_servers import LineFault, OpenAIBatchServer

MODEL = ModelSpec("openai", "gpt-4o-mini-2024-07-18")
SCHEMA = {
    "type": "object",
    "properties": {"label": {"type": "string"}},
    "required": ["label"],
    "additionalProperties": False,
}


def requests(n: int, model: ModelSpec = MODEL) -> list[CompletionRequest]:
    return [
        CompletionRequest(
            model,
            (Message("system", "Classify."), Message("user", f"ticket {i}")),
            params=(("temperature", 0.0),),
            response_schema=SCHEMA,
        )
        for i in range(n)
    ]


class Waits:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def settings(waits: Waits, batch: str = "on") -> RunSettings:
    policy = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=10.0, jitter=0.0, sleep=waits)
    return RunSettings(concurrency=4, retry=policy, batch=batch)  # type: ignore[arg-type]


def providers(server: OpenAIBatchServer) -> dict:
    return {"openai": openai.create({"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test"})}


def label_of(body: dict) -> str:
    return json.dumps({"label": body["messages"][1]["content"]})


def test_batch_answers_come_back_into_the_cache_with_one_batch_and_no_synchronous_call(tmp_path):
    waits = Waits()
    cache = ResponseCache(tmp_path / "c.sqlite")
    progress: list[tuple[int, int]] = []
    with OpenAIBatchServer(label_of, polls=2, validate=True) as server:
        reqs = requests(6)
        out = run_requests(
            reqs, providers(server), cache, settings(waits), progress=lambda d, t: progress.append((d, t))
        )
        assert len(server.batch_posts) == 1 and len(server.uploads) == 1
        assert not server.http.requests_to("/v1/chat/completions")
        # each line is the synchronous call's body under the request's cache key
        (batch_id,) = server.batches
        lines = server.inputs(batch_id)
        assert [line["custom_id"] for line in lines] == [r.cache_key() for r in reqs]
        assert lines[0]["body"]["response_format"]["json_schema"]["schema"] == SCHEMA
    assert [json.loads(c.response.text)["label"] for c in out] == [f"ticket {i}" for i in range(6)]
    assert all(c.response.batched and not c.cached for c in out)
    assert waits.seconds == [driver.POLL_FIRST, driver.POLL_FIRST * driver.POLL_GROWTH]  # polled with backoff
    assert progress[-1] == (6, 6) and (1, 6) in progress  # the provider's own counts while it ran
    assert cache.open_batches("openai", f"{server.url}/v1") == []  # collected: forgotten
    assert len(cache.lookup(reqs)) == 6
    cache.close()


def test_a_second_run_resumes_polling_instead_of_resubmitting(tmp_path):
    """Ctrl-C while the batch runs leaves it running and says so; the next run (another process: a new cache
    handle on the same file) polls the same batch and sends nothing again."""
    waits = Waits()
    path = tmp_path / "c.sqlite"
    with OpenAIBatchServer(label_of, polls=3) as server:

        async def interrupt(seconds: float) -> None:
            raise KeyboardInterrupt

        policy = RetryPolicy(max_attempts=3, base_delay=1.0, jitter=0.0, sleep=interrupt)
        first = ResponseCache(path)
        with pytest.raises(BatchesRunning) as stopped:
            run_requests(requests(4), providers(server), first, RunSettings(retry=policy, batch="on"))
        first.close()
        assert stopped.value.batch_ids == tuple(server.batches)
        assert len(server.batch_posts) == 1

        second = ResponseCache(path)
        out = run_requests(requests(4), providers(server), second, settings(waits))
        assert len(server.batch_posts) == 1 and len(server.uploads) == 1  # no resubmission
        assert all(c.response is not None and c.response.batched for c in out)
        assert second.open_batches("openai", f"{server.url}/v1") == []
        second.close()


def test_split_to_the_engines_limits(tmp_path, monkeypatch):
    monkeypatch.setattr(OpenAIBatches, "limits", BatchLimits(max_requests=3, max_bytes=10**9))
    with OpenAIBatchServer(label_of) as server:
        out = run_requests(requests(7), providers(server), None, settings(Waits()))
        assert [len(server.inputs(b)) for b in server.batches] == [3, 3, 1]
    assert all(c.response is not None for c in out)


def test_split_by_bytes(tmp_path, monkeypatch):
    one = len(OpenAIBatches(providers_for_size()).encode("k" * 64, requests(1)[0]))
    monkeypatch.setattr(OpenAIBatches, "limits", BatchLimits(max_requests=100, max_bytes=2 * one + 10))
    with OpenAIBatchServer(label_of) as server:
        run_requests(requests(5), providers(server), None, settings(Waits()))
        assert [len(server.inputs(b)) for b in server.batches] == [2, 2, 1]


def providers_for_size() -> openai.OpenAIProvider:
    return openai.create({"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-test"})


def test_failed_lines_are_retried_synchronously(tmp_path):
    def answer(body: dict) -> str | LineFault:
        if body["messages"][1]["content"] == "ticket 1":
            return LineFault(500, "server_error", "The server had an error")
        if body["messages"][1]["content"] == "ticket 2":
            return LineFault(429, "rate_limit_exceeded", "slow down")
        return label_of(body)

    def synchronous(request):
        from tests.servers import Reply, openai_chat_completion

        if request.path == "/v1/chat/completions":
            return Reply(200, openai_chat_completion('{"label": "sync"}'))
        return None

    with OpenAIBatchServer(answer, validate=True) as server:
        server.http.route("POST", "/v1/chat/completions", lambda r: synchronous(r))
        out = run_requests(requests(4), providers(server), None, settings(Waits()))
        assert len(server.batch_posts) == 1  # no follow-up batch: the two failed lines went one by one
        assert len(server.http.requests_to("/v1/chat/completions")) == 2
    labels = [json.loads(c.response.text)["label"] for c in out]
    assert labels == ["ticket 0", "sync", "sync", "ticket 3"]
    assert [c.response.batched for c in out] == [True, False, False, True]


def test_a_rejected_line_is_the_rejected_request_path(tmp_path):
    def answer(body: dict) -> str | LineFault:
        if body["messages"][1]["content"] == "ticket 2":
            return LineFault(400, "invalid_value", "Invalid 'temperature': decimal above maximum value.")
        return label_of(body)

    cache = ResponseCache(tmp_path / "c.sqlite")
    reqs = requests(4)
    with OpenAIBatchServer(answer) as server:
        with pytest.raises(RejectedRequest) as rejected:
            run_requests(reqs, providers(server), cache, settings(Waits()))
    assert rejected.value.status == 400 and rejected.value.request == reqs[2]
    assert "temperature" in rejected.value.reason
    assert len(cache.lookup(reqs)) == 3  # the answers it had are kept
    cache.close()


@pytest.mark.parametrize("ended", ["expired", "cancelled"])
def test_an_expired_or_cancelled_batch_is_resubmitted_for_what_is_missing(tmp_path, ended):
    with OpenAIBatchServer(label_of, end_states=[ended]) as server:
        reqs = requests(6)
        out = run_requests(reqs, providers(server), None, settings(Waits()))
        first, second = server.batches
        assert len(server.inputs(first)) == 6
        # the first half was answered before it ended: only the rest goes out again
        assert [line["custom_id"] for line in server.inputs(second)] == [r.cache_key() for r in reqs[3:]]
    assert all(c.response is not None and c.response.batched for c in out)


def test_a_batch_failed_as_a_whole_stops_the_run_with_the_providers_words(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    with OpenAIBatchServer(label_of, end_states=["failed"]) as server:
        with pytest.raises(ProviderError, match="failed as a whole.*token_limit_exceeded"):
            run_requests(requests(3), providers(server), cache, settings(Waits()))
        assert cache.open_batches("openai", f"{server.url}/v1") == []  # a re-run submits again
    cache.close()


def test_5xx_and_timeouts_while_polling_are_retried(tmp_path):
    waits = Waits()
    with OpenAIBatchServer(label_of, polls=1) as server:
        providers_ = providers(server)
        # the upload and the batch are answered by the state; the first two polls fail
        original = server._poll
        failures = [503, 0]

        def flaky(batch_id: str):
            from tests.servers import Reply, openai_error

            if failures:
                status = failures.pop(0)
                if status == 0:  # the connection dropped without an answer
                    return Reply(drop=True)
                return Reply(status, openai_error("The server is overloaded", "server_error"))
            return original(batch_id)

        server._poll = flaky  # type: ignore[method-assign]
        out = run_requests(requests(2), providers_, None, settings(waits))
        assert len(server.batch_posts) == 1
    assert all(c.response is not None for c in out)
    assert waits.seconds == [1.0, 2.0, driver.POLL_FIRST]  # the retry backoff, then the polling


def test_polling_that_keeps_failing_is_an_outage_and_leaves_the_batch_to_resume(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    with OpenAIBatchServer(label_of) as server:
        from tests.servers import Reply, openai_error

        server._poll = lambda batch_id: Reply(502, openai_error("Bad gateway", "server_error"))  # type: ignore[method-assign]
        with pytest.raises(ProviderError, match="polling provider batch .* failed after 3 attempts.*re-run"):
            run_requests(requests(2), providers(server), cache, settings(Waits()))
        assert len(cache.open_batches("openai", f"{server.url}/v1")) == 1
    cache.close()


def test_results_naming_an_id_not_sent_are_refused_whole(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    reqs = requests(3)
    with OpenAIBatchServer(label_of, extra_ids=["f" * 64]) as server:
        with pytest.raises(ProviderError, match="a request id it was not sent.*none of its results are used"):
            run_requests(reqs, providers(server), cache, settings(Waits()))
        assert cache.open_batches("openai", f"{server.url}/v1") == []
    assert cache.lookup(reqs) == {}  # not one answer of the untrusted batch was stored
    cache.close()


def test_one_batch_per_model(tmp_path):
    other = ModelSpec("openai", "gpt-4.1-mini-2025-04-14")
    with OpenAIBatchServer(label_of) as server:
        run_requests(requests(2) + requests(2, other), providers(server), None, settings(Waits()))
        assert sorted({line["body"]["model"] for line in server.inputs(b)}.pop() for b in server.batches) == [
            "gpt-4.1-mini-2025-04-14",
            "gpt-4o-mini-2024-07-18",
        ]


def test_auto_batches_only_from_the_threshold(tmp_path, monkeypatch):
    monkeypatch.setattr(batch_mode, "AUTO_THRESHOLD", 3)
    with OpenAIBatchServer(label_of) as server:
        server.http.route("POST", "/v1/chat/completions", lambda r: sync_answer())
        run_requests(requests(2), providers(server), None, settings(Waits(), "auto"))
        assert not server.batch_posts and len(server.http.requests_to("/v1/chat/completions")) == 2
        run_requests(requests(3), providers(server), None, settings(Waits(), "auto"))
        assert len(server.batch_posts) == 1


def sync_answer():
    from tests.servers import openai_chat_completion

    return openai_chat_completion('{"label": "sync"}')


def test_a_provider_without_a_batch_engine_runs_synchronously_with_a_note():
    provider = sim.create({})
    reqs = requests(3, ModelSpec("sim", "triage-v1"))
    out = run_requests(reqs, {"sim": provider}, None, settings(Waits()))
    assert all(c.response is not None and not c.response.batched for c in out)
    assert [n.kind for n in provider.notes] == ["provider_batches_unavailable"]


def test_the_run_notes_the_batches_it_used(tmp_path):
    with OpenAIBatchServer(label_of) as server:
        provs = providers(server)
        run_requests(requests(3), provs, None, settings(Waits()))
    (said,) = provs["openai"].notes
    assert said.kind == "provider_batches" and said.data == {"calls": 3, "batches": 1}


def test_the_interface_lines_are_async_iterated():
    # results() is an async generator: the driver reads it with `async for` (a stream, not a list)
    engine = OpenAIBatches(providers_for_size())
    assert asyncio.iscoroutinefunction(engine.status) and asyncio.iscoroutinefunction(engine.submit)


def test_a_cache_from_before_provider_batches_opens_and_its_answers_read(tmp_path):
    """A cache written before migration 006 (and before `batched`) gets the table, and its answers still read."""
    import sqlite3

    from promptreview.engine.execution import cache as cache_module

    path = tmp_path / "old.sqlite"
    old = ResponseCache(path)
    request = requests(1)[0]
    old.put(request, ProviderResponse('{"label": "x"}'))
    old.close()
    with sqlite3.connect(path) as db:  # as the previous version left it: no 006, no `batched` in the JSON
        db.execute("DROP TABLE provider_batches")
        db.execute("DELETE FROM _migrations WHERE name = '006_batches'")
        db.execute(
            "UPDATE completions SET response_json = replace(response_json, ', \"batched\": false', '')"
        )
        assert "batched" not in db.execute("SELECT response_json FROM completions").fetchone()[0]
    reopened = ResponseCache(path)
    assert [name for name, _ in cache_module._MIGRATIONS][-1] == "006_batches"
    assert reopened.lookup([request])[request.cache_key()] == ProviderResponse('{"label": "x"}')
    reopened.add_batch("openai", "http://x/v1", "batch_1", ["a", "b"])
    reopened.put(requests(2)[1], ProviderResponse("y", batched=True))
    assert reopened.open_batches("openai", "http://x/v1") == [("batch_1", ["a", "b"])]
    assert reopened.open_batches("openai", "http://other/v1") == []
    assert reopened.lookup([requests(2)[1]])[requests(2)[1].cache_key()].batched is True
    reopened.forget_batch("openai", "http://x/v1", "batch_1")
    assert reopened.open_batches("openai", "http://x/v1") == []
    reopened.close()


def test_a_recorded_batch_with_calls_this_run_does_not_ask_for_is_left_alone(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    with OpenAIBatchServer(label_of) as server:
        base = f"{server.url}/v1"
        cache.add_batch("openai", base, "batch_other", [requests(1)[0].cache_key(), "e" * 64])
        out = run_requests(requests(2), providers(server), cache, settings(Waits()))
        assert "batch_other" not in server.batches and len(server.batch_posts) == 1
        assert [b for b, _ in cache.open_batches("openai", base)] == [
            "batch_other"
        ]  # still there for its run
    assert all(c.response is not None for c in out)
    cache.close()


def test_a_recorded_batch_the_server_does_not_know_is_sent_again(tmp_path):
    """A cache restored where the key belongs to another account, or a batch the provider deleted: polling it
    is a 404, so its calls go out in a new batch instead of stopping every later run."""
    cache = ResponseCache(tmp_path / "c.sqlite")
    reqs = requests(3)
    with OpenAIBatchServer(label_of) as server:
        base = f"{server.url}/v1"
        cache.add_batch("openai", base, "batch_unknown", [r.cache_key() for r in reqs])
        out = run_requests(reqs, providers(server), cache, settings(Waits()))
        assert len(server.batch_posts) == 1 and len(server.http.requests_to("/v1/batches/batch_unknown")) == 1
        assert cache.open_batches("openai", base) == []
    assert all(c.response is not None and c.response.batched for c in out)
    cache.close()


def test_failed_lines_that_fail_again_synchronously_are_failed_calls_not_an_outage(tmp_path):
    """Six lines failed in the batch and fail again one by one: the provider answered the batch's other calls,
    so they are failed calls (the error rate judges them), not "the provider answered none of the first 5"."""

    def answer(body: dict) -> str | LineFault:
        number = int(body["messages"][1]["content"].split()[1])
        return LineFault(500, "server_error", "boom") if number < 6 else label_of(body)

    from tests.servers import Reply, openai_error

    with OpenAIBatchServer(answer) as server:
        server.http.route("POST", "/v1/chat/completions", Reply(500, openai_error("boom", "server_error")))
        out = run_requests(requests(8), providers(server), None, settings(Waits()))
    assert [c.error is not None for c in out] == [True] * 6 + [False] * 2


def test_a_create_that_got_no_answer_finds_its_batch_instead_of_making_a_second(tmp_path):
    """The server makes the batch and drops the connection: the retry looks for the batch by its tag
    (`metadata`, `GET /batches`) and polls it; one batch is made and billed, the file is uploaded once."""
    cache = ResponseCache(tmp_path / "c.sqlite")
    with OpenAIBatchServer(label_of, create_drops=1, validate=True) as server:
        reqs = requests(5)
        out = run_requests(reqs, providers(server), cache, settings(Waits()))
        assert len(server.batches) == 1  # main made two: the first untracked, billed all the same
        assert len(server.batch_posts) == 1 and len(server.uploads) == 1
        assert server.http.requests_to("/v1/batches", "GET")  # looked for
        (batch,) = server.batches.values()
        assert batch.metadata == {"promptreview_batch": batch_tag(r.cache_key() for r in reqs)}
        assert not server.http.requests_to("/v1/chat/completions")
    assert all(c.response is not None and c.response.batched for c in out)
    assert cache.open_batches("openai", f"{server.url}/v1") == []
    cache.close()


def test_a_create_that_got_no_answer_and_made_nothing_is_made_once_from_the_same_file(tmp_path):
    """The create fails with a 503 before the batch is made: nothing tagged is found, and the retry makes the
    batch from the file already uploaded."""
    with OpenAIBatchServer(label_of, create_errors=1, validate=True) as server:
        out = run_requests(requests(3), providers(server), None, settings(Waits()))
        assert len(server.batches) == 1 and len(server.batch_posts) == 2
        assert len(server.uploads) == 1  # main uploaded the file again for each attempt
    assert all(c.response is not None for c in out)


def test_a_submit_that_never_got_an_answer_says_a_batch_may_exist_untracked(tmp_path):
    """Every create answered 503 (the last one may have made the batch all the same, on a real server): the
    run stops, exit 3, and says what to look for at the provider."""
    reqs = requests(2)
    with OpenAIBatchServer(label_of, create_errors=10) as server:
        with pytest.raises(ProviderError) as stopped:
            run_requests(reqs, providers(server), None, settings(Waits()))
        assert len(server.uploads) == 1 and len(server.batch_posts) == 3
    message = str(stopped.value)
    assert "may have made a batch of these 2 calls that no run tracks" in message
    assert f"promptreview_batch={batch_tag(r.cache_key() for r in reqs)}" in message


def test_the_run_is_told_the_batches_it_waits_on_once_per_set(tmp_path):
    """Once before the first wait, again only when the set changes (the expired batch's rest sent anew)."""
    told: list[tuple[tuple[str, ...], bool]] = []
    waits = Waits()
    policy = RetryPolicy(max_attempts=3, base_delay=1.0, jitter=0.0, sleep=waits)
    cache = ResponseCache(tmp_path / "c.sqlite")
    with OpenAIBatchServer(label_of, polls=2, end_states=["expired"]) as server:
        run_requests(
            requests(4),
            providers(server),
            cache,
            RunSettings(retry=policy, batch="on", batches_waiting=lambda ids, kept: told.append((ids, kept))),
        )
        first, second = server.batches
    assert told == [((first,), True), ((second,), True)]
    assert len(waits.seconds) > len(told)  # polled more often than told
    cache.close()


def test_the_lines_waiting_to_be_sent_are_held_in_one_buffer_not_one_object_each(monkeypatch):
    """A 100,000-line batch's encoded lines were 100,000 objects until it was sent, and the process kept their
    freed memory (decision 83): they wait in one buffer, and the upload gets the same bytes."""

    class Line(bytes):  # counts the encoded lines still alive
        alive = 0

        def __new__(cls, data: bytes) -> Line:
            Line.alive += 1
            return super().__new__(cls, data)

        def __del__(self) -> None:
            Line.alive -= 1

    encode, submit = OpenAIBatches.encode, OpenAIBatches.submit
    alive_at_submit: list[int] = []

    def counted_submit(self, lines, total_bytes, client, *, tag=""):
        alive_at_submit.append(Line.alive)
        return submit(self, lines, total_bytes, client, tag=tag)

    monkeypatch.setattr(OpenAIBatches, "encode", lambda self, key, request: Line(encode(self, key, request)))
    monkeypatch.setattr(OpenAIBatches, "submit", counted_submit)
    reqs = requests(50)
    with OpenAIBatchServer(label_of, validate=True) as server:
        out = run_requests(reqs, providers(server), None, settings(Waits()))
        (batch_id,) = server.batches
        assert [line["custom_id"] for line in server.inputs(batch_id)] == [r.cache_key() for r in reqs]
    assert len(alive_at_submit) == 1 and alive_at_submit[0] <= 1  # (main's driver: 50, one per line)
    assert [json.loads(c.response.text)["label"] for c in out] == [f"ticket {i}" for i in range(50)]
