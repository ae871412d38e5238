"""Anthropic's Message Batches engine against a loopback server speaking the shapes of the SDK's own types."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from promptreview.providers.anthropic import AnthropicProvider, create
from promptreview.providers.anthropic_batches import LIMITS, AnthropicBatches
from promptreview.providers.base import FatalCallError, RetryableCallError
from promptreview.providers.provider_batches import BatchLine, BatchStatus, provider_batches
from tests.anthropic_batch_server import AnthropicBatchServer, assert_sdk_shape, sdk_shapes
from tests.servers import ScriptedServer, anthropic_error, make_request

KEY = "sk-ant-api03-test-SECRETSECRET"
MODEL = "claude-sonnet-4-5-20250929"


def engine_for(url: str, key: str | None = KEY) -> AnthropicBatches:
    env = {"ANTHROPIC_BASE_URL": url}
    if key:
        env["ANTHROPIC_API_KEY"] = key
    engine = provider_batches(create(env))
    assert isinstance(engine, AnthropicBatches)
    return engine


def request(user: str = "My invoice is wrong.", **params: Any):
    return make_request(f"anthropic:{MODEL}", user=user, params={"temperature": 0.0, **params})


def cid(i: int) -> str:
    return f"{i:064x}"  # the driver's custom ids: a request's cache key, 64 hex characters


def run(coro_fn, timeout: float = 5.0):
    async def go():
        async with httpx.AsyncClient(timeout=timeout) as client:
            return await coro_fn(client)

    return asyncio.run(go())


def submit(engine: AnthropicBatches, lines: list[bytes], timeout: float = 5.0) -> str:
    return run(lambda client: engine.submit(iter(lines), sum(map(len, lines)), client), timeout)


def status(engine: AnthropicBatches, batch_id: str, timeout: float = 5.0) -> BatchStatus:
    return run(lambda client: engine.status(batch_id, client), timeout)


def results(engine: AnthropicBatches, batch_id: str, state: BatchStatus) -> list[BatchLine]:
    async def go(client):
        return [line async for line in engine.results(batch_id, state, client)]

    return run(go)


def test_encode_is_the_synchronous_body_under_its_custom_id():
    engine = engine_for("http://127.0.0.1:1")
    line = engine.encode(cid(1), request(max_tokens=77))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    decoded = json.loads(line)
    provider = engine.provider
    assert isinstance(provider, AnthropicProvider)
    assert decoded == {"custom_id": cid(1), "params": provider.build_body(request(max_tokens=77))}
    assert_sdk_shape("Request", decoded)
    assert LIMITS.max_requests == 100_000 and LIMITS.max_bytes < 256_000_000


def test_a_provider_without_an_engine_has_none():
    from promptreview.providers.sim.provider import SimProvider

    assert provider_batches(SimProvider()) is None


def test_submit_streams_one_batch_create_body_with_the_key_and_version():
    """Lines past the 1 MB piece size, non-ASCII text: the body the server reads is `BatchCreateParams`, its
    length the one announced, every request the synchronous body."""
    with AnthropicBatchServer() as fake:
        engine = engine_for(fake.url)
        lines = [engine.encode(cid(i), request(f"ticket {i} — {'x' * 400} é")) for i in range(3000)]
        batch_id = submit(engine, lines)
    assert fake.problems == []
    sent = fake.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/messages/batches")
    assert sent.headers["x-api-key"] == KEY and sent.headers["anthropic-version"] == "2023-06-01"
    assert int(sent.headers["content-length"]) == len(sent.body) > 1 << 20
    assert "transfer-encoding" not in sent.headers
    body = sent.json
    assert [r["custom_id"] for r in body["requests"]] == [cid(i) for i in range(3000)]
    assert body["requests"][7]["params"] == json.loads(lines[7])["params"]
    assert batch_id == "msgbatch_0001test"


def test_submit_reads_the_lines_once_as_it_sends_them():
    drawn: list[int] = []

    def lines(engine: AnthropicBatches) -> Iterator[bytes]:
        for i in range(5):
            drawn.append(i)
            yield engine.encode(cid(i), request(f"ticket {i}"))

    with AnthropicBatchServer() as fake:
        engine = engine_for(fake.url)
        total = sum(len(engine.encode(cid(i), request(f"ticket {i}"))) for i in range(5))
        run(lambda client: engine.submit(lines(engine), total, client))
    assert drawn == [0, 1, 2, 3, 4] and len(fake.requests[0].json["requests"]) == 5


def test_a_single_line_batch_and_a_base_url_ending_in_v1():
    with AnthropicBatchServer() as fake:
        engine = engine_for(f"{fake.url}/v1")
        batch_id = submit(engine, [engine.encode(cid(1), request())])
        state = status(engine, batch_id)
    assert [r.path for r in fake.requests] == ["/v1/messages/batches", f"/v1/messages/batches/{batch_id}"]
    assert state.state == "ended"


def test_status_running_then_ended_with_the_providers_counts():
    with AnthropicBatchServer(polls_before_end=1) as fake:
        engine = engine_for(fake.url)
        batch_id = submit(engine, [engine.encode(cid(i), request()) for i in range(3)])
        first, second = status(engine, batch_id), status(engine, batch_id)
    assert fake.problems == []
    assert first.state == "running" and first.counts["processing"] == 3 and first.finished == 0
    assert first.handle == {"results_url": None}
    assert second.state == "ended" and second.counts["succeeded"] == 3 and second.finished == 3
    assert second.handle["results_url"] == f"{fake.url}/v1/messages/batches/{batch_id}/results"


def test_results_parse_every_kind_of_line():
    kinds = {
        cid(0): None,
        cid(1): "errored:invalid_request_error",
        cid(2): "errored:api_error",
        cid(3): "errored:overloaded_error",
        cid(4): "canceled",
        cid(5): "expired",
    }
    with AnthropicBatchServer(
        lambda params: '{"label": "refund"}', outcome=lambda c, params, attempt: kinds[c]
    ) as fake:
        engine = engine_for(fake.url)
        batch_id = submit(engine, [engine.encode(c, request()) for c in kinds])
        state = status(engine, batch_id)
        lines = {line.custom_id: line for line in results(engine, batch_id, state)}
    assert fake.problems == []
    assert state.state == "expired"  # an expired line: the rest is to be sent again
    assert state.counts == {"processing": 0, "succeeded": 1, "errored": 3, "canceled": 1, "expired": 1}
    ok = lines[cid(0)]
    assert ok.failure is None and ok.response is not None
    assert ok.response.text == '{"label": "refund"}' and ok.response.finish_reason == "stop"
    assert ok.response.served_model == MODEL and ok.response.usage.completion_tokens == 50
    rejected = lines[cid(1)]
    assert rejected.response is None and rejected.retryable is False
    assert rejected.failure is not None and rejected.failure.status == 400
    assert rejected.failure.code == "invalid_request_error"
    assert rejected.failure.server_message == f"invalid_request_error for {cid(1)}"
    for c, status_code in ((cid(2), 500), (cid(3), 529)):
        assert lines[c].retryable is True and lines[c].failure is not None
        assert lines[c].failure.status == status_code
    for c, word in ((cid(4), "canceled"), (cid(5), "expired")):
        assert lines[c].retryable is True and lines[c].failure is not None
        assert lines[c].failure.kind == "timeout" and lines[c].failure.code == word
    results_request = fake.requests[-1]
    assert results_request.headers["x-api-key"] == KEY
    assert results_request.headers["accept"] == "application/binary"


def test_a_cancelled_batch_reads_as_cancelled():
    with AnthropicBatchServer(cancel_batches=(0,), answered_before_end=1) as fake:
        engine = engine_for(fake.url)
        batch_id = submit(engine, [engine.encode(cid(i), request()) for i in range(3)])
        state = status(engine, batch_id)
        lines = results(engine, batch_id, state)
    assert fake.problems == []
    assert state.state == "cancelled" and state.counts["canceled"] == 2
    assert sorted((line.custom_id, line.response is not None) for line in lines) == [
        (cid(0), True), (cid(1), False), (cid(2), False)
    ]  # fmt: skip


def test_an_archived_batch_has_nothing_to_read_and_everything_to_send_again():
    archived = {
        "id": "msgbatch_old", "type": "message_batch", "processing_status": "ended",
        "request_counts": {"processing": 0, "succeeded": 2, "errored": 0, "canceled": 0, "expired": 0},
        "created_at": "2026-10-01T00:00:00Z", "expires_at": "2026-10-02T00:00:00Z",
        "ended_at": "2026-10-01T00:05:00Z", "cancel_initiated_at": None,
        "archived_at": "2026-10-30T00:05:00Z", "results_url": None,
    }  # fmt: skip
    assert_sdk_shape("MessageBatch", archived)
    with ScriptedServer() as server:
        server.route("GET", "/v1/messages/batches/msgbatch_old", lambda r: archived)
        engine = engine_for(server.url)
        state = status(engine, "msgbatch_old")
        assert results(engine, "msgbatch_old", state) == []
    assert state.state == "expired" and state.message is not None and "archived" in state.message


@pytest.mark.parametrize("status_code", [500, 503, 529])
def test_a_5xx_while_polling_is_retryable(status_code):
    with AnthropicBatchServer() as fake:
        engine = engine_for(fake.url)
        batch_id = submit(engine, [engine.encode(cid(1), request())])
        fake.server.enqueue(status_code, anthropic_error("api_error", "Internal server error"))
        with pytest.raises(RetryableCallError) as err:
            status(engine, batch_id)
        assert status(engine, batch_id).state == "ended"  # the next poll answers
    assert err.value.failure.status == status_code


def test_a_timeout_while_polling_is_retryable():
    with AnthropicBatchServer() as fake:
        engine = engine_for(fake.url)
        batch_id = submit(engine, [engine.encode(cid(1), request())])
        fake.server.enqueue(200, {}, delay=2.0)
        with pytest.raises(RetryableCallError) as err:
            status(engine, batch_id, timeout=0.2)
    assert err.value.failure.kind == "timeout"


def test_a_5xx_on_submit_and_on_reading_results_is_retryable():
    with AnthropicBatchServer() as fake:
        engine = engine_for(fake.url)
        line = engine.encode(cid(1), request())
        fake.server.enqueue(529, anthropic_error("overloaded_error", "Overloaded"))
        with pytest.raises(RetryableCallError):
            submit(engine, [line])
        batch_id = submit(engine, [line])
        state = status(engine, batch_id)
        fake.server.enqueue(502, body="bad gateway")
        with pytest.raises(RetryableCallError):
            results(engine, batch_id, state)
        assert [line.custom_id for line in results(engine, batch_id, state)] == [cid(1)]


def test_a_rejected_key_is_fatal_and_never_echoed():
    with AnthropicBatchServer() as fake:
        engine = engine_for(fake.url)
        fake.server.enqueue(401, anthropic_error("authentication_error", f"invalid x-api-key {KEY}"))
        with pytest.raises(FatalCallError) as err:
            submit(engine, [engine.encode(cid(1), request())])
    assert "ANTHROPIC_API_KEY" in str(err.value) and KEY not in repr(err.value.failure)


def test_results_on_another_host_never_get_the_key():
    """A results_url off the base URL's origin (a proxy passing on the API's) gets no request: the results come
    from the API's own results path under the base URL."""
    with ScriptedServer() as elsewhere, AnthropicBatchServer() as fake:
        engine = engine_for(fake.url)
        batch_id = submit(engine, [engine.encode(cid(1), request())])
        state = status(engine, batch_id)
        moved = BatchStatus(
            batch_id, "ended", state.counts, None, {"results_url": f"{elsewhere.url}/r.jsonl"}
        )
        lines = results(engine, batch_id, moved)
    assert elsewhere.requests == []
    assert [line.custom_id for line in lines] == [cid(1)]
    assert fake.requests[-1].path == f"/v1/messages/batches/{batch_id}/results"
    assert fake.requests[-1].headers["x-api-key"] == KEY


