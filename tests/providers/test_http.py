"""The shared HTTP base (`providers/http.py`) and the Provider contract every registered provider meets."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import httpx
import pytest

from promptreview.errors import MissingCredentials
from promptreview.notes import note
from promptreview.providers import create_provider, known_providers
from promptreview.providers.base import FatalCallError, PinStatus, RetryableCallError
from promptreview.providers.http import HTTPProvider, error_message, http_failure, send_json
from promptreview.records import CompletionRequest, ProviderResponse
from promptreview.report.notes import words
from tests.servers import RecordedRequest, Reply, ScriptedServer, make_request

KEY = "proxy-token-0123456789"  # no well-known prefix: only the exact-secret rule can hide it


class Echo(HTTPProvider):
    """The smallest provider over the base: `{"answer": ...}` back, structured output as `format`."""

    name = "echo"
    key_env_var = "ECHO_KEY"
    service_name = "Echo"
    default_base_url = "https://echo.invalid"

    @property
    def url(self) -> str:
        return f"{self.base_url}/answer"

    def build_body(self, request: CompletionRequest, *, structured: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"model": request.model.model}
        if structured and request.response_schema:
            body["format"] = request.response_schema
        elif structured and request.json_object and self.structured_output_allowed(request.model.model):
            body["format"] = "json"
        return body

    def parse_response(self, data: Any) -> ProviderResponse:
        if not isinstance(data, dict) or "answer" not in data:
            raise self.malformed("answer", data)
        return ProviderResponse(text=data["answer"])

    def pin_status(self, model_id: str) -> PinStatus:
        return "unverifiable"

    def pinned_suggestions(self, model_id: str) -> list[str]:
        return []

    def rejects_structured_output(self, error: FatalCallError, body: Mapping[str, Any]) -> bool:
        return "format" in body and error.status == 400 and "format" in (error.failure.server_message or "")

    def classify(self, response: httpx.Response, body: Any) -> FatalCallError | None:
        if response.status_code == 418:  # quotes the server verbatim, on purpose unscrubbed
            return FatalCallError(http_failure(response, body, f"Echo: teapot says {response.text}"))
        return None


def once(provider: HTTPProvider, request: CompletionRequest, timeout: float = 2.0) -> ProviderResponse:
    async def go() -> ProviderResponse:
        async with httpx.AsyncClient(timeout=timeout) as client:
            return await provider.complete(request, client)

    return asyncio.run(go())


def echo_for(server: ScriptedServer, key: str | None = KEY) -> Echo:
    return Echo(base_url=server.url, api_key=key)


SCHEMA = {"type": "object"}


def test_every_registered_provider_offers_what_the_engine_calls():
    for name in known_providers():
        provider = create_provider(name, {})
        assert provider.name == name
        assert provider.notes == []
        if provider.key_env_var is None:
            assert provider.require_credentials() is None
        else:
            with pytest.raises(MissingCredentials) as info:
                provider.require_credentials()
            assert info.value.env_var == provider.key_env_var


@pytest.mark.parametrize("name", ["openai", "anthropic", "ollama", "github", "sim"])
def test_importing_one_provider_imports_no_other(name):
    others = sorted({"openai", "anthropic", "ollama", "github", "sim"} - {name})
    code = (
        f"import sys, promptreview.providers.{name}\n"
        f"loaded = [m for m in {others!r} if 'promptreview.providers.' + m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_headers_credentials_and_the_public_api():
    assert Echo(api_key=KEY).headers() == {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Authorization": f"Bearer {KEY}",
    }
    assert "Authorization" not in Echo(base_url="http://127.0.0.1:9").headers()
    with pytest.raises(MissingCredentials, match="Echo needs an API key: set ECHO_KEY"):
        Echo().require_credentials()
    Echo(base_url="http://127.0.0.1:9").require_credentials()  # another server may need no key


def json_mode(spec: str) -> CompletionRequest:
    return replace(make_request(spec), json_object=True)


def test_json_mode_fallback_is_remembered_and_noted_once_even_under_concurrency():
    def handler(request: RecordedRequest) -> Reply:
        if "format" in request.json:
            return Reply(400, {"error": {"message": "unknown field: format"}})
        return Reply(200, {"answer": "ok"})

    async def three(provider: Echo) -> list[ProviderResponse]:
        async with httpx.AsyncClient(timeout=2.0) as client:
            request = json_mode("echo:m1")
            return list(await asyncio.gather(*(provider.complete(request, client) for _ in range(3))))

    with ScriptedServer(handler) as server:
        provider = echo_for(server)
        answers = asyncio.run(three(provider))
        again = once(provider, json_mode("echo:m1"))
    assert [a.text for a in answers] == ["ok"] * 3 and again.text == "ok"
    assert "format" not in server.requests[-1].json  # the model is remembered: no rejected call first
    error = "Echo: request rejected (HTTP 400): unknown field: format"
    assert provider.notes == [note("structured_output_rejected", "m1", service="Echo", error=error)]
    assert words(provider.notes[0]) == (
        f"Echo rejected structured output for m1 ({error}); ran with the prompt's instruction alone"
    )


def test_a_schema_the_server_rejects_is_never_dropped():
    # the fallback would review the prompt without the schema production sends: the request fails instead
    def handler(request: RecordedRequest) -> Reply:
        if "format" in request.json:
            return Reply(400, {"error": {"message": "unknown field: format"}})
        return Reply(200, {"answer": "ok"})

    with ScriptedServer(handler) as server:
        provider = echo_for(server)
        assert once(provider, json_mode("echo:m1")).text == "ok"  # JSON mode alone may fall back
        for _ in range(2):  # also once the model is known to have no JSON mode
            with pytest.raises(FatalCallError, match="unknown field: format"):
                once(provider, make_request("echo:m1", schema=SCHEMA))
    assert [("format" in r.json) for r in server.requests] == [True, False, True, True]


def test_an_error_that_is_not_about_structured_output_is_not_retried_without_it():
    with ScriptedServer() as server:
        server.enqueue(400, {"error": {"message": "model m1 is retired"}})
        provider = echo_for(server)
        with pytest.raises(FatalCallError, match="retired"):
            once(provider, make_request("echo:m1", schema=SCHEMA))
    assert len(server.requests) == 1 and provider.notes == []


def test_a_classify_hook_that_quotes_the_server_is_scrubbed_by_the_base():
    with ScriptedServer() as server:
        server.enqueue(418, body=f"short and stout, key {KEY}")
        with pytest.raises(FatalCallError) as info:
            once(echo_for(server), make_request("echo:m1"))
    assert info.value.status == 418 and "teapot" in str(info.value) and KEY not in str(info.value)


def test_a_key_is_hidden_even_where_the_error_text_is_cut():
    page = "x" * 290 + f" {KEY} " + "y" * 200  # the snippet ends inside the key
    with ScriptedServer() as server:
        server.enqueue(502, body=page)
        with pytest.raises(RetryableCallError) as info:
            once(echo_for(server), make_request("echo:m1"))
    assert KEY[:6] not in str(info.value) and "***" in str(info.value)


def test_a_key_pasted_with_a_stray_newline_is_hidden_from_the_transport_error():
    with ScriptedServer() as server:  # httpx refuses the header value and quotes it in its error
        with pytest.raises((RetryableCallError, FatalCallError)) as info:
            once(echo_for(server, key=f"{KEY}\n"), make_request("echo:m1"))
    assert KEY not in str(info.value)


def test_undecodable_body_and_malformed_answer():
    with ScriptedServer() as server:
        server.enqueue(200, body=b"not gzip at all", headers={"Content-Encoding": "gzip"})
        server.enqueue(200, {"error": {"message": f"upstream rejected {KEY}"}})
        provider = echo_for(server)
        with pytest.raises(RetryableCallError, match="could not be read"):
            once(provider, make_request("echo:m1"))
        with pytest.raises(FatalCallError) as info:
            once(provider, make_request("echo:m1"))
    assert "Echo: the response has no answer" in str(info.value) and KEY not in str(info.value)


def test_send_json_raises_no_httpx_error():
    async def go(url: str) -> Any:
        async with httpx.AsyncClient(timeout=0.2) as client:
            return await send_json(client, "GET", url, service="X", secrets=(KEY,))

    with ScriptedServer() as server:
        server.enqueue(200, {"ok": True}, delay=5)
        server.enqueue(drop=True)
        with pytest.raises(RetryableCallError, match="timed out"):
            asyncio.run(go(server.url))
        with pytest.raises(RetryableCallError, match="connection failed"):
            asyncio.run(go(server.url))
    with pytest.raises(FatalCallError, match="not a usable URL"):
        asyncio.run(go("ftp://127.0.0.1:9/"))
    assert error_message({"detail": "vLLM style"}) == "vLLM style"
