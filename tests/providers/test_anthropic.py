"""The Anthropic provider against a loopback server answering in the shape of the recorded Messages API fixture."""

from __future__ import annotations

import pytest

from promptreview.engine.measurement.outcomes import classify
from promptreview.errors import MissingCredentials
from promptreview.providers import create_provider
from promptreview.providers.anthropic import AnthropicProvider, create
from promptreview.providers.base import FatalCallError, RetryableCallError
from promptreview.providers.retry import RetriesExhausted
from promptreview.records import Completion
from promptreview.sources.schemas import make_validator
from tests.servers import (
    ScriptedServer,
    anthropic_compatible_handler,
    anthropic_error,
    anthropic_message,
    anthropic_recorded,
    call,
    make_request,
)

KEY = "sk-ant-api03-test-SECRETSECRET"
MODEL = "claude-sonnet-4-5-20250929"
RECORDED = anthropic_recorded()
SCHEMA = RECORDED["request"]["body"]["output_config"]["format"]["schema"]
ANSWER = RECORDED["response"]["body"]["content"][0]["text"]


def provider_for(server: ScriptedServer, key: str | None = KEY) -> AnthropicProvider:
    env = {"ANTHROPIC_BASE_URL": server.url}
    if key:
        env["ANTHROPIC_API_KEY"] = key
    return create(env)


def test_recorded_exchange_round_trips():
    """The recorded request (floating `claude-sonnet-4-5`) and its recorded response, byte for byte."""
    recorded_request = RECORDED["request"]["body"]
    with ScriptedServer() as server:
        server.enqueue(200, RECORDED["response"]["body"])
        request = make_request(
            "anthropic:claude-sonnet-4-5",
            system=None,
            user=recorded_request["messages"][0]["content"],
            schema=SCHEMA,
            params={"max_tokens": recorded_request["max_tokens"]},
        )
        result = call(provider_for(server), request)
    sent = server.requests[0]
    assert sent.method == "POST" and sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.json == recorded_request  # same model, max_tokens, messages and output_config as the SDK sent
    response = result.response
    assert response.text == ANSWER
    assert response.finish_reason == "stop" and response.refusal is None
    assert response.served_model == "claude-sonnet-4-5-20250929"  # differs from the requested alias
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.cached_tokens) == (
        406,
        50,
        0,
    )


def test_system_prompt_is_top_level_and_params_are_mapped():
    with ScriptedServer() as server:
        server.enqueue(200, anthropic_message(ANSWER))
        request = make_request(
            f"anthropic:{MODEL}",
            schema=SCHEMA,
            params={"temperature": 0.2, "max_tokens": 300, "seed": 3, "stop": ["END"]},
        )
        call(provider_for(server), request)
    body = server.requests[0].json
    assert body["system"] == "Classify the ticket. Answer with JSON only."
    assert body["messages"] == [{"role": "user", "content": "My invoice is wrong."}]
    assert body["max_tokens"] == 300 and body["temperature"] == 0.2
    assert body["stop_sequences"] == ["END"]
    assert "seed" not in body  # no Anthropic counterpart
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}


def test_default_max_tokens_and_no_structured_output_for_older_models():
    body = AnthropicProvider(api_key=KEY).build_body(
        make_request("anthropic:claude-3-5-haiku-20241022", schema=SCHEMA)
    )
    assert body["max_tokens"] == 1024
    assert "output_config" not in body  # the instruction alone
    newer = AnthropicProvider(api_key=KEY).build_body(
        make_request("anthropic:claude-opus-4-6", schema=SCHEMA)
    )
    assert "output_config" in newer


def test_refusal_stop_reason_is_the_providers_refusal_signal():
    with ScriptedServer() as server:
        server.enqueue(200, anthropic_message(None, stop_reason="refusal", output_tokens=0))
        request = make_request(f"anthropic:{MODEL}", schema=SCHEMA)
        result = call(provider_for(server), request)
    assert result.response.finish_reason == "refusal"
    assert result.response.refusal == "stop_reason: refusal"
    assert classify(Completion(request, result.response), make_validator(SCHEMA, "t")).outcome == "refusal"


