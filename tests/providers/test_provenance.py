"""Provenance on every completion (issue 23, item 2): each provider's parser records what the provider returned
about the answer (response id, fingerprint, the provider's time, request id) from the real wire shapes, over
real HTTP to loopback servers. Before this, every one of these fields was dropped."""

from __future__ import annotations

import asyncio
import calendar

import httpx

from promptreview.providers.anthropic import AnthropicProvider
from promptreview.providers.gemini import GeminiProvider
from promptreview.providers.http import http_date
from promptreview.providers.ollama import OllamaProvider, iso_seconds
from promptreview.providers.openai import OpenAIProvider
from tests.providers.test_ollama import DIGEST, PINNED, chat_reply, serve_tags
from tests.servers import (
    ScriptedServer,
    anthropic_message,
    assert_openai_valid,
    call,
    gemini_chat_completion,
    make_request,
    openai_chat_completion,
)

# the example of CreateChatCompletionResponse in OpenAI's OpenAPI description (tests/fixtures/openai)
CREATED = 1741570283
DATE = "Mon, 07 Dec 2026 10:14:03 GMT"
DATE_SECONDS = float(calendar.timegm((2026, 12, 7, 10, 14, 3)))


def test_chat_completions_records_id_fingerprint_created_and_the_request_id_header():
    body = openai_chat_completion('{"label": "billing"}', model="gpt-4o-2024-08-06")
    body.update(id="chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", system_fingerprint="fp_50cad350e4")
    assert_openai_valid("CreateChatCompletionResponse", body)  # the real shape
    with ScriptedServer() as server:
        server.enqueue(200, body, headers={"x-request-id": "req_abc123"})
        provider = OpenAIProvider(base_url=f"{server.url}/v1", api_key="sk-test")
        response = call(provider, make_request("openai:gpt-4o-2024-08-06")).response
    assert response.served_model == "gpt-4o-2024-08-06"
    assert response.response_id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert response.system_fingerprint == "fp_50cad350e4"
    assert response.provider_created == CREATED
    assert response.request_id == "req_abc123"


def test_every_sample_of_one_request_with_n_carries_its_provenance():
    body = openai_chat_completion('{"label": "a"}', model="gpt-4o-2024-08-06")
    body["choices"] = [{**body["choices"][0], "index": i} for i in range(3)]
    body["system_fingerprint"] = "fp_n"
    with ScriptedServer() as server:
        server.enqueue(200, body)
        provider = OpenAIProvider(base_url=f"{server.url}/v1", api_key="sk-test")

        async def go():
            async with httpx.AsyncClient() as client:
                return await provider.complete_samples(make_request("openai:gpt-4o-2024-08-06"), 3, client)

        answers = asyncio.run(go())
    assert [(a.system_fingerprint, a.response_id, a.provider_created) for a in answers] == [
        ("fp_n", "chatcmpl-test", CREATED)
    ] * 3


def test_a_missing_or_odd_fingerprint_and_created_are_none_or_the_servers_date_never_guesses():
    body = openai_chat_completion("hi")
    body["system_fingerprint"] = None  # OpenAI sends null for some models
    body["created"] = "yesterday"
    del body["id"]
    with ScriptedServer() as server:
        server.enqueue(200, body, headers={"date": DATE})
        server.enqueue(200, body, headers={"date": "garbled"})
        provider = OpenAIProvider(base_url=f"{server.url}/v1", api_key="sk-test")
        dated = call(provider, make_request()).response
        undated = call(provider, make_request(user="again")).response
    assert (dated.system_fingerprint, dated.response_id) == (None, None)
    assert dated.provider_created == DATE_SECONDS  # no `created` of its own: when the server answered
    assert undated.provider_created is None


