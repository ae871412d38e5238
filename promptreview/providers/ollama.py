"""Ollama's native API, pinned by the model's digest.

`POST {OLLAMA_HOST}/api/chat` with `stream: false`, `format` = the prompt's JSON Schema (or `"json"` for JSON
without a schema) and `options` (temperature, top_p, seed, num_predict, stop). The model is pinned by its digest
from `GET /api/tags`: write `ollama:llama3.1:8b@sha256:46e0c10c039e` (at least 12 hex characters; `ollama list`
shows them). Before the first call the provider checks that the local model still has that digest, and records
`name@sha256:<digest>` as the served model of every response, so the report names the exact weights.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import re
from collections.abc import Mapping
from typing import Any

import httpx

from promptreview.providers import pinning
from promptreview.providers.base import FatalCallError, PinStatus, env_get
from promptreview.providers.http import (
    CallError,
    ClientTimeout,
    HTTPProvider,
    http_failure,
    wants_json_object,
)
from promptreview.records import CallFailure, CompletionRequest, ProviderResponse, Usage
from promptreview.vocabulary import FinishReason

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_PORT = 11434
# RFC 3339 as Ollama writes it: seconds, a fraction of up to nine digits (more than datetime reads), a zone
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|z|[+-]\d\d:\d\d)")
_DONE_REASONS: dict[str, FinishReason] = {"stop": "stop", "length": "length"}
_OPTION_NAMES = {"temperature": "temperature", "top_p": "top_p", "top_k": "top_k", "seed": "seed",
                 "max_tokens": "num_predict", "stop": "stop", "max_completion_tokens": "num_predict"}  # fmt: skip


def parse_host(value: str | None) -> str:
    """OLLAMA_HOST as Ollama reads it: `host[:port]` or a URL; no scheme means http and port 11434."""
    value = (value or "").strip().rstrip("/")
    if not value:
        return DEFAULT_HOST
    if "://" not in value:
        value = f"http://{value}"
        url = httpx.URL(value)
        if url.port is None:
            url = url.copy_with(port=DEFAULT_PORT)
    else:
        url = httpx.URL(value)
    if url.host in ("0.0.0.0", "::"):  # a listen address, not one to connect to
        url = url.copy_with(host="127.0.0.1")
    return str(url).rstrip("/")


class OllamaProvider(HTTPProvider):
    name = "ollama"
    key_env_var: str | None = None
    service_name = "Ollama"
    default_base_url = DEFAULT_HOST

    def __init__(self, *, host: str = DEFAULT_HOST, timeout: ClientTimeout = None) -> None:
        super().__init__(base_url=host, timeout=timeout)
        self.digests: dict[str, str] = {}  # normalized model name -> full digest, as found at the first call
        self._locks: dict[int, asyncio.Lock] = {}

    @property
    def host(self) -> str:
        return self.base_url

    def default_service(self) -> str:
        return f"Ollama at {self.base_url}"

    # -- pinning --------------------------------------------------------------------------------------
    def pin_status(self, model_id: str) -> PinStatus:
        return pinning.ollama_pin_status(model_id)

    def pinned_suggestions(self, model_id: str) -> list[str]:
        """The digest-pinned id of the local model (asks `GET /api/tags`; empty when Ollama does not answer)."""
        try:
            response = httpx.get(f"{self.host}/api/tags", timeout=5.0)
            response.raise_for_status()
            models = response.json().get("models") or []
        except (httpx.HTTPError, ValueError, AttributeError):
            return []
        return pinning.ollama_pinned_suggestions(model_id, models)

    # -- the call -------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{self.host}/api/chat"

    def headers(self) -> dict[str, str]:
        """Ollama's native API asks for no headers beyond what httpx sends with a JSON body."""
        return {}

    def classify(self, response: httpx.Response, body: Any) -> CallError | None:
        # only the chat call names a model; a 404 from GET /api/tags means the host is not Ollama at all
        if response.status_code == 404 and response.request.method == "POST":
            return FatalCallError(
                http_failure(
                    response,
                    body,
                    f"{self.service}: {self.error_text(response, body)}; run `ollama pull <model>`",
                    self.secrets(),
                )
            )
        return None

    async def _tags(self, client: httpx.AsyncClient) -> list[dict[str, Any]]:
        data = await self.get_json(client, f"{self.host}/api/tags")
        models = data.get("models") if isinstance(data, dict) else None
        if not isinstance(models, list):
            raise FatalCallError(
                CallFailure("invalid_response", f"{self.service}: GET /api/tags did not list models")
            )
        return [m for m in models if isinstance(m, dict)]

    async def resolve_digest(self, model_id: str, client: httpx.AsyncClient) -> str:
        """The full digest of the local model; fatal when it is not pulled or no longer has the pinned digest."""
        name, pinned = pinning.split_ollama_digest(model_id)
        key = pinning.normalize_ollama_name(name)
        if key not in self.digests:
            lock = self._locks.setdefault(id(asyncio.get_running_loop()), asyncio.Lock())
            async with lock:
                if key not in self.digests:
                    models = await self._tags(client)
                    for model in models:
                        tag = str(model.get("name") or model.get("model") or "")
                        if model.get("digest"):
                            self.digests.setdefault(pinning.normalize_ollama_name(tag), str(model["digest"]))
                    if key not in self.digests:
                        have = ", ".join(sorted(str(m.get("name")) for m in models)) or "none"
                        raise FatalCallError(
                            CallFailure(
                                "model_unavailable",
                                f"{self.service}: model {name!r} is not pulled (local models: {have}); "
                                f"run `ollama pull {name}`",
                            )
                        )
        digest = self.digests[key].lower().removeprefix("sha256:")
        if pinned and not digest.startswith(pinned):
            raise FatalCallError(
                CallFailure(
                    "model_unavailable",
                    f"{self.service}: {name} is now sha256:{digest[:12]}, not the pinned sha256:{pinned[:12]}; "
                    f"pull the pinned version, or review against the new one by pinning "
                    f"{pinning.ollama_pinned_id(name, digest)}",
                )
            )
        return digest

    def build_body(self, request: CompletionRequest, *, structured: bool = True) -> dict[str, Any]:
        name, _digest = pinning.split_ollama_digest(request.model.model)
        params = request.params_dict
        body: dict[str, Any] = {
            "model": name,
            "messages": [m.wire for m in request.messages],
            "stream": False,
        }
        if structured and request.response_schema is not None:
            body["format"] = request.response_schema
        elif structured and wants_json_object(request):
            body["format"] = "json"
        if params.get("tools"):
            body["tools"] = params["tools"]  # Ollama's chat API takes Chat Completions' function tools
        options = {_OPTION_NAMES[k]: v for k, v in params.items() if k in _OPTION_NAMES and v is not None}
        if isinstance(options.get("stop"), str):
            options["stop"] = [options["stop"]]
        if options:
            body["options"] = options
        return body

    def parse_response(self, data: Any) -> ProviderResponse:
        """The answer, with the served model as Ollama names it (`complete` pins it to the digest)."""
        if not isinstance(data, dict) or not isinstance(data.get("message"), dict):
            raise self.malformed("message", data)
        done = data.get("done_reason")
        return ProviderResponse(
            text=data["message"].get("content"),
            refusal=None,
            finish_reason=_DONE_REASONS.get(done, "other") if done else None,
            served_model=data.get("model"),
            usage=Usage(
                prompt_tokens=data.get("prompt_eval_count"),
                completion_tokens=data.get("eval_count"),
                cached_tokens=None,
            ),
            provider_created=iso_seconds(data.get("created_at")),
        )

    async def complete(self, request: CompletionRequest, client: httpx.AsyncClient) -> ProviderResponse:
        model_id = request.model.model
        name, pinned = pinning.split_ollama_digest(model_id)
        digest = await self.resolve_digest(model_id, client)
        data, headers = await self.post_exchange(client, request)
        response = self.provenance(self.parse_response(data), headers)
        served_name = str(response.served_model or name)
        if pinning.normalize_ollama_name(served_name) == pinning.normalize_ollama_name(name):
            served_name = name  # same model: keep the spelling of the request so the ids compare equal
        length = len(pinned) if pinned else pinning.OLLAMA_MIN_DIGEST
        return dataclasses.replace(
            response,
            served_model=pinning.ollama_pinned_id(served_name, digest, length),
            system_fingerprint=f"sha256:{digest}",  # the weights that answered, in full
        )


def iso_seconds(value: Any) -> float | None:
    """Ollama's `created_at` (RFC 3339 with up to nanoseconds, `2023-08-04T19:22:45.499127Z`) in seconds since
    the epoch; None when it cannot be read."""
    if not isinstance(value, str):
        return None
    match = _RFC3339.fullmatch(value.strip())
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    try:
        stamp = datetime.datetime.fromisoformat(whole + ("+00:00" if zone in ("Z", "z") else zone))
    except ValueError:
        return None
    return stamp.timestamp() + float(f"0{fraction}" if fraction else 0)


def create(env: Mapping[str, str]) -> OllamaProvider:
    """OLLAMA_HOST (default http://127.0.0.1:11434)."""
    return OllamaProvider(host=parse_host(env_get(env, "OLLAMA_HOST")))
