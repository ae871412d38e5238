"""The native Ollama provider against a loopback server speaking `/api/tags` and `/api/chat`."""

from __future__ import annotations

import pytest

from promptreview.providers import create_provider, pinning
from promptreview.providers.base import FatalCallError, RetryableCallError
from promptreview.providers.ollama import OllamaProvider, create, parse_host
from promptreview.providers.retry import RetriesExhausted
from tests.servers import Reply, ScriptedServer, call, make_request

DIGEST = "46e0c10c039e019119339687c3c1757cc81b9da49709a3b3924863ba87ca666e"
PINNED = f"llama3.1:8b@sha256:{DIGEST[:12]}"
SCHEMA = {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}
ANSWER = '{"label": "billing"}'
TAGS = {
    "models": [
        {
            "name": "llama3.1:8b",
            "model": "llama3.1:8b",
            "modified_at": "2025-05-04T17:37:44.706015396-07:00",
            "size": 4920753328,
            "digest": DIGEST,
            "details": {
                "format": "gguf",
                "family": "llama",
                "parameter_size": "8.0B",
                "quantization_level": "Q4_K_M",
            },
        },
        {"name": "qwen2.5:latest", "model": "qwen2.5:latest", "digest": "a" * 64, "size": 1},
    ]
}


def chat_reply(content: str, *, model: str = "llama3.1:8b", done_reason: str = "stop") -> dict:
    return {
        "model": model,
        "created_at": "2025-05-04T17:40:00.000000Z",
        "message": {"role": "assistant", "content": content},
        "done": True,
        "done_reason": done_reason,
        "total_duration": 4883583458,
        "load_duration": 1334875,
        "prompt_eval_count": 26,
        "prompt_eval_duration": 342546000,
        "eval_count": 12,
        "eval_duration": 4535599000,
    }


def serve_tags(server: ScriptedServer, tags: dict = TAGS) -> ScriptedServer:
    return server.route("GET", "/api/tags", Reply(200, tags))


def test_success_sends_schema_format_and_options_and_records_the_digest():
    with ScriptedServer() as server:
        serve_tags(server)
        server.enqueue(200, chat_reply(ANSWER))
        request = make_request(f"ollama:{PINNED}", schema=SCHEMA,
                               params={"temperature": 0.7, "seed": 42, "max_tokens": 200, "top_p": 0.9})  # fmt: skip
        result = call(create({"OLLAMA_HOST": server.url}), request)
    [chat] = server.requests_to("/api/chat", "POST")
    body = chat.json
    assert body["model"] == "llama3.1:8b"  # the digest is ours, not Ollama's
    assert body["stream"] is False
    assert body["format"] == SCHEMA
    assert body["options"] == {"temperature": 0.7, "seed": 42, "num_predict": 200, "top_p": 0.9}
    assert body["messages"][0] == {"role": "system", "content": "Classify the ticket. Answer with JSON only."}
    response = result.response
    assert response.text == ANSWER and response.finish_reason == "stop"
    assert response.served_model == PINNED  # equal to the request: no mismatch warning
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (26, 12)


def test_tags_are_fetched_once_per_run():
    with ScriptedServer() as server:
        serve_tags(server)
        server.enqueue(200, chat_reply(ANSWER)).enqueue(200, chat_reply(ANSWER))
        provider = create({"OLLAMA_HOST": server.url})
        call(provider, make_request(f"ollama:{PINNED}"))
        call(provider, make_request(f"ollama:{PINNED}"))
    assert len(server.requests_to("/api/tags")) == 1
    assert provider.digests["llama3.1:8b"] == DIGEST


def test_json_object_mode_sends_format_json():
    body = OllamaProvider().build_body(
        make_request(f"ollama:{PINNED}", params={"response_format": "json_object"})
    )
    assert body["format"] == "json" and "options" not in body


def test_changed_digest_is_fatal_and_names_the_new_pin():
    with ScriptedServer() as server:
        serve_tags(server)
        with pytest.raises(FatalCallError) as info:
            call(create({"OLLAMA_HOST": server.url}), make_request("ollama:llama3.1:8b@sha256:0123456789ab"))
    assert "not the pinned sha256:0123456789ab" in str(info.value)
    assert PINNED in str(info.value)
    assert not server.requests_to("/api/chat")


def test_model_not_pulled_is_fatal_with_the_pull_command():
    with ScriptedServer() as server:
        serve_tags(server)
        with pytest.raises(FatalCallError) as info:
            call(create({"OLLAMA_HOST": server.url}), make_request("ollama:mistral:7b@sha256:0123456789ab"))
    assert "ollama pull mistral:7b" in str(info.value)