def test_anthropic_records_the_message_id_and_takes_time_and_request_id_from_the_headers():
    """The Messages API body has no timestamp: the `date` header says when, `request-id` which request."""
    body = anthropic_message('{"a": 1}')  # the recorded response's shape, its id msg_01T4jd6NyD9xGGtTPDC4ogy5
    with ScriptedServer() as server:
        server.enqueue(200, body, headers={"date": DATE, "request-id": "req_011CUq7jX6cDk8hN1mZ8Y3pB"})
        server.enqueue(200, body)  # a server that sends neither
        provider = AnthropicProvider(base_url=server.url, api_key="sk-ant-test")
        dated = call(provider, make_request("anthropic:claude-sonnet-4-5-20250929")).response
        bare = call(provider, make_request("anthropic:claude-sonnet-4-5-20250929")).response
    assert dated.response_id == bare.response_id == "msg_01T4jd6NyD9xGGtTPDC4ogy5"
    assert dated.served_model == "claude-sonnet-4-5-20250929"
    assert dated.provider_created == DATE_SECONDS and dated.request_id == "req_011CUq7jX6cDk8hN1mZ8Y3pB"
    assert dated.system_fingerprint is None  # Anthropic has no fingerprint
    # ThreadingHTTPServer sends a Date header of its own: the test server's, not a value we made up
    assert bare.request_id is None and bare.provider_created is not None


def test_ollama_records_created_at_and_the_full_digest_as_its_fingerprint():
    with ScriptedServer() as server:
        serve_tags(server)
        server.enqueue(200, chat_reply('{"label": "x"}'))
        provider = OllamaProvider(host=server.url)
        response = call(provider, make_request(f"ollama:{PINNED}")).response
    assert response.system_fingerprint == f"sha256:{DIGEST}"
    assert response.provider_created == calendar.timegm((2025, 5, 4, 17, 40, 0))


def test_gemini_records_its_compatible_layers_id_and_created():
    with ScriptedServer() as server:
        server.enqueue(200, gemini_chat_completion("hi"))
        provider = GeminiProvider(base_url=f"{server.url}/gemini", api_key="AIza-test")
        response = call(provider, make_request("gemini:gemini-2.0-flash-001")).response
    assert (response.response_id, response.provider_created) == ("kJ7QZ-test", CREATED)
    assert response.served_model == "gemini-2.0-flash-001" and response.system_fingerprint is None


def test_the_time_formats_providers_send():
    assert http_date(DATE) == DATE_SECONDS
    assert http_date("not a date") is None and http_date(None) is None
    # Ollama writes nanoseconds and its local offset
    assert (
        iso_seconds("2025-05-04T17:37:44.706015396-07:00")
        == calendar.timegm((2025, 5, 5, 0, 37, 44)) + 0.706015396
    )
    assert iso_seconds("2023-08-04T19:22:45Z") == calendar.timegm((2023, 8, 4, 19, 22, 45))
    assert iso_seconds("soon") is None and iso_seconds(17) is None


def test_reply_headers_reach_only_the_answer_they_came_with():
    """Two answers, two request ids: nothing is kept on the provider between calls."""
    with ScriptedServer() as server:
        for rid in ("req_1", "req_2"):
            server.enqueue(200, openai_chat_completion("x"), headers={"x-request-id": rid})
        provider = OpenAIProvider(base_url=f"{server.url}/v1", api_key="sk-test")
        first = call(provider, make_request()).response
        second = call(provider, make_request(user="other")).response
    assert (first.request_id, second.request_id) == ("req_1", "req_2")


def test_the_served_id_and_fingerprint_of_many_answers_are_held_once():
    """A batch's 100,000 results repeat one served id and fingerprint: each answer holds the same text object
    rather than a copy of its own (decision 83)."""

    def chat(i: int) -> dict:
        return {
            "id": f"chatcmpl-{i}", "model": "".join(["gpt-4o-mini", "-2024-07-18"]), "created": 1,
            "system_fingerprint": "".join(["fp_", "44709d6fcb"]),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "{}"}, "finish_reason": "stop"}],
        }  # fmt: skip

    def message(i: int) -> dict:
        return {
            "id": f"msg_{i}", "type": "message", "role": "assistant", "model": "".join(["claude-", "sonnet-4-5"]),
            "content": [{"type": "text", "text": "{}"}], "stop_reason": "end_turn", "usage": {},
        }  # fmt: skip

    openai_answers = [OpenAIProvider(api_key="sk-test").parse_response(chat(i)) for i in range(2)]
    anthropic_answers = [AnthropicProvider(api_key="k").parse_response(message(i)) for i in range(2)]
    for first, second in (openai_answers, anthropic_answers):
        assert first.served_model == second.served_model and first.served_model is second.served_model
    assert openai_answers[0].system_fingerprint is openai_answers[1].system_fingerprint
