"""The records of one model call: the request (and its cache key), the provider's answer, the completion.

Frozen, and nothing here does I/O; providers, the cache and the engine all speak these."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

RATE_OUTCOMES = ("parse_failure", "schema_violation", "refusal")


@dataclass(frozen=True)
class Message:
    role: str  # system | developer | user | assistant
    content: str


@dataclass(frozen=True)
class ModelSpec:
    """`provider:model-id`, e.g. `openai:gpt-4o-mini-2024-07-18` or `sim:triage-v1?parse_failure=0.1`."""

    provider: str
    model: str

    @property
    def text(self) -> str:
        return f"{self.provider}:{self.model}"

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class CompletionRequest:
    """One model call: everything that decides its answer, and so its cache key."""

    model: ModelSpec
    messages: tuple[Message, ...]
    params: tuple[tuple[str, Any], ...] = ()  # sorted (name, value) pairs: temperature, max_tokens, seed, ...
    response_schema: dict[str, Any] | None = (
        None  # JSON Schema the output must satisfy, sent as structured output
    )
    schema_name: str = "output"
    sample_index: int = 0
    # The schema outputs are validated against when the prompt file sends none (config `schema:`).
    # Providers never put it on the wire; only `sim` reads it, to shape its answers.
    expected_schema: dict[str, Any] | None = None
    json_object: bool = False  # the prompt asks for JSON without a schema (`responseFormat: json_object`)

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)

    def cache_key(self) -> str:
        payload: dict[str, Any] = {
            "provider": self.model.provider,
            "model": self.model.model,
            "params": dict(self.params),
            "messages": [[m.role, m.content] for m in self.messages],
            "response_format": {"name": self.schema_name, "schema": self.response_schema},
            "sample": self.sample_index,
        }
        if self.json_object:
            payload["response_format"]["type"] = "json_object"
        if self.expected_schema is not None and self.model.provider == "sim":
            payload["expected_schema"] = self.expected_schema
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None


@dataclass(frozen=True)
class ProviderResponse:
    """What a provider answered, normalised across wire formats."""

    text: str | None  # the assistant's text (None when the provider refused without text)
    refusal: str | None = (
        None  # the provider's own refusal signal (OpenAI message.refusal, Anthropic stop_reason refusal)
    )
    finish_reason: str | None = None  # stop | length | content_filter | refusal | tool_calls | other
    served_model: str | None = None
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class Completion:
    """A request and what became of it: a response, or an error after retries."""

    request: CompletionRequest
    response: ProviderResponse | None
    error: str | None = None
    cached: bool = False
    attempts: int = 1  # > 1 means the call was retried
    latency_ms: float | None = None