def test_an_id_that_is_not_a_plain_id_is_refused():
    with ScriptedServer() as server:
        server.route(
            "POST", "/v1/messages/batches", lambda r: {"id": "../../v1/models", "type": "message_batch"}
        )
        engine = engine_for(server.url)
        with pytest.raises(FatalCallError) as err:
            submit(engine, [engine.encode(cid(1), request())])
    assert "is not a batch id" in str(err.value)


def test_a_result_line_that_is_not_a_result_is_fatal():
    with AnthropicBatchServer(extra_lines=({"id": "something else"},), check_shapes=False) as fake:
        engine = engine_for(fake.url)
        batch_id = submit(engine, [engine.encode(cid(1), request())])
        state = status(engine, batch_id)
        with pytest.raises(FatalCallError) as err:
            results(engine, batch_id, state)
    assert "is not a batch result" in str(err.value)


def test_a_result_naming_an_id_we_did_not_send_is_handed_on_as_read():
    """The engine hands on every line; refusing a foreign id is the driver's check (it holds the ids)."""
    foreign = {"custom_id": cid(99), "result": {"type": "canceled"}}
    with AnthropicBatchServer(extra_lines=(foreign,)) as fake:
        engine = engine_for(fake.url)
        batch_id = submit(engine, [engine.encode(cid(1), request())])
        state = status(engine, batch_id)
        lines = results(engine, batch_id, state)
    assert sorted(line.custom_id for line in lines) == [cid(1), cid(99)]