def test_max_tokens_truncation_is_a_parse_failure_that_says_why():
    with ScriptedServer() as server:
        server.enqueue(200, anthropic_message('{"items":[{"product_name":"Gre', stop_reason="max_tokens"))
        request = make_request(f"anthropic:{MODEL}", schema=SCHEMA, params={"max_tokens": 10})
        result = call(provider_for(server), request)
    assert result.response.finish_reason == "length"
    outcome = classify(Completion(request, result.response), make_validator(SCHEMA, "t"))
    assert outcome.outcome == "parse_failure" and "finish_reason=length" in outcome.detail


def test_429_with_retry_after_then_success():
    with ScriptedServer() as server:
        server.enqueue(429, anthropic_error("rate_limit_error", "Number of request tokens has exceeded your "
                                            "per-minute rate limit"), headers={"retry-after": "3"})  # fmt: skip
        server.enqueue(200, anthropic_message(ANSWER))
        result = call(provider_for(server), make_request(f"anthropic:{MODEL}", schema=SCHEMA))
    assert result.response.text == ANSWER and result.attempts == 2 and result.sleeps == [3.0]


@pytest.mark.parametrize(
    ("status", "kind"), [(529, "overloaded_error"), (500, "api_error"), (503, "api_error")]
)
def test_overloaded_and_server_errors_then_success(status, kind):
    with ScriptedServer() as server:
        server.enqueue(status, anthropic_error(kind, "Overloaded"))
        server.enqueue(200, anthropic_message(ANSWER))
        result = call(provider_for(server), make_request(f"anthropic:{MODEL}", schema=SCHEMA))
    assert result.response.text == ANSWER and result.attempts == 2


def test_timeout_then_success():
    with ScriptedServer() as server:
        server.enqueue(200, anthropic_message(ANSWER), delay=30)
        server.enqueue(200, anthropic_message(ANSWER))
        result = call(provider_for(server), make_request(f"anthropic:{MODEL}"), timeout=0.3)
    assert result.response.text == ANSWER and result.attempts == 2


def test_401_is_fatal_and_never_prints_the_key():
    with ScriptedServer() as server:
        server.enqueue(401, anthropic_error("authentication_error", f"invalid x-api-key {KEY}"))
        with pytest.raises(FatalCallError) as info:
            call(provider_for(server), make_request(f"anthropic:{MODEL}"))
    assert "ANTHROPIC_API_KEY" in str(info.value) and "invalid" in str(info.value)
    assert KEY not in str(info.value) and "SECRET" not in str(info.value)
    assert len(server.requests) == 1


def test_spend_limit_429_is_fatal_not_retried():
    with ScriptedServer() as server:
        server.enqueue(429, anthropic_error("rate_limit_error", "You have reached your specified workspace API "
                                            "usage limits. You will regain access on 2025-12-01."),
                       headers={"retry-after": "1"})  # fmt: skip
        with pytest.raises(FatalCallError) as info:
            call(provider_for(server), make_request(f"anthropic:{MODEL}"))
    assert "spend limit" in str(info.value)
    assert len(server.requests) == 1


@pytest.mark.parametrize(("status", "kind"), [(400, "invalid_request_error"), (403, "permission_error"),
                                              (404, "not_found_error")])  # fmt: skip
def test_client_errors_are_fatal(status, kind):
    with ScriptedServer() as server:
        server.enqueue(status, anthropic_error(kind, "model: claude-nope"))
        with pytest.raises(FatalCallError) as info:
            call(provider_for(server), make_request("anthropic:claude-nope"))
    assert "claude-nope" in str(info.value) and len(server.requests) == 1


def test_should_retry_header_false_stops_retries_of_a_5xx():
    with ScriptedServer() as server:
        server.enqueue(500, anthropic_error("api_error", "boom"), headers={"x-should-retry": "false"})
        with pytest.raises(FatalCallError):
            call(provider_for(server), make_request(f"anthropic:{MODEL}"))


def test_exhausted_retries():
    with ScriptedServer() as server:
        for _ in range(2):
            server.enqueue(529, anthropic_error("overloaded_error", "Overloaded"))
        with pytest.raises(RetriesExhausted) as info:
            call(provider_for(server), make_request(f"anthropic:{MODEL}"), max_attempts=2)
    assert "529" in str(info.value)


def test_served_model_that_differs_is_recorded():
    with ScriptedServer(
        anthropic_compatible_handler(lambda body: ANSWER, served_model="claude-haiku-4-5-20251001")
    ) as server:
        result = call(provider_for(server), make_request(f"anthropic:{MODEL}", schema=SCHEMA))
    assert result.response.served_model == "claude-haiku-4-5-20251001"


