"""Gemini: Google's OpenAI-compatible endpoint with GEMINI_API_KEY (or GOOGLE_API_KEY), against a loopback
server that answers in Gemini's shape."""

from __future__ import annotations

import pytest

from promptreview.errors import MissingCredentials
from promptreview.providers import create_provider, parse_model_spec
from promptreview.providers.base import FatalCallError
from promptreview.providers.gemini import DEFAULT_BASE_URL, create
from tests.servers import (
    ScriptedServer,
    assert_openai_valid,
    call,
    gemini_chat_completion,
    gemini_error,
    make_request,
)

KEY = "AIzaSyTestKey0123456789SECRET"
MODEL = "gemini-2.0-flash-001"
SCHEMA = {
    "type": "object",
    "properties": {"label": {"type": "string"}},
    "required": ["label"],
    "additionalProperties": False,
}
ANSWER = '{"label": "billing"}'


def provider_for(server: ScriptedServer, **keys: str):
    return create({"GEMINI_BASE_URL": f"{server.url}/v1beta/openai/", **(keys or {"GEMINI_API_KEY": KEY})})


def test_a_gemini_spec_is_a_provider_of_ours():
    assert parse_model_spec(f"gemini:{MODEL}").provider == "gemini"
    provider = create_provider("gemini", {})
    assert provider.name == "gemini" and provider.key_env_var == "GEMINI_API_KEY"
    assert provider.base_url == DEFAULT_BASE_URL == "https://generativelanguage.googleapis.com/v1beta/openai"


def test_the_request_is_chat_completions_at_googles_path_with_the_key_as_bearer():
    with ScriptedServer() as server:
        server.enqueue(200, gemini_chat_completion(ANSWER))
        request = make_request(
            f"gemini:{MODEL}", schema=SCHEMA, params={"max_tokens": 100, "temperature": 0.5}
        )
        result = call(provider_for(server), request)
    sent = server.requests[0]
    assert sent.method == "POST" and sent.path == "/v1beta/openai/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert_openai_valid("CreateChatCompletionRequest", sent.json)
    assert sent.json["model"] == MODEL and sent.json["max_tokens"] == 100 and sent.json["temperature"] == 0.5
    assert sent.json["response_format"]["json_schema"]["schema"] == SCHEMA
    assert result.response.text == ANSWER and result.response.served_model == MODEL
    assert result.response.usage.prompt_tokens == 50 and result.response.usage.completion_tokens == 10


def test_google_api_key_is_read_too():
    with ScriptedServer() as server:
        server.enqueue(200, gemini_chat_completion(ANSWER))
        call(provider_for(server, GOOGLE_API_KEY=KEY), make_request(f"gemini:{MODEL}"))
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_a_missing_key_is_named_before_any_call():
    with ScriptedServer() as server:
        with pytest.raises(MissingCredentials) as info:
            call(create({"GEMINI_BASE_URL": server.url}), make_request(f"gemini:{MODEL}"))
    assert info.value.env_var == "GEMINI_API_KEY" and "GOOGLE_API_KEY" in str(info.value)
    assert "--model sim:NAME" in str(info.value)  # the way to try it without a key
    assert server.requests == []


def test_a_rejected_key_is_fatal_named_by_its_variable_and_never_printed():
    with ScriptedServer() as server:
        server.enqueue(400, gemini_error(400, f"API key not valid. Please pass a valid API key. {KEY}",
                                         "INVALID_ARGUMENT"))  # fmt: skip
        with pytest.raises(FatalCallError) as info:
            call(provider_for(server), make_request(f"gemini:{MODEL}"))
    text = str(info.value)
    assert "GEMINI_API_KEY" in text and "API key not valid" in text and KEY not in text
    assert len(server.requests) == 1


def test_googles_error_list_is_read_for_its_message():
    with ScriptedServer() as server:
        server.enqueue(404, gemini_error(404, "models/gemini-9 is not found for API version v1beta",
                                         "NOT_FOUND"))  # fmt: skip
        with pytest.raises(FatalCallError) as info:
            call(provider_for(server), make_request("gemini:gemini-9"))
    assert "models/gemini-9 is not found" in str(info.value)


@pytest.mark.parametrize(
    ("model", "status"),
    [
        ("gemini-2.0-flash-001", "pinned"),
        ("gemini-1.5-pro-002", "pinned"),
        ("gemini-2.5-flash-preview-05-20", "pinned"),
        ("gemini-2.0-flash", "floating"),
        ("gemini-1.5-flash-latest", "floating"),
        ("gemini-2.5-flash", "unverifiable"),
    ],
)
def test_pinning(model, status):
    assert create({}).pin_status(model) == status


def test_an_alias_suggests_its_numbered_version():
    assert create({}).pinned_suggestions("gemini-2.0-flash") == ["gemini-2.0-flash-001"]
