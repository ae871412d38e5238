"""Anthropic Messages API.

`POST {ANTHROPIC_BASE_URL or https://api.anthropic.com}/v1/messages` with `x-api-key: $ANTHROPIC_API_KEY` and
`anthropic-version: 2023-06-01`. System messages go to the top-level `system`; a declared JSON Schema is sent as
`output_config: {format: {type: json_schema, schema}}` on models that support structured outputs (Claude 4.5
generation and later, Opus 4.1), else the prompt's instruction alone does the work; a server that rejects
`output_config` with a 400 naming it gets the instruction alone (`HTTPProvider`'s fallback).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import httpx

from promptreview.providers import pinning
from promptreview.providers.anthropic_batches import AnthropicBatches
from promptreview.providers.base import FatalCallError, PinStatus, env_get
from promptreview.providers.http import CallError, HTTPProvider, http_failure
from promptreview.records import CompletionRequest, ProviderResponse, ToolCall, Usage, interned
from promptreview.vocabulary import FinishReason

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024  # the Messages API requires max_tokens; used when the prompt and config set none

_STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "refusal",
    "tool_use": "tool_calls",
}
_SPEND_LIMIT = re.compile(r"spend limit|usage limit|credit balance|billing|quota", re.IGNORECASE)


class AnthropicProvider(HTTPProvider):
    name = "anthropic"
    key_env_var: str | None = "ANTHROPIC_API_KEY"
    service_name = "Anthropic"
    default_base_url = DEFAULT_BASE_URL

    # -- pinning --------------------------------------------------------------------------------------
    def pin_status(self, model_id: str) -> PinStatus:
        return pinning.anthropic_pin_status(model_id)

    def pinned_suggestions(self, model_id: str) -> list[str]:
        return pinning.anthropic_pinned_suggestions(model_id)

    # -- provider batches (Message Batches) ------------------------------------------------------------
    def provider_batches(self) -> AnthropicBatches:
        """Message Batches under the same base URL, with the same key, headers, bodies and parsing."""
        return AnthropicBatches(self)

    # -- the call -------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        base = self.base_url
        return f"{base}/messages" if base.endswith("/v1") else f"{base}/v1/messages"

    def extra_headers(self) -> dict[str, str]:
        return {"anthropic-version": API_VERSION}

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def structured(self, request: CompletionRequest) -> bool:
        model = request.model.model
        return request.response_schema is not None and pinning.anthropic_supports_structured_output(model)

    def build_body(self, request: CompletionRequest, *, structured: bool = True) -> dict[str, Any]:
        params = request.params_dict
        system = "\n\n".join(m.content for m in request.messages if m.role in ("system", "developer"))
        messages = [
            {"role": m.role, "content": m.content}
            for m in request.messages
            if m.role in ("user", "assistant")
        ]
        if not messages:  # a prompt that is all system text: the API needs one user turn
            messages, system = [{"role": "user", "content": system}], ""
        body: dict[str, Any] = {
            "model": request.model.model,
            "max_tokens": int(
                params.get("max_tokens") or params.get("max_completion_tokens") or DEFAULT_MAX_TOKENS
            ),
            "messages": messages,
        }
        if system:
            body["system"] = system
        for key in ("temperature", "top_p", "top_k"):
            if params.get(key) is not None:
                body[key] = params[key]
        stop = params.get("stop")
        if stop:
            body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        if request.tools:  # Chat Completions' function tools in Anthropic's spelling
            body["tools"] = [
                {"name": f["name"], "description": f.get("description", ""),
                 "input_schema": f.get("parameters") or {"type": "object", "properties": {}}}
                for f in (t["function"] for t in request.tools)
            ]  # fmt: skip
            choice = _tool_choice(request.tool_choice)
            if choice is not None:
                body["tool_choice"] = choice
        # `seed` has no Anthropic counterpart and is not sent
        if structured and self.structured(request):
            body["output_config"] = {"format": {"type": "json_schema", "schema": request.response_schema}}
        return body

    def classify(self, response: httpx.Response, body: Any) -> CallError | None:
        status = response.status_code
        if status == 401:
            return FatalCallError(
                http_failure(
                    response,
                    body,
                    "Anthropic: the API key in ANTHROPIC_API_KEY was rejected as invalid (HTTP 401 "
                    "authentication_error); check that it is current and complete",
                    self.secrets(),
                )
            )
        message = self.error_text(response, body)
        if status == 429 and _SPEND_LIMIT.search(message):  # the server's own message, not our wording of it
            return FatalCallError(
                http_failure(
                    response,
                    body,
                    f"Anthropic: the organization's spend limit is reached (HTTP 429: {message}); raise the limit "
                    "or wait",
                    self.secrets(),
                )
            )
        return None

    def parse_response(self, data: Any) -> ProviderResponse:
        if not isinstance(data, dict) or not isinstance(data.get("content"), list):
            raise self.malformed("content", data)
        texts = [
            b.get("text", "") for b in data["content"] if isinstance(b, dict) and b.get("type") == "text"
        ]
        text = "".join(texts) if texts else None
        stop = data.get("stop_reason")
        finish = _STOP_REASONS.get(stop, "other") if stop else None
        refusal = None
        if stop == "refusal":
            refusal = text.strip() if text and text.strip() else "stop_reason: refusal"
        usage = data.get("usage") or {}
        fresh = usage.get("input_tokens")
        read = usage.get("cache_read_input_tokens") or 0
        written = usage.get("cache_creation_input_tokens") or 0
        return ProviderResponse(
            text=text,
            refusal=refusal,
            finish_reason=finish,
            tool_calls=_tool_uses(data["content"]),
            served_model=interned(data.get("model")),
            usage=Usage(
                # input_tokens counts only the uncached part; prompt_tokens counts all, as OpenAI's does
                prompt_tokens=None if fresh is None else fresh + read + written,
                completion_tokens=usage.get("output_tokens"),
                cached_tokens=read if "cache_read_input_tokens" in usage else None,
            ),
            # the body has no timestamp: `complete` takes the time from the `date` header, with `request-id`
            response_id=data["id"] if isinstance(data.get("id"), str) and data["id"] else None,
        )


def _tool_choice(choice: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """Chat Completions' `tool_choice` in Anthropic's spelling: `required` is `any`, a named function `tool`."""
    if choice is None:
        return None
    if isinstance(choice, dict):
        return {"type": "tool", "name": choice["function"]["name"]}
    return {"type": "any" if choice == "required" else choice}


def _tool_uses(content: list[Any]) -> tuple[ToolCall, ...]:
    """The `tool_use` blocks: the tool's name and its `input` encoded as JSON text. An `input` that is not an
    object (a string, as a server that streams `partial_json` and stops early may leave it) is kept as its
    text: its arguments are then no JSON object, an outcome of their own, not an unreadable response."""
    out = []
    for block in content:
        if (
            not isinstance(block, dict)
            or block.get("type") != "tool_use"
            or not isinstance(block.get("name"), str)
        ):
            continue
        raw = block.get("input")
        arguments = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
        block_id = block.get("id")
        out.append(ToolCall(block["name"], arguments, block_id if isinstance(block_id, str) else None))
    return tuple(out)


def create(env: Mapping[str, str]) -> AnthropicProvider:
    """ANTHROPIC_BASE_URL (default https://api.anthropic.com), ANTHROPIC_API_KEY (checked on the first call)."""
    return AnthropicProvider(
        base_url=env_get(env, "ANTHROPIC_BASE_URL", DEFAULT_BASE_URL) or DEFAULT_BASE_URL,
        api_key=env_get(env, "ANTHROPIC_API_KEY"),
    )
