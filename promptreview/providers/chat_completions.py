"""The OpenAI Chat Completions wire format, shared by the `openai` and `github` providers (not a provider itself).

`POST {base}/chat/completions`. A prompt that declares a JSON Schema is sent as `response_format: {type:
json_schema, json_schema: {name, schema, strict}}`: `strict` as the prompt file declares it (production sends
that), and where it declares none, true only when the schema meets the strict-mode rules, so a looser schema still
guides the model; `json_object` mode when the prompt asks for JSON without a schema. A
server that answers 400/422 naming the structured output gets the instruction alone (`HTTPProvider`'s fallback).

Samples in one request (`complete_samples`): the K samples of one input go as one body with `"n": K`, and
`choices[i]` (by its `index`) answers sample i. Support is discovered per model: a server that returns fewer
choices than asked (it ignores `n`, or caps it) or rejects `n` (a 400/422 that the same request without `n`
does not get) is asked for at most that many from then on (1: one request per sample; the runner sends the
missing samples again). The usage of one request is split over its choices so that the parts add up to it
exactly (`split_usage`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import httpx

from promptreview.providers.base import FatalCallError
from promptreview.providers.http import HTTPProvider, server_said, wants_json_object
from promptreview.records import CompletionRequest, ProviderResponse, ToolCall, Usage, interned
from promptreview.vocabulary import FinishReason

# the finish reasons of the Chat Completions API, in our spelling (the same words); any other is `other`
_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
}
_PASSTHROUGH_PARAMS = ("temperature", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty",
                       "max_completion_tokens")  # fmt: skip
_STRUCTURED_HINTS = re.compile(r"response_format|json_schema|guided_json|grammar|structured", re.IGNORECASE)
MAX_N = 128  # CreateChatCompletionRequest.n: 1 to 128

# Keywords OpenAI's strict mode accepts (its Structured Outputs guide); any other keyword means `strict: false`.
_STRICT_KEYWORDS = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "$defs",
    "definitions", "$ref", "description", "title", "pattern", "format", "multipleOf", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems",
})  # fmt: skip


def tool_calls(raw: Any) -> tuple[ToolCall, ...]:
    """`message.tool_calls`: each function call's name and its `arguments` string as sent (a server that sends
    an object, as Ollama's native API does, has it encoded); entries that are no function call are skipped."""
    if not isinstance(raw, list):
        return ()
    out = []
    for call in raw:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            continue
        arguments = function.get("arguments")
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments, ensure_ascii=False) if arguments is not None else ""
        call_id = call.get("id")
        out.append(ToolCall(function["name"], arguments, call_id if isinstance(call_id, str) else None))
    return tuple(out)


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


