"""Shared retries: the backoff policy, the server's requested wait, and which failures are retried."""

from __future__ import annotations

import asyncio
import email.utils

import httpx
import pytest

from promptreview.providers.base import FatalCallError, RetryableCallError
from promptreview.providers.http import classify_status, error_message, scrub, send_json
from promptreview.providers.retry import RetriesExhausted, RetryPolicy, call_with_retries, parse_retry_after
from promptreview.records import CallFailure
from tests.servers import ScriptedServer

NOW = 1_750_000_000.0


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "5"}, 5.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "nonsense", "retry-after": "9"}, 9.0),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": email.utils.formatdate(NOW + 30, usegmt=True)}, 30.0),
        ({"retry-after": email.utils.formatdate(NOW - 30, usegmt=True)}, 0.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00"}, 0.0),  # in the past, no zone: GMT
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers, seconds):
    assert parse_retry_after(headers, now=NOW) == seconds


def test_parse_retry_after_reads_httpx_headers():
    assert parse_retry_after(httpx.Headers({"Retry-After-Ms": "1200"})) == 1.2


def test_policy_delay_honours_the_server_and_caps_it():
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0, jitter=0.5)
    assert policy.delay(1, 3.0) == 3.0
    assert policy.delay(1, 500.0) == 10.0
    for attempt in range(1, 8):
        raw = min(1.0 * 2 ** (attempt - 1), 10.0)
        assert raw * 0.5 <= policy.delay(attempt, None) <= raw * 1.5


def test_call_with_retries_counts_attempts_and_sleeps_as_asked():
    outcomes = [
        RetryableCallError(CallFailure("http_status", "429", status=429), retry_after=2.0),
        RetryableCallError(CallFailure("http_status", "503", status=503)),
        "ok",
    ]
    sleeps: list[float] = []

    async def call():
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    async def sleep(seconds):
        sleeps.append(seconds)

    policy = RetryPolicy(max_attempts=5, base_delay=0.1, jitter=0.0, sleep=sleep)
    assert asyncio.run(call_with_retries(call, policy)) == ("ok", 3)
    assert sleeps == [2.0, 0.2]


def test_a_policy_without_its_own_sleep_waits_through_the_module_wait(retry_waits):
    # the suite's conftest puts a recorder in `retry.wait`: what a whole review run through the CLI waits
    busy = [
        RetryableCallError(CallFailure("http_status", "503", status=503)),
        RetryableCallError(CallFailure("http_status", "429", status=429), retry_after=4.0),
    ]

    async def call():
        if busy:
            raise busy.pop(0)
        return "ok"

    policy = RetryPolicy(base_delay=0.25, jitter=0.0)
    assert asyncio.run(call_with_retries(call, policy)) == ("ok", 3)
    assert retry_waits == [0.25, 4.0]


def test_call_with_retries_gives_up_and_lets_fatal_errors_through():
    async def always_busy():
        raise RetryableCallError(CallFailure("http_status", "busy", status=503))

    async def sleep(_seconds):
        return None

    with pytest.raises(RetriesExhausted) as info:
        asyncio.run(call_with_retries(always_busy, RetryPolicy(max_attempts=3, sleep=sleep)))
    assert info.value.attempts == 3 and "gave up after 3 attempts" in str(info.value)

    calls = []

    async def fatal():
        calls.append(1)
        raise FatalCallError(CallFailure("http_status", "bad key", status=401))

    with pytest.raises(FatalCallError):
        asyncio.run(call_with_retries(fatal, RetryPolicy(max_attempts=3, sleep=sleep)))
    assert calls == [1]


def _response(status: int, body: dict | None = None, headers: dict | None = None) -> httpx.Response:
    return httpx.Response(status, json=body or {}, headers=headers or {})


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
def test_retryable_statuses(status):
    verdict = classify_status(_response(status, headers={"retry-after": "2"}), {}, service="X")
    assert isinstance(verdict, RetryableCallError)
    assert verdict.status == status and verdict.retry_after == 2.0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_fatal_statuses(status):
    verdict = classify_status(
        _response(status), {"error": {"message": "nope"}}, service="X", key_env_var="X_KEY"
    )
    assert isinstance(verdict, FatalCallError) and verdict.status == status


def test_401_names_the_variable_not_the_key():
    body = {"error": {"message": "Incorrect API key provided: sk-abc123def456"}}
    verdict = classify_status(_response(401), body, service="OpenAI", key_env_var="OPENAI_API_KEY",
                              secrets=["sk-abc123def456"])  # fmt: skip
    assert "OPENAI_API_KEY" in str(verdict) and "sk-abc123" not in str(verdict)


def test_a_wait_longer_than_a_run_is_fatal():
    verdict = classify_status(_response(429, headers={"retry-after": "7200"}), {}, service="X")
    assert isinstance(verdict, FatalCallError) and "2.0 h" in str(verdict)


def test_error_message_reads_every_wire_format_and_scrub_hides_keys():
    assert error_message({"error": {"message": "openai style"}}) == "openai style"
    assert error_message({"type": "error", "error": {"type": "x", "message": "anthropic"}}) == "anthropic"
    assert error_message({"error": "ollama style"}) == "ollama style"
    assert error_message({"message": "github style"}) == "github style"
    assert error_message(None, "<html> Bad   gateway </html>") == "<html> Bad gateway </html>"
    assert scrub("key sk-proj-abcdEFGH1234 and mysecretvalue", ["mysecretvalue"]) == "key sk-*** and ***"


def test_send_json_classifies_transport_failures():
    async def go(url: str, timeout: float = 2.0):
        async with httpx.AsyncClient(timeout=timeout) as client:
            return await send_json(client, "GET", url, service="X")

    with ScriptedServer() as server:
        server.enqueue(200, {"ok": True})
        server.enqueue(200, body="<html>not json</html>")
        server.enqueue(200, {"ok": True}, delay=30)
        server.enqueue(drop=True)
        data, response = asyncio.run(go(server.url))
        assert data == {"ok": True} and response.status_code == 200
        with pytest.raises(RetryableCallError, match="not JSON"):
            asyncio.run(go(server.url))
        with pytest.raises(RetryableCallError, match="timed out"):
            asyncio.run(go(server.url, timeout=0.2))
        with pytest.raises(RetryableCallError, match="connection failed"):
            asyncio.run(go(server.url))
    with pytest.raises(FatalCallError, match="not a usable URL"):
        asyncio.run(go("localhost:11434/api/tags"))
