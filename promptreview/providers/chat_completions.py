"""The OpenAI Chat Completions wire format, shared by the `openai` and `github` providers (not a provider itself).

`POST {base}/chat/completions`. A prompt that declares a JSON Schema is sent as `response_format: {type:
json_schema, json_schema: {name, schema, strict}}` (`strict` only when the schema meets the strict-mode rules, so a
looser schema still guides the model); `json_object` mode when the prompt asks for JSON without a schema. A
server that answers 400/422 naming the structured output gets the instruction alone (`HTTPProvider`'s fallback).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from promptreview.providers.base import FatalCallError
from promptreview.providers.http import HTTPProvider, wants_json_object
from promptreview.records import CompletionRequest, ProviderResponse, Usage

_FINISH_REASONS = {"stop", "length", "content_filter", "tool_calls"}
_PASSTHROUGH_PARAMS = ("temperature", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty",
                       "max_completion_tokens")  # fmt: skip
_STRUCTURED_HINTS = re.compile(r"response_format|json_schema|guided_json|grammar|structured", re.IGNORECASE)

# Keywords OpenAI's strict mode accepts (its Structured Outputs guide); any other keyword means `strict: false`.
_STRICT_KEYWORDS = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "$defs",
    "definitions", "$ref", "description", "title", "pattern", "format", "multipleOf", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems",
})  # fmt: skip


def strict_compatible(schema: Any) -> bool:
    """Whether OpenAI's strict mode accepts `schema`: an object root, only keywords strict mode knows, and every
    object closes its properties (`additionalProperties: false`) and requires all of them. Otherwise the schema is
    sent with `strict: false`, which guides the model without being rejected."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return False

    def ok(node: Any) -> bool:
        if not isinstance(node, dict) or not set(node) <= _STRICT_KEYWORDS:
            return False
        kind = node.get("type")
        if kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in node:
            props = node.get("properties", {})
            if node.get("additionalProperties") is not False or not isinstance(props, dict):
                return False
            if set(node.get("required", [])) != set(props) or not all(ok(p) for p in props.values()):
                return False
        children = [node["items"]] if isinstance(node.get("items"), dict) else []
        children += list(node.get("anyOf") or [])
        for defs in ("$defs", "definitions"):
            children += list((node.get(defs) or {}).values())
        return all(ok(child) for child in children)

    return ok(schema)


def schema_name(name: str) -> str:
    """`json_schema.name` must be 1-64 of a-z, A-Z, 0-9, _ and -."""
    cleaned = re.sub(r"[^a-zA-Z0-9_-]+", "_", name or "").strip("_")[:64]
    return cleaned or "output"


class ChatCompletionsProvider(HTTPProvider):
    """Body building, response parsing and the structured-output fallback of the Chat Completions format."""

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def max_tokens_field(self) -> str:
        """Compatible servers know `max_tokens`."""
        return "max_tokens"

    def build_body(self, request: CompletionRequest, *, structured: bool = True) -> dict[str, Any]:
        params = request.params_dict
        body: dict[str, Any] = {
            "model": request.model.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        for key in _PASSTHROUGH_PARAMS:
            if params.get(key) is not None:
                body[key] = params[key]
        if params.get("max_tokens") is not None:  # an explicit max_completion_tokens (passed through) wins
            body.setdefault(self.max_tokens_field(), params["max_tokens"])
        if structured and self.structured_output_allowed(request.model.model):
            if request.response_schema is not None:
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": schema_name(request.schema_name),
                        "schema": request.response_schema,
                        "strict": strict_compatible(request.response_schema),
                    },
                }
            elif wants_json_object(request):
                body["response_format"] = {"type": "json_object"}
        return body

    def rejects_structured_output(self, error: FatalCallError, body: Mapping[str, Any]) -> bool:
        return (
            "response_format" in body
            and error.status in (400, 422)
            and bool(_STRUCTURED_HINTS.search(str(error)))
        )

    def parse_response(self, data: Any) -> ProviderResponse:
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices or not isinstance(choices[0], dict):
            raise self.malformed("choices", data)
        choice = choices[0]
        message = choice.get("message") or {}
        content = message.get("content")
        if isinstance(content, list):  # some compatible servers return content parts
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict)) or None
        refusal = message.get("refusal") or None
        finish = choice.get("finish_reason")
        finish_reason = finish if finish in _FINISH_REASONS else ("other" if finish else None)
        usage = data.get("usage") or {}
        details = usage.get("prompt_tokens_details") or {}
        return ProviderResponse(
            text=content,
            refusal=refusal,
            finish_reason=finish_reason,
            served_model=data.get("model"),
            usage=Usage(
                prompt_tokens=usage.get("prompt_tokens"),
                completion_tokens=usage.get("completion_tokens"),
                cached_tokens=details.get("cached_tokens"),
            ),
        )
