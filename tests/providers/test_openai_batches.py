"""OpenAI's Batch API engine against a loopback server that keeps the API's state (tests/batch_servers.py): what
we upload and create is checked against OpenAI's API description, and each line is judged as the same answer to
a synchronous call would be."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from promptreview.providers.base import FatalCallError, RetryableCallError
from promptreview.providers.openai import create
from promptreview.providers.openai_batches import LIMITS, OpenAIBatches
from promptreview.providers.provider_batches import BatchStatus, provider_batches
from tests.batch_servers import BATCH_REQUEST_INPUT, LineFault, OpenAIBatchServer
from tests.servers import Reply, assert_openai_valid, make_request, openai_error

SCHEMA = {
    "type": "object",
    "properties": {"label": {"type": "string"}},
    "required": ["label"],
    "additionalProperties": False,
}


def engine_for(server: OpenAIBatchServer, key: str = "sk-test") -> OpenAIBatches:
    provider = create({"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": key})
    engine = provider_batches(provider)
    assert isinstance(engine, OpenAIBatches)
    return engine


def run(coro_factory: Any) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient(timeout=5.0) as client:
            return await coro_factory(client)

    return asyncio.run(go())


def requests(n: int) -> list:
    return [make_request(user=f"ticket {i}", schema=SCHEMA, params={"temperature": 0.2}) for i in range(n)]


def test_a_line_carries_the_synchronous_body_under_its_cache_key():
    import jsonschema

    provider = create({"OPENAI_API_KEY": "sk-test"})
    request = requests(1)[0]
    line = OpenAIBatches(provider).encode(request.cache_key(), request)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    data = json.loads(line)
    jsonschema.validate(data, BATCH_REQUEST_INPUT)
    assert data["custom_id"] == request.cache_key() and len(data["custom_id"]) == 64
    assert data["url"] == "/v1/chat/completions" and data["method"] == "POST"
    assert data["body"] == provider.build_body(
        request
    )  # the same body, so every change to it reaches batches
    assert_openai_valid("CreateChatCompletionRequest", data["body"])
    assert LIMITS.max_requests == 50_000 and LIMITS.max_bytes <= 200_000_000


def test_submit_streams_a_multipart_upload_of_known_length_then_creates_the_batch():
    reqs = requests(3)
    with OpenAIBatchServer(validate=True) as server:
        engine = engine_for(server)
        lines = [engine.encode(r.cache_key(), r) for r in reqs]
        consumed: list[int] = []

        def once():  # a generator: the upload reads it once, as it sends
            for i, line in enumerate(lines):
                consumed.append(i)
                yield line

        batch_id = run(lambda c: engine.submit(once(), sum(map(len, lines)), c))
        (upload,) = server.uploads
        assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
        assert int(upload.headers["content-length"]) == len(upload.body)
        assert "transfer-encoding" not in upload.headers
        assert consumed == [0, 1, 2]
        assert server.inputs(batch_id) == [json.loads(line) for line in lines]
        (created,) = server.batch_posts
        assert created.json == {
            "input_file_id": server.batches[batch_id].input_file_id,
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
        }
        assert created.headers["authorization"] == "Bearer sk-test"


def test_a_bad_key_is_fatal_and_a_5xx_upload_retryable():
    with OpenAIBatchServer() as server:
        engine = engine_for(server, key="sk-wrong")
        with pytest.raises(FatalCallError, match="OPENAI_API_KEY was rejected"):
            run(lambda c: engine.submit([b"{}\n"], 3, c))
        server.http.enqueue(503, openai_error("The server is overloaded", "server_error"))
        engine = engine_for(server)
        with pytest.raises(RetryableCallError, match="503"):
            run(lambda c: engine.submit([b"{}\n"], 3, c))


@pytest.mark.parametrize(
    ("status", "state"),
    [("validating", "running"), ("in_progress", "running"), ("finalizing", "running"),
     ("cancelling", "running"), ("completed", "ended"), ("expired", "expired"), ("cancelled", "cancelled"),
     ("failed", "failed")],
)  # fmt: skip
def test_each_batch_status_maps_to_a_state(status, state):
    body = {
        "id": "batch_1",
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "input_file_id": "file-1",
        "completion_window": "24h",
        "status": status,
        "created_at": 1_765_000_000,
        "output_file_id": "file-out",
        "request_counts": {"total": 10, "completed": 6, "failed": 1},
    }
    if status == "failed":
        body["errors"] = {
            "object": "list",
            "data": [{"code": "invalid_json_line", "message": "bad", "line": 3}],
        }
    assert_openai_valid("Batch", body)
    with OpenAIBatchServer() as server:
        server.http.route("GET", "/v1/batches/batch_1", Reply(200, body))
        got = run(lambda c: engine_for(server).status("batch_1", c))
    assert (
        got.state == state and got.finished == 7 and got.counts == {"total": 10, "completed": 6, "failed": 1}
    )
    assert got.handle == {"output_file_id": "file-out", "error_file_id": None}
    assert (got.message == "invalid_json_line: bad (line 3)") if status == "failed" else got.message is None


def test_a_status_without_one_is_malformed():
    with OpenAIBatchServer() as server:
        server.http.route("GET", "/v1/batches/batch_1", Reply(200, {"id": "batch_1", "status": "sleeping"}))
        with pytest.raises(FatalCallError, match="batch status"):
            run(lambda c: engine_for(server).status("batch_1", c))


def answer(body: dict) -> str | LineFault:
    text = body["messages"][-1]["content"]
    faults = {
        "ticket 1": LineFault(500, "server_error", "The server had an error"),
        "ticket 2": LineFault(400, "invalid_value", "Invalid 'temperature'"),
        "ticket 3": LineFault(429, "insufficient_quota", "You exceeded your current quota"),
        "ticket 4": LineFault(None, "batch_expired", "not run"),
    }
    return faults.get(text) or json.dumps({"label": text})


def test_result_lines_are_judged_as_the_same_synchronous_answer():
    reqs = requests(5)
    with OpenAIBatchServer(answer, validate=True) as server:
        engine = engine_for(server)

        async def go(client: httpx.AsyncClient) -> tuple[BatchStatus, list]:
            lines = [engine.encode(r.cache_key(), r) for r in reqs]
            batch_id = await engine.submit(lines, sum(map(len, lines)), client)
            status = await engine.status(batch_id, client)
            return status, [line async for line in engine.results(batch_id, status, client)]

        status, lines = run(go)
    assert status.state == "ended" and status.finished == 5
    by_id = {line.custom_id: line for line in lines}
    ok, crashed, rejected, quota, expired = (by_id[r.cache_key()] for r in reqs)
    assert json.loads(ok.response.text) == {"label": "ticket 0"} and ok.response.usage.prompt_tokens == 50
    assert ok.response.served_model == "gpt-4o-mini-2024-07-18" and ok.failure is None
    assert crashed.response is None and crashed.retryable and crashed.failure.status == 500
    assert (
        not rejected.retryable
        and rejected.failure.status == 400
        and "temperature" in rejected.failure.message
    )
    assert not quota.retryable and "no quota left" in quota.failure.message  # as OpenAIProvider.classify says
    assert expired.retryable and expired.failure.code == "batch_expired"


def test_a_line_that_is_not_a_batch_output_line_is_fatal():
    with OpenAIBatchServer() as server:
        server.http.route("GET", "/v1/files/file-out/content", Reply(200, body="not json\n"))
        status = BatchStatus("batch_1", "ended", handle={"output_file_id": "file-out"})
        engine = engine_for(server)

        async def read(client: httpx.AsyncClient) -> list:
            return [line async for line in engine.results("batch_1", status, client)]

        with pytest.raises(FatalCallError, match="not a batch output line"):
            run(read)


def test_a_missing_result_file_is_an_error_and_a_5xx_retryable():
    with OpenAIBatchServer() as server:
        engine = engine_for(server)
        status = BatchStatus("batch_1", "ended", handle={"output_file_id": "file-gone"})

        async def read(client: httpx.AsyncClient) -> list:
            return [line async for line in engine.results("batch_1", status, client)]

        with pytest.raises(FatalCallError, match="404"):
            run(read)
        server.http.enqueue(502, openai_error("Bad gateway", "server_error"))
        with pytest.raises(RetryableCallError, match="502"):
            run(read)


def test_a_key_an_error_line_quotes_is_scrubbed():
    key = "sk-test"
    with OpenAIBatchServer(
        lambda body: LineFault(400, "invalid_api_key", f"key {key}-SECRET123 is wrong")
    ) as server:
        engine = create({"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": key}).provider_batches()

        async def go(client: httpx.AsyncClient) -> list:
            request = requests(1)[0]
            line = engine.encode(request.cache_key(), request)
            batch_id = await engine.submit([line], len(line), client)
            status = await engine.status(batch_id, client)
            return [line async for line in engine.results(batch_id, status, client)]

        (line,) = run(go)
    assert key not in line.failure.message and key not in (line.failure.server_message or "")


@pytest.mark.parametrize("bad", ["../files/x", "batch_1?x=1", "a/b", "", "http://elsewhere/x"])
def test_an_id_that_would_change_the_url_is_refused(bad):
    with OpenAIBatchServer() as server:
        engine = engine_for(server)
        with pytest.raises(FatalCallError, match="is not an id"):
            run(lambda c: engine.status(bad, c))
        status = BatchStatus("batch_1", "ended", handle={"output_file_id": bad or "x/"})

        async def read(client: httpx.AsyncClient) -> list:
            return [line async for line in engine.results("batch_1", status, client)]

        with pytest.raises(FatalCallError, match="is not an id"):
            run(read)
        server.http.route("POST", "/v1/batches", Reply(200, {"id": bad or "x/", "object": "batch"}))
        request = requests(1)[0]
        line = engine.encode(request.cache_key(), request)
        with pytest.raises(FatalCallError, match="is not an id"):
            run(lambda c: engine.submit([line], len(line), c))
        assert not [r for r in server.http.requests if r.method == "GET"]  # nothing was asked of the bad id