def _shares(total: int, weights: Sequence[int]) -> list[int]:
    """`total` split in proportion to `weights` (evenly when they are all 0), in whole numbers that add up to it
    exactly: each part is rounded down and the remainder goes one by one to the largest fractions, ties to the
    earlier part (Hamilton's largest-remainder rule)."""
    count = len(weights)
    whole = sum(weights)
    if whole <= 0:
        weights, whole = [1] * count, count
    exact = [total * w / whole for w in weights]
    parts = [int(x) for x in exact]
    order = sorted(range(count), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def split_usage(usage: Usage, answers: Sequence[ProviderResponse]) -> list[Usage]:
    """One request's usage split over the choices it returned, so that summing over them gives it back exactly.

    The prompt (and its cached part) is paid once per request: it is split evenly, the remainder to the first
    choices. `completion_tokens` covers every choice, and the API does not say how many each took: it is split
    in proportion to each choice's length in characters (its text, or its refusal). A count the server did not
    report stays None on every part."""
    count = len(answers)

    def even(value: int | None) -> list[int | None]:
        return [None] * count if value is None else list(_shares(value, [1] * count))

    lengths = [len(a.text or a.refusal or "") for a in answers]
    completion: list[int | None] = (
        [None] * count if usage.completion_tokens is None else list(_shares(usage.completion_tokens, lengths))
    )
    prompt, cached = even(usage.prompt_tokens), even(usage.cached_tokens)
    return [Usage(prompt[i], completion[i], cached[i]) for i in range(count)]


class ChatCompletionsProvider(HTTPProvider):
    """Body building, response parsing and the structured-output fallback of the Chat Completions format."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._n_cap: dict[str, int] = {}  # model -> the most choices one request returned when asked for more

    # -- samples in one request (`n`) ----------------------------------------------------------------
    def samples_per_request(self, model: str, wanted: int) -> int:
        """How many samples of one input to ask for in one request: all of them (up to `MAX_N`) unless the
        server returned fewer before."""
        return max(1, min(wanted, MAX_N, self._n_cap.get(model, MAX_N)))

    def may_reject_n(self, error: FatalCallError, n: int) -> bool:
        """Whether a 400/422 on a request for `n` > 1 samples may be about `n`. Servers word that in many ways (or
        not at all), so the same request without `n` decides: if it succeeds, `n` was the problem; if it fails
        too, its error is the request's own and stops the run as it would have."""
        return n > 1 and error.status in (400, 422)

    async def complete_samples(
        self, request: CompletionRequest, n: int, client: httpx.AsyncClient
    ) -> list[ProviderResponse | None]:
        """One request for `n` samples of `request`: the answer for sample i at [i], None where the server
        returned no choice with that index (it ignored `n`, or capped it). Never all None."""
        self.require_credentials()
        model = request.model.model
        if n <= 1:
            data, headers = await self.post_exchange(client, request)
            return [self.provenance(self.parse_response(data), headers)]
        try:
            data, headers = await self.post_exchange(client, request, extra={"n": n})
        except FatalCallError as exc:
            if not self.may_reject_n(exc, n):
                raise
            data, headers = await self.post_exchange(client, request)
            self._n_cap[model] = 1  # it answers without n: from now on one request per sample
            return [self.provenance(self.parse_response(data), headers)] + [None] * (n - 1)
        answers = [None if a is None else self.provenance(a, headers) for a in self.parse_choices(data, n)]
        returned = sum(a is not None for a in answers)
        if returned < n:
            self._n_cap[model] = min(returned, self._n_cap.get(model, returned))
        return answers

    def parse_choices(self, data: Any, n: int) -> list[ProviderResponse | None]:
        """`choices` by their `index` (the position when a server leaves it out or sends no integer), with the
        request's usage split over those returned; choices beyond `n` or repeating an index are ignored."""
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices or not isinstance(choices, list):
            raise self.malformed("choices", data)
        picked: dict[int, dict[str, Any]] = {}
        for position, choice in enumerate(choices):
            if not isinstance(choice, dict):
                continue
            index = choice.get("index")
            if type(index) is not int:  # left out, null or a string: its position says
                index = position
            if 0 <= index < n and index not in picked:
                picked[index] = choice
        if not picked:
            raise self.malformed("choices", data)
        answers = {i: self.parse_choice(choice, data) for i, choice in picked.items()}
        order = sorted(answers)
        usages = split_usage(answers[order[0]].usage, [answers[i] for i in order])
        split = {i: replace(answers[i], usage=u) for i, u in zip(order, usages, strict=True)}
        return [split.get(i) for i in range(n)]

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
            "messages": [m.wire for m in request.messages],
        }
        for key in _PASSTHROUGH_PARAMS:
            if params.get(key) is not None:
                body[key] = params[key]
        if params.get("max_tokens") is not None:  # an explicit max_completion_tokens (passed through) wins
            body.setdefault(self.max_tokens_field(), params["max_tokens"])
        if request.tools:  # function tools travel in this very spelling
            body["tools"] = list(request.tools)
            if request.tool_choice is not None:
                body["tool_choice"] = request.tool_choice
        if structured:
            if (
                request.response_schema is not None
            ):  # always sent: never dropped (`HTTPProvider.post_request`)
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": schema_name(request.schema_name),
                        "schema": request.response_schema,
                        "strict": (
                            request.schema_strict
                            if request.schema_strict is not None
                            else strict_compatible(request.response_schema)
                        ),
                    },
                }
            elif wants_json_object(request) and self.structured_output_allowed(request.model.model):
                body["response_format"] = {"type": "json_object"}
        return body

    def rejects_structured_output(self, error: FatalCallError, body: Mapping[str, Any]) -> bool:
        return (
            "response_format" in body and error.status in (400, 422) and server_said(error, _STRUCTURED_HINTS)
        )

    def parse_response(self, data: Any) -> ProviderResponse:
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices or not isinstance(choices[0], dict):
            raise self.malformed("choices", data)
        return self.parse_choice(choices[0], data)

    def parse_choice(self, choice: dict[str, Any], data: dict[str, Any]) -> ProviderResponse:
        """One choice of the response, with the whole response's usage."""
        message = choice.get("message") or {}
        content = message.get("content")
        if isinstance(content, list):  # some compatible servers return content parts
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict)) or None
        refusal = message.get("refusal") or None
        finish = choice.get("finish_reason")
        finish_reason = _FINISH_REASONS.get(finish, "other") if finish else None
        usage = data.get("usage") or {}
        details = usage.get("prompt_tokens_details") or {}
        return ProviderResponse(
            text=content,
            refusal=refusal,
            finish_reason=finish_reason,
            tool_calls=tool_calls(message.get("tool_calls")),
            served_model=interned(data.get("model")),
            usage=Usage(
                prompt_tokens=usage.get("prompt_tokens"),
                completion_tokens=usage.get("completion_tokens"),
                cached_tokens=details.get("cached_tokens"),
            ),
            response_id=text_or_none(data.get("id")),
            system_fingerprint=interned(text_or_none(data.get("system_fingerprint"))),
            provider_created=seconds_or_none(data.get("created")),
        )


def text_or_none(value: Any) -> str | None:
    """A provenance field as the server sent it, when it is a non-empty string."""
    return value if isinstance(value, str) and value else None


def seconds_or_none(value: Any) -> float | None:
    """`created` (Unix seconds) when it is a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