def test_the_shape_checker_reads_the_sdk_types():
    """The copied SDK files give the shapes: required fields, Literal words, nested types and unions."""
    shapes = sdk_shapes()
    assert shapes.classes["MessageBatch"].required >= {
        "id", "created_at", "expires_at", "processing_status", "request_counts", "type"
    }  # fmt: skip
    good = {"custom_id": "a", "result": {"type": "errored", "error": {
        "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}}}  # fmt: skip
    assert shapes.problem("MessageBatchIndividualResponse", good) is None
    assert shapes.problem("MessageBatchIndividualResponse", {"custom_id": "a", "result": {"type": "lost"}})
    bad_counts = {"processing": 0, "succeeded": 1, "errored": 0, "canceled": 0}
    assert "missing ['expired']" in (shapes.problem("MessageBatchRequestCounts", bad_counts) or "")
    assert shapes.problem("BatchCreateParams", {"requests": [{"custom_id": "a"}]})


def test_the_batch_body_goes_out_as_a_stream_not_as_one_built_bytes():
    """The real transport sends it; the request it is handed carries an iterator of pieces (about 1 MB each),
    never the whole body as bytes."""
    pieces: list[int] = []

    class Watched(httpx.AsyncByteStream):
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __aiter__(self):
            async for piece in self.inner:
                pieces.append(len(piece))
                yield piece

    class Watching(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.method == "POST":
                assert not isinstance(request.stream, httpx.ByteStream)  # what `content=bytes` makes
                request.stream = Watched(request.stream)
            return await super().handle_async_request(request)

    with AnthropicBatchServer() as fake:
        engine = engine_for(fake.url)
        lines = [engine.encode(cid(i), request(f"ticket {i} {'x' * 1000}")) for i in range(3000)]

        async def go():
            async with httpx.AsyncClient(transport=Watching(), timeout=5.0) as client:
                return await engine.submit(iter(lines), sum(map(len, lines)), client)

        asyncio.run(go())
    assert fake.problems == [] and len(fake.requests[0].json["requests"]) == 3000
    assert len(pieces) > 3 and max(pieces) < 2 * (1 << 20) < sum(pieces)