def test_cache_reads_count_as_prompt_tokens_and_as_cached():
    with ScriptedServer() as server:
        server.enqueue(
            200, anthropic_message(ANSWER, input_tokens=10, output_tokens=5, cache_read_input_tokens=400)
        )
        result = call(provider_for(server), make_request(f"anthropic:{MODEL}"))
    usage = result.response.usage
    assert (usage.prompt_tokens, usage.cached_tokens, usage.completion_tokens) == (410, 400, 5)


def test_server_rejecting_output_config_fails_the_request_and_never_drops_the_schema():
    with ScriptedServer() as server:
        server.enqueue(
            400,
            anthropic_error("invalid_request_error", "output_config.format: Extra inputs are not permitted"),
        )
        server.enqueue(200, anthropic_message(ANSWER))
        provider = provider_for(server)
        with pytest.raises(FatalCallError) as info:
            call(provider, make_request(f"anthropic:{MODEL}", schema=SCHEMA))
    assert info.value.status == 400 and "output_config" in server.requests[0].json
    assert len(server.requests) == 1 and not provider.notes


def test_base_url_with_v1_and_missing_key():
    assert AnthropicProvider(base_url="http://127.0.0.1:1/v1").url == "http://127.0.0.1:1/v1/messages"
    assert AnthropicProvider(base_url="http://127.0.0.1:1/").url == "http://127.0.0.1:1/v1/messages"
    with pytest.raises(MissingCredentials) as info:
        call(create({}), make_request(f"anthropic:{MODEL}"))
    assert info.value.env_var == "ANTHROPIC_API_KEY"
    assert "`--model sim:NAME`" in str(info.value) and "github:openai/gpt-4.1-mini" in str(info.value)


def test_registry_and_pinning():
    provider = create_provider("anthropic", {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"})
    assert provider.name == "anthropic" and provider.key_env_var == "ANTHROPIC_API_KEY"
    assert provider.pin_status("claude-sonnet-4-5-20250929") == "pinned"
    assert provider.pin_status("claude-sonnet-4-5") == "floating"
    assert provider.pin_status("claude-3-5-sonnet-latest") == "floating"
    assert provider.pinned_suggestions("claude-sonnet-4-5") == ["claude-sonnet-4-5-20250929"]
    assert provider.pinned_suggestions("claude-3-5-sonnet-latest")[0] == "claude-3-5-sonnet-20241022"


def test_non_json_body_and_transport_errors_are_retryable_with_the_key_scrubbed():
    key = "gateway-key-SECRET42"  # a gateway's own key in ANTHROPIC_API_KEY: no well-known prefix
    with ScriptedServer() as server:
        server.enqueue(200, body=f"<html>gateway error for x-api-key {key}</html>")
        server.enqueue(drop=True)
        provider = provider_for(server, key=key)
        with pytest.raises(RetriesExhausted) as not_json:
            call(provider, make_request(f"anthropic:{MODEL}"), max_attempts=1)
        with pytest.raises(RetriesExhausted) as dropped:
            call(provider, make_request(f"anthropic:{MODEL}"), max_attempts=1)
        with pytest.raises((RetriesExhausted, FatalCallError)) as bad_header:  # httpx quotes the header value
            call(provider_for(server, key=f"{key}\n"), make_request(f"anthropic:{MODEL}"), max_attempts=1)
    assert isinstance(not_json.value.last, RetryableCallError) and "not JSON" in str(not_json.value)
    assert isinstance(dropped.value.last, RetryableCallError) and "connection failed" in str(dropped.value)
    for info in (not_json, dropped, bad_header):
        assert "SECRET" not in str(info.value)


def test_function_tools_are_sent_in_anthropics_spelling():
    tool = {"type": "function", "function": {"name": "lookup", "description": "Find an order",
            "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}}  # fmt: skip
    body = AnthropicProvider(api_key=KEY).build_body(
        make_request("anthropic:claude-sonnet-4-5-20250929", tools=(tool,))
    )
    assert body["tools"] == [
        {"name": "lookup", "description": "Find an order",
         "input_schema": {"type": "object", "properties": {"id": {"type": "string"}}}}
    ]  # fmt: skip