def test_unpinned_tag_runs_and_reports_its_digest():
    with ScriptedServer() as server:
        serve_tags(server)
        server.enqueue(200, chat_reply(ANSWER, model="qwen2.5:latest"))
        result = call(create({"OLLAMA_HOST": server.url}), make_request("ollama:qwen2.5"))
    assert result.response.served_model == "qwen2.5@sha256:aaaaaaaaaaaa"


def test_length_is_a_truncation():
    with ScriptedServer() as server:
        serve_tags(server)
        server.enqueue(200, chat_reply('{"label": "bi', done_reason="length"))
        result = call(create({"OLLAMA_HOST": server.url}), make_request(f"ollama:{PINNED}"))
    assert result.response.finish_reason == "length"


def test_busy_server_then_success_and_timeout_then_success():
    with ScriptedServer() as server:
        serve_tags(server)
        server.enqueue(503, {"error": "server busy, please try again.  maximum pending requests exceeded"},
                       headers={"retry-after": "2"})  # fmt: skip
        server.enqueue(500, {"error": "llama runner process has terminated"})
        server.enqueue(200, chat_reply(ANSWER), delay=30)
        server.enqueue(200, chat_reply(ANSWER))
        result = call(create({"OLLAMA_HOST": server.url}), make_request(f"ollama:{PINNED}"), timeout=0.3)
    assert result.response.text == ANSWER and result.attempts == 4
    assert result.sleeps[0] == 2.0


def test_chat_404_is_fatal():
    with ScriptedServer() as server:
        serve_tags(server)
        server.enqueue(404, {"error": "model 'llama3.1:8b' not found"})
        with pytest.raises(FatalCallError) as info:
            call(create({"OLLAMA_HOST": server.url}), make_request(f"ollama:{PINNED}"))
    assert "not found" in str(info.value) and "ollama pull" in str(info.value)


def test_pinned_suggestions_come_from_the_local_tags():
    with ScriptedServer() as server:
        serve_tags(server)
        provider = create_provider("ollama", {"OLLAMA_HOST": server.url})
        assert provider.pin_status("llama3.1:8b") == "floating"
        assert provider.pinned_suggestions("llama3.1:8b") == [PINNED]
        assert provider.pin_status(PINNED) == "pinned"
    assert OllamaProvider(host="http://127.0.0.1:9").pinned_suggestions("llama3.1:8b") == []  # nobody home


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "http://127.0.0.1:11434"),
        ("", "http://127.0.0.1:11434"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("localhost:8080", "http://localhost:8080"),
        ("ollama.internal", "http://ollama.internal:11434"),
        ("http://127.0.0.1:11434/", "http://127.0.0.1:11434"),
        ("https://ollama.example.com", "https://ollama.example.com"),
    ],
)
def test_parse_host(value, expected):
    assert parse_host(value) == expected


def test_served_model_matches_ignores_implicit_latest():
    assert pinning.served_model_matches("ollama", "qwen2.5", "qwen2.5:latest@sha256:aaaaaaaaaaaa")
    assert not pinning.served_model_matches("ollama", PINNED, "llama3.1:8b@sha256:bbbbbbbbbbbb")


def test_non_json_bodies_and_transport_errors_are_retryable():
    """Ollama has no key to hide; what matters is the class, for /api/tags as for /api/chat."""
    with ScriptedServer() as server:
        server.enqueue(200, body="<html>not ollama</html>")  # GET /api/tags
        provider = create({"OLLAMA_HOST": server.url})
        with pytest.raises(RetriesExhausted) as tags:
            call(provider, make_request(f"ollama:{PINNED}"), max_attempts=1)
        serve_tags(server)
        server.enqueue(200, body="<html>not ollama</html>")
        server.enqueue(drop=True)
        with pytest.raises(RetriesExhausted) as chat:
            call(provider, make_request(f"ollama:{PINNED}"), max_attempts=1)
        with pytest.raises(RetriesExhausted) as dropped:
            call(provider, make_request(f"ollama:{PINNED}"), max_attempts=1)
    assert isinstance(tags.value.last, RetryableCallError) and "not JSON" in str(tags.value)
    assert isinstance(chat.value.last, RetryableCallError) and "not JSON" in str(chat.value)
    assert isinstance(dropped.value.last, RetryableCallError) and "connection failed" in str(dropped.value)
