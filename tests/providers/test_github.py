"""GitHub Models: the OpenAI wire format at models.github.ai with GITHUB_TOKEN, against a loopback server."""

from __future__ import annotations

import pytest

from promptreview.errors import MissingCredentials
from promptreview.providers import create_provider
from promptreview.providers.base import FatalCallError, RetryableCallError
from promptreview.providers.github import create
from promptreview.providers.retry import RetriesExhausted
from tests.servers import (
    ScriptedServer,
    assert_openai_valid,
    call,
    make_request,
    openai_chat_completion,
    openai_error,
)

TOKEN = "ghs_testtoken0123456789SECRET"
MODEL = "openai/gpt-4.1-mini"
SCHEMA = {
    "type": "object",
    "properties": {"label": {"type": "string"}},
    "required": ["label"],
    "additionalProperties": False,
}
ANSWER = '{"label": "billing"}'


def provider_for(server: ScriptedServer, token: str | None = TOKEN):
    env = {"GITHUB_MODELS_BASE_URL": f"{server.url}/inference"}
    if token:
        env["GITHUB_TOKEN"] = token
    return create(env)


def test_success_uses_the_token_and_github_headers():
    with ScriptedServer() as server:
        server.enqueue(200, openai_chat_completion(ANSWER, model="gpt-4.1-mini-2025-04-14"))
        request = make_request(
            f"github:{MODEL}", schema=SCHEMA, params={"max_tokens": 100, "temperature": 0.5}
        )
        result = call(provider_for(server), request)
    sent = server.requests[0]
    assert sent.method == "POST" and sent.path == "/inference/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["accept"] == "application/vnd.github+json"
    assert sent.headers["x-github-api-version"] == "2022-11-28"
    assert_openai_valid("CreateChatCompletionRequest", sent.json)
    assert sent.json["model"] == MODEL and sent.json["max_tokens"] == 100
    assert sent.json["response_format"]["json_schema"]["schema"] == SCHEMA
    assert result.response.text == ANSWER
    assert result.response.served_model == "gpt-4.1-mini-2025-04-14"  # recorded, so a mismatch is reported


def test_every_id_is_unverifiable():
    provider = create_provider("github", {})
    assert provider.name == "github" and provider.key_env_var == "GITHUB_TOKEN"
    for model in (MODEL, "openai/gpt-4o-2024-08-06", "meta/Llama-3.3-70B-Instruct"):
        assert provider.pin_status(model) == "unverifiable"
    assert provider.pinned_suggestions(MODEL) == []


def test_missing_token_explains_the_workflow_permission():
    with pytest.raises(MissingCredentials) as info:
        call(create({}), make_request(f"github:{MODEL}"))
    assert info.value.env_var == "GITHUB_TOKEN" and "models: read" in str(info.value)
    # the action passes the workflow's token: no `env:` to add; and the offline way to try it
    assert "secrets.GITHUB_TOKEN" not in str(info.value) and "--model sim:NAME" in str(info.value)


def test_403_names_the_models_permission():
    with ScriptedServer() as server:
        server.enqueue(
            403, {"error": {"code": "no_access", "message": "No access to model: openai/gpt-4.1-mini"}}
        )
        with pytest.raises(FatalCallError) as info:
            call(provider_for(server), make_request(f"github:{MODEL}"))
    assert "permissions: models: read" in str(info.value) and len(server.requests) == 1


def test_401_never_prints_the_token():
    with ScriptedServer() as server:
        server.enqueue(401, {"error": {"code": "unauthorized", "message": f"Bad credentials {TOKEN}"}})
        with pytest.raises(FatalCallError) as info:
            call(provider_for(server), make_request(f"github:{MODEL}"))
    assert "GITHUB_TOKEN" in str(info.value) and TOKEN not in str(info.value)


def test_short_rate_limit_is_retried_daily_quota_is_fatal():
    with ScriptedServer() as server:
        server.enqueue(429, openai_error("Rate limit of 15 per 60s exceeded", code="RateLimitReached"),
                       headers={"retry-after": "4"})  # fmt: skip
        server.enqueue(200, openai_chat_completion(ANSWER))
        result = call(provider_for(server), make_request(f"github:{MODEL}"))
        assert result.attempts == 2 and result.sleeps == [4.0]
        server.enqueue(429, openai_error("Rate limit of 150 per 86400s exceeded for UserByDay",
                                         code="RateLimitReached"), headers={"retry-after": "52000"})  # fmt: skip
        with pytest.raises(FatalCallError) as info:
            call(provider_for(server), make_request(f"github:{MODEL}"))
    assert "14.4 h" in str(info.value)
    assert len(server.requests) == 3


def test_500_then_success():
    with ScriptedServer() as server:
        server.enqueue(500, openai_error("internal", "server_error"))
        server.enqueue(200, openai_chat_completion(ANSWER))
        result = call(provider_for(server), make_request(f"github:{MODEL}"))
    assert result.response.text == ANSWER and result.attempts == 2


def test_model_without_structured_output_fails_the_request_and_never_drops_the_schema():
    with ScriptedServer() as server:
        server.enqueue(400, {"error": {"code": "invalid_request_error",
                                       "message": "Invalid parameter: 'response_format' of type 'json_schema' is "
                                                  "not supported with this model."}})  # fmt: skip
        server.enqueue(200, openai_chat_completion(ANSWER))
        provider = provider_for(server)
        with pytest.raises(FatalCallError) as info:
            call(provider, make_request("github:meta/Llama-3.3-70B-Instruct", schema=SCHEMA))
    assert info.value.status == 400 and len(server.requests) == 1 and not provider.notes


def test_endpoint_defaults_and_org_attribution():
    assert create({}).url == "https://models.github.ai/inference/chat/completions"
    assert (
        create({"GITHUB_MODELS_ORG": "acme"}).url
        == "https://models.github.ai/orgs/acme/inference/chat/completions"
    )


def test_non_json_body_and_transport_errors_are_retryable_with_the_token_scrubbed():
    with ScriptedServer() as server:
        server.enqueue(200, body=f"<html>unicorn! token {TOKEN}</html>")
        server.enqueue(drop=True)
        provider = provider_for(server)
        with pytest.raises(RetriesExhausted) as not_json:
            call(provider, make_request(f"github:{MODEL}"), max_attempts=1)
        with pytest.raises(RetriesExhausted) as dropped:
            call(provider, make_request(f"github:{MODEL}"), max_attempts=1)
        with pytest.raises((RetriesExhausted, FatalCallError)) as bad_header:  # httpx quotes the header value
            call(provider_for(server, token=f"{TOKEN}\n"), make_request(f"github:{MODEL}"), max_attempts=1)
    assert isinstance(not_json.value.last, RetryableCallError) and "not JSON" in str(not_json.value)
    assert isinstance(dropped.value.last, RetryableCallError) and "connection failed" in str(dropped.value)
    for info in (not_json, dropped, bad_header):
        assert "SECRET" not in str(info.value)
