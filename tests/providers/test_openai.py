"""The OpenAI provider against a loopback server that speaks Chat Completions; every request body is checked
against `CreateChatCompletionRequest` and every fake response against `CreateChatCompletionResponse` from
OpenAI's official OpenAPI description."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from promptreview.engine.measurement.outcomes import classify
from promptreview.errors import MissingCredentials, ProviderError
from promptreview.exitcodes import for_error
from promptreview.providers import create_provider
from promptreview.providers.base import FatalCallError, RetryableCallError
from promptreview.providers.chat_completions import strict_compatible
from promptreview.providers.openai import OpenAIProvider, create
from promptreview.providers.retry import RetriesExhausted, RetryPolicy
from promptreview.records import Completion
from promptreview.sources.schemas import make_validator
from tests.servers import (
    ScriptedServer,
    assert_openai_valid,
    call,
    make_request,
    openai_chat_completion,
    openai_compatible_handler,
    openai_error,
)

KEY = "sk-test-0123456789abcdefSECRET"
MODEL = "gpt-4o-mini-2024-07-18"
SCHEMA = {
    "type": "object",
    "properties": {"label": {"enum": ["billing", "bug", "other"]}, "urgent": {"type": "boolean"}},
    "required": ["label", "urgent"],
    "additionalProperties": False,
}
ANSWER = '{"label": "billing", "urgent": false}'


def provider_for(server: ScriptedServer, key: str | None = KEY) -> OpenAIProvider:
    env = {"OPENAI_BASE_URL": f"{server.url}/v1"}
    if key:
        env["OPENAI_API_KEY"] = key
    return create(env)


def reply(server: ScriptedServer, body: dict, status: int = 200, **kw) -> None:
    if status == 200:
        assert_openai_valid("CreateChatCompletionResponse", body)
    server.enqueue(status, body, **kw)


def check_requests(server: ScriptedServer) -> None:
    for request in server.requests:
        assert request.method == "POST" and request.path == "/v1/chat/completions"
        assert_openai_valid("CreateChatCompletionRequest", request.json)


def test_success_sends_json_schema_and_reads_text_usage_and_served_model():
    with ScriptedServer() as server:
        reply(
            server, openai_chat_completion(ANSWER, prompt_tokens=120, completion_tokens=12, cached_tokens=64)
        )
        request = make_request(schema=SCHEMA, params={"temperature": 0.7, "max_tokens": 300, "seed": 7})
        result = call(provider_for(server), request)
    check_requests(server)
    sent = server.requests[0]
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    body = sent.json
    assert body["model"] == MODEL
    assert body["messages"] == [
        {"role": "system", "content": "Classify the ticket. Answer with JSON only."},
        {"role": "user", "content": "My invoice is wrong."},
    ]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "triage", "schema": SCHEMA, "strict": True},
    }
    assert body["temperature"] == 0.7 and body["seed"] == 7
    assert body["max_tokens"] == 300  # a compatible server: max_tokens, which every server knows
    response = result.response
    assert response.text == ANSWER
    assert response.refusal is None
    assert response.finish_reason == "stop"
    assert response.served_model == MODEL
    assert (response.usage.prompt_tokens, response.usage.completion_tokens, response.usage.cached_tokens) == (
        120,
        12,
        64,
    )
    assert result.attempts == 1


def test_public_api_body_uses_max_completion_tokens_and_validates():
    provider = OpenAIProvider(api_key=KEY)
    body = provider.build_body(make_request(schema=SCHEMA, params={"max_tokens": 50, "stop": ["\n\n"]}))
    assert body["max_completion_tokens"] == 50 and "max_tokens" not in body
    assert_openai_valid("CreateChatCompletionRequest", body)


def test_loose_schema_is_sent_without_strict():
    loose = {"type": "object", "properties": {"label": {"type": "string"}, "note": {"type": "string"}}}
    assert not strict_compatible(loose)
    assert strict_compatible(SCHEMA)
    nested_open = {
        **SCHEMA,
        "properties": {**SCHEMA["properties"], "meta": {"type": "object", "properties": {}}},
    }
    nested_open["required"] = [*SCHEMA["required"], "meta"]
    assert not strict_compatible(nested_open)
    with_max_length = {
        **SCHEMA,
        "properties": {**SCHEMA["properties"], "note": {"type": "string", "maxLength": 9}},
    }
    with_max_length["required"] = [*SCHEMA["required"], "note"]
    assert not strict_compatible(with_max_length)  # a keyword strict mode does not know
    body = OpenAIProvider(api_key=KEY).build_body(make_request(schema=loose, schema_name="ticket triage!"))
    assert body["response_format"]["json_schema"]["strict"] is False
    assert body["response_format"]["json_schema"]["name"] == "ticket_triage"
    assert_openai_valid("CreateChatCompletionRequest", body)


def test_json_object_mode_and_no_format_without_schema():
    provider = OpenAIProvider(api_key=KEY)
    body = provider.build_body(make_request(params={"response_format": "json_object"}))
    assert body["response_format"] == {"type": "json_object"}
    assert_openai_valid("CreateChatCompletionRequest", body)
    plain = provider.build_body(make_request())
    assert "response_format" not in plain
    assert_openai_valid("CreateChatCompletionRequest", plain)


def test_refusal_field_is_the_providers_refusal_signal():
    with ScriptedServer() as server:
        reply(server, openai_chat_completion(None, refusal="I'm sorry, I can't help with that."))
        request = make_request(schema=SCHEMA)
        result = call(provider_for(server), request)
    check_requests(server)
    assert result.response.refusal == "I'm sorry, I can't help with that."
    assert result.response.text is None
    outcome = classify(Completion(request, result.response), make_validator(SCHEMA, "t"))
    assert outcome.outcome == "refusal"


def test_content_filter_finish_reason_is_kept():
    with ScriptedServer() as server:
        reply(server, openai_chat_completion(None, finish_reason="content_filter"))
        result = call(provider_for(server), make_request(schema=SCHEMA))
    assert result.response.finish_reason == "content_filter"


def test_length_truncated_json_is_a_parse_failure_that_says_why():
    with ScriptedServer() as server:
        reply(server, openai_chat_completion('{"label": "bill', finish_reason="length", completion_tokens=5))
        request = make_request(schema=SCHEMA, params={"max_tokens": 5})
        result = call(provider_for(server), request)
    check_requests(server)
    assert result.response.finish_reason == "length"
    outcome = classify(Completion(request, result.response), make_validator(SCHEMA, "t"))
    assert outcome.outcome == "parse_failure"
    assert "finish_reason=length" in outcome.detail


def test_429_with_retry_after_is_retried_after_the_asked_wait():
    with ScriptedServer() as server:
        reply(server, openai_error("Rate limit reached", "requests", "rate_limit_exceeded"), 429,
              headers={"retry-after": "7"})  # fmt: skip
        reply(server, openai_error("Rate limit reached", "requests", "rate_limit_exceeded"), 429,
              headers={"retry-after-ms": "1500", "retry-after": "9"})  # fmt: skip
        reply(server, openai_chat_completion(ANSWER))
        result = call(provider_for(server), make_request(schema=SCHEMA))
    check_requests(server)
    assert result.response.text == ANSWER
    assert result.attempts == 3
    assert result.sleeps == [7.0, 1.5]  # retry-after-ms wins over retry-after


@pytest.mark.parametrize("status", [500, 502, 503, 408, 409])
def test_transient_status_then_success(status):
    with ScriptedServer() as server:
        reply(server, openai_error("The server had an error", "server_error"), status)
        reply(server, openai_chat_completion(ANSWER))
        result = call(provider_for(server), make_request(schema=SCHEMA))
    assert result.response.text == ANSWER and result.attempts == 2
    assert len(result.sleeps) == 1


def test_timeout_then_success():
    with ScriptedServer() as server:
        server.enqueue(200, openai_chat_completion(ANSWER), delay=30)  # the client gives up long before
        reply(server, openai_chat_completion(ANSWER))
        result = call(provider_for(server), make_request(schema=SCHEMA), timeout=0.3)
    assert result.response.text == ANSWER and result.attempts == 2


def test_dropped_connection_then_success():
    with ScriptedServer() as server:
        server.enqueue(drop=True)
        reply(server, openai_chat_completion(ANSWER))
        result = call(provider_for(server), make_request(schema=SCHEMA))
    assert result.response.text == ANSWER and result.attempts == 2


def test_401_is_fatal_names_the_key_variable_and_never_prints_the_key():
    with ScriptedServer() as server:
        masked = "sk-test-****ECRET"
        reply(server, openai_error(f"Incorrect API key provided: {masked}. You can find your API key at "
                                   "https://platform.openai.com/account/api-keys.", code="invalid_api_key"), 401)  # fmt: skip
        with pytest.raises(FatalCallError) as info:
            call(provider_for(server), make_request(schema=SCHEMA))
    message = str(info.value)
    assert "OPENAI_API_KEY" in message and "invalid" in message
    assert KEY not in message and masked not in message and "SECRET" not in message
    assert len(server.requests) == 1  # not retried


def test_insufficient_quota_is_fatal_not_retried():
    with ScriptedServer() as server:
        reply(server, openai_error("You exceeded your current quota, please check your plan and billing details.",
                                   "insufficient_quota", "insufficient_quota"), 429, headers={"retry-after": "1"})  # fmt: skip
        with pytest.raises(FatalCallError) as info:
            call(provider_for(server), make_request(schema=SCHEMA))
    assert "insufficient_quota" in str(info.value) and "billing" in str(info.value)
    assert len(server.requests) == 1


@pytest.mark.parametrize("status", [400, 403, 404])
def test_client_errors_are_fatal_with_the_servers_message(status):
    with ScriptedServer() as server:
        reply(server, openai_error(f"The model `gpt-4o-mini-2024-07-18` does not exist ({status})",
                                   code="model_not_found"), status)  # fmt: skip
        with pytest.raises(FatalCallError) as info:
            call(provider_for(server), make_request())
    assert "does not exist" in str(info.value) and f"HTTP {status}" in str(info.value)
    assert len(server.requests) == 1


def test_served_model_that_differs_is_recorded_as_served():
    with ScriptedServer() as server:
        reply(server, openai_chat_completion(ANSWER, model="gpt-4o-2024-08-06"))
        result = call(provider_for(server), make_request(schema=SCHEMA))
    assert result.response.served_model == "gpt-4o-2024-08-06"


def test_exhausted_retries_raise_retries_exhausted_with_the_last_error():
    with ScriptedServer() as server:
        for _ in range(3):
            reply(server, openai_error("overloaded", "server_error"), 503)
        with pytest.raises(RetriesExhausted) as info:
            call(provider_for(server), make_request(), max_attempts=3)
    assert info.value.attempts == 3 and "HTTP 503" in str(info.value)


def test_runner_makes_exhausted_retries_an_error_outcome_and_fatal_errors_exit_3():
    from promptreview.engine.execution.runner import RunSettings, run_requests

    request = make_request(schema=SCHEMA)
    settings = RunSettings(concurrency=1, retry=RetryPolicy(max_attempts=2, base_delay=0.0, jitter=0.0))
    with ScriptedServer() as server:
        reply(server, openai_error("overloaded", "server_error"), 503)
        reply(server, openai_error("overloaded", "server_error"), 503)
        [completion] = run_requests([request], {"openai": provider_for(server)}, None, settings)
    assert completion.response is None and completion.attempts == 2
    assert classify(completion, make_validator(SCHEMA, "t")).outcome == "error"
    with ScriptedServer() as server:
        reply(server, openai_error("bad key", code="invalid_api_key"), 401)
        with pytest.raises(ProviderError) as info:
            run_requests([request], {"openai": provider_for(server)}, None, settings)
    assert for_error(info.value) == 3 and KEY not in str(info.value)


def test_a_compatible_servers_500_is_counted_under_http_500_not_under_the_servers_name():
    # the live bug of issue 18: the reason was cut from "OpenAI-compatible server at http://...: HTTP 500: ..."
    # at its first colon, so every failure of a local server was counted under "OpenAI-compatible server at http"
    from promptreview.engine.execution.runner import RunSettings, run_requests
    from promptreview.engine.jobs import PlannedCall
    from promptreview.engine.measurement.examples import failure_details
    from promptreview.engine.measurement.frame import build_frame
    from promptreview.engine.measurement.outcomes import ScoredCall

    requests = [make_request(schema=SCHEMA, user=f"ticket {i}") for i in range(2)]
    settings = RunSettings(concurrency=1, retry=RetryPolicy(max_attempts=1))
    with ScriptedServer() as server:
        reply(server, openai_error("The server had an error.", "server_error"), 500)
        reply(server, openai_error("The server had an error.", "server_error"), 500)
        completions = run_requests(requests, {"openai": provider_for(server)}, None, settings)
    validator = make_validator(SCHEMA, "t")
    scored = [
        ScoredCall(PlannedCall(0, "head", f"i{i}", "all", 0, c.request), c, classify(c, validator))
        for i, c in enumerate(completions)
    ]
    assert failure_details(build_frame("p", scored)) == {"error": {"HTTP 500": 2}}
    assert "OpenAI-compatible server at http" in completions[0].error.message  # the sentence still names it


def test_missing_key_for_the_public_api_is_missing_credentials():
    provider = create({})
    assert provider.base_url == "https://api.openai.com/v1"
    with pytest.raises(MissingCredentials) as info:
        call(provider, make_request())
    assert info.value.env_var == "OPENAI_API_KEY" and for_error(info.value) == 2
    # a first try without a key: the offline model, or GitHub Models with the workflow's own token
    assert "`--model sim:NAME`" in str(info.value) and "`promptreview init --provider github`" in str(
        info.value
    )


def test_compatible_server_needs_no_key_and_gets_no_authorization_header():
    with ScriptedServer() as server:
        reply(server, openai_chat_completion(ANSWER, model="llama-3.1-8b-instruct"))
        result = call(provider_for(server, key=None), make_request("openai:llama-3.1-8b-instruct"))
    assert "authorization" not in server.requests[0].headers
    assert result.response.served_model == "llama-3.1-8b-instruct"


def test_compatible_server_without_json_mode_falls_back_to_the_instruction():
    with ScriptedServer() as server:
        server.enqueue(400, openai_error("response_format type json_object is not supported"))
        reply(server, openai_chat_completion(ANSWER))
        reply(server, openai_chat_completion(ANSWER))
        provider = provider_for(server)
        first = call(provider, replace(make_request(), json_object=True))
        second = call(provider, replace(make_request(), json_object=True))
    assert first.response.text == ANSWER and second.response.text == ANSWER
    assert "response_format" in server.requests[0].json
    assert "response_format" not in server.requests[1].json
    assert "response_format" not in server.requests[2].json  # remembered for the run
    assert len(provider.notes) == 1 and provider.notes[0].kind == "structured_output_rejected"


def test_compatible_server_rejecting_a_schema_fails_the_request_and_never_drops_it():
    with ScriptedServer() as server:
        server.enqueue(400, openai_error("response_format type json_schema is not supported"))
        provider = provider_for(server)
        with pytest.raises(FatalCallError) as info:
            call(provider, make_request(schema=SCHEMA))
    assert info.value.status == 400 and len(server.requests) == 1 and not provider.notes


def test_only_the_servers_own_words_say_it_rejects_structured_output():
    # our wording of the error names the server, whose URL may hold a hint ("structured"): it must not count
    with ScriptedServer() as server:
        server.enqueue(400, openai_error("model llama-3 is retired", code="model_retired"))
        provider = create({"OPENAI_BASE_URL": f"{server.url}/structured-output/v1"})
        with pytest.raises(FatalCallError) as info:
            call(provider, make_request(schema=SCHEMA))
    assert (
        "/structured-output/v1" in str(info.value)
        and info.value.failure.server_message == "model llama-3 is retired"
    )
    assert len(server.requests) == 1 and not provider.notes  # no second request without response_format
    with ScriptedServer() as server:  # the server's error code is its own word too
        server.enqueue(400, openai_error("bad request", code="unsupported_response_format"))
        reply(server, openai_chat_completion(ANSWER))
        provider = provider_for(server)
        assert call(provider, replace(make_request(), json_object=True)).response.text == ANSWER
    assert "response_format" not in server.requests[1].json


def test_handler_mode_answers_by_rule_and_validates_requests():
    def answer(body: dict) -> str:
        text = body["messages"][-1]["content"]
        return json.dumps({"label": "billing" if "invoice" in text else "other", "urgent": False})

    with ScriptedServer(openai_compatible_handler(answer, validate=True)) as server:
        provider = provider_for(server)
        billing = call(provider, make_request(schema=SCHEMA))
        other = call(provider, make_request(schema=SCHEMA, user="The app crashes."))
    assert json.loads(billing.response.text)["label"] == "billing"
    assert json.loads(other.response.text)["label"] == "other"
    assert billing.response.served_model == MODEL


def test_registry_creates_the_provider_and_it_judges_pins_by_id():
    provider = create_provider("openai", {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert provider.name == "openai" and provider.key_env_var == "OPENAI_API_KEY"
    assert provider.pin_status("gpt-4o-mini-2024-07-18") == "pinned"  # the id decides, not the base URL
    assert provider.pin_status("gpt-4o") == "floating"
    assert provider.pin_status("llama-3.1-8b-instruct") == "unverifiable"
    assert provider.pinned_suggestions("gpt-4o") == [
        "gpt-4o-2024-11-20",
        "gpt-4o-2024-08-06",
        "gpt-4o-2024-05-13",
    ]


def test_fake_response_shapes_are_valid_openai_responses():
    for body in (
        openai_chat_completion(ANSWER),
        openai_chat_completion(None, refusal="no"),
        openai_chat_completion("{", finish_reason="length"),
        openai_chat_completion(None, finish_reason="content_filter"),
    ):
        assert_openai_valid("CreateChatCompletionResponse", body)


def test_request_validator_rejects_bad_bodies():
    from tests.servers import openai_schema_problem

    assert openai_schema_problem("CreateChatCompletionRequest", {"model": MODEL, "messages": []})
    assert openai_schema_problem(
        "CreateChatCompletionRequest",
        {
            "model": MODEL,
            "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_schema"},
        },
    )


def test_non_json_body_and_transport_errors_are_retryable_with_the_key_scrubbed():
    token = "local-server-token-SECRET42"  # a compatible server's own token: no well-known prefix
    with ScriptedServer() as server:
        server.enqueue(200, body=f"<html>502 from the proxy, token {token}</html>")
        server.enqueue(drop=True)
        provider = provider_for(server, key=token)
        with pytest.raises(RetriesExhausted) as not_json:
            call(provider, make_request(schema=SCHEMA), max_attempts=1)
        with pytest.raises(RetriesExhausted) as dropped:
            call(provider, make_request(schema=SCHEMA), max_attempts=1)
        with pytest.raises((RetriesExhausted, FatalCallError)) as bad_header:  # httpx quotes the header value
            call(provider_for(server, key=f"{token}\n"), make_request(schema=SCHEMA), max_attempts=1)
    assert isinstance(not_json.value.last, RetryableCallError) and "not JSON" in str(not_json.value)
    assert isinstance(dropped.value.last, RetryableCallError) and "connection failed" in str(dropped.value)
    for info in (not_json, dropped, bad_header):
        assert "SECRET" not in str(info.value)


def test_a_declared_strict_is_sent_as_declared_an_undeclared_one_as_strict_mode_allows():
    provider = OpenAIProvider(api_key=KEY)
    loose = {**SCHEMA, "required": []}  # strict mode would reject it: every property must be required

    def sent(schema: dict, strict: bool | None) -> bool:
        request = replace(make_request(schema=schema), schema_strict=strict)
        return provider.build_body(request)["response_format"]["json_schema"]["strict"]

    assert (sent(loose, True), sent(SCHEMA, False)) == (
        True,
        False,
    )  # as the file declares: production sends it
    assert (sent(loose, None), sent(SCHEMA, None)) == (False, True)
