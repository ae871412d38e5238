"""OpenTelemetry GenAI spans, as an OTLP JSON export (`resourceSpans` / `scopeSpans` / `spans`).

A file is one export document, or one a line (JSONL: what the Collector's file exporter writes), which
streams. A span is a model call when it records its input messages in one of the conventions the GenAI
semantic conventions have had:
- `gen_ai.input.messages` (current): a JSON list of `{role, parts: [{type: text, content} | {type: tool_call,
  id, name, arguments} | {type: tool_call_response, id, response}]}`, with `gen_ai.system_instructions`
  apart (not a row's: the prompt under review replaces them);
- `gen_ai.prompt` (earlier): the messages as a JSON list in the chat format, or flattened as
  `gen_ai.prompt.<i>.role` / `.content` (OpenLLMetry);
- span events `gen_ai.system.message`, `gen_ai.user.message`, `gen_ai.assistant.message`, `gen_ai.tool.message`
  with a `content` attribute (or a JSON `gen_ai.event.content`);
- OpenInference (what Arize Phoenix and Arize export over OTLP): `llm.input_messages.<i>.message.role` /
  `.message.content` (or `.message.contents.<j>.message_content.text`, `.message.tool_calls.<k>.tool_call.
  function.name` / `.arguments`, `.message.tool_call_id`), `llm.model_name`, and `llm.prompt_template.variables`,
  the variables the prompt was rendered with (the call's row is then those variables), `metadata` a JSON object.
Other spans (tools, agents, workflows) are counted and passed over. Strata come from the resource's and the
span's attributes (`metadata.<attribute key>`, the span's winning).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from promptreview.sources.safe_load import Unparsable, load_json
from promptreview.sources.traces.records import (
    BadTrace,
    Call,
    arguments_text,
    chat_message,
    json_documents,
    text_of,
)

NAME = "otel"
_EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}


def _value(value: Any) -> Any:
    """An OTLP `AnyValue` as a plain value (`intValue` is a string in OTLP JSON)."""
    if not isinstance(value, dict):
        return value
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return value["intValue"]
    for key in ("doubleValue", "boolValue", "bytesValue"):
        if key in value:
            return value[key]
    if "arrayValue" in value:
        return [_value(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return _attributes((value["kvlistValue"] or {}).get("values", []))
    return None


def _attributes(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):  # the SDKs' own JSON form writes attributes as a mapping
        return dict(raw)
    out: dict[str, Any] = {}
    for item in raw or []:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            out[item["key"]] = _value(item.get("value"))
    return out


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return load_json(value)
        except Unparsable:
            return value
    return value


def _from_parts(message: dict[str, Any]) -> dict[str, Any]:
    """A `gen_ai.input.messages` message (role + parts) in the chat format."""
    role = str(message.get("role", "user"))
    parts = message.get("parts")
    if not isinstance(parts, list):  # some instrumentations write the chat format here
        return chat_message(role, text_of(message.get("content")), tool_call_id=message.get("tool_call_id"))
    texts, calls, answered = [], [], None
    for part in parts:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            texts.append(str(part.get("content", "")))
        elif kind == "tool_call":
            calls.append(
                {
                    "id": part.get("id"),
                    "type": "function",
                    "function": {
                        "name": part.get("name"),
                        "arguments": arguments_text(part.get("arguments", {})),
                    },
                }
            )
        elif kind == "tool_call_response":
            answered = part.get("id")
            response = part.get("response")
            texts.append(response if isinstance(response, str) else json.dumps(response, ensure_ascii=False))
    return chat_message(role, "\n".join(texts), tool_calls=calls, tool_call_id=answered)


def _openinference(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    """OpenInference's flattened `llm.input_messages.<i>.message.*` attributes as chat messages."""
    out = []
    index = 0
    while any(k.startswith(f"llm.input_messages.{index}.") for k in attributes):
        at = f"llm.input_messages.{index}.message."
        content = attributes.get(at + "content")
        if content is None:
            parts, j = [], 0
            while at + f"contents.{j}.message_content.type" in attributes or (
                at + f"contents.{j}.message_content.text" in attributes
            ):
                text = attributes.get(at + f"contents.{j}.message_content.text")
                parts.append(text if isinstance(text, str) else "")
                j += 1
            content = "\n".join(p for p in parts if p)
        calls, k = [], 0
        while at + f"tool_calls.{k}.tool_call.function.name" in attributes:
            call = at + f"tool_calls.{k}.tool_call."
            calls.append(
                {
                    "id": attributes.get(call + "id"),
                    "type": "function",
                    "function": {
                        "name": attributes.get(call + "function.name"),
                        "arguments": arguments_text(attributes.get(call + "function.arguments", "")),
                    },
                }
            )
            k += 1
        role = str(attributes.get(at + "role", "user"))
        out.append(
            chat_message(
                role, text_of(content), tool_calls=calls, tool_call_id=attributes.get(at + "tool_call_id")
            )
        )
        index += 1
    return out


def _messages(attributes: dict[str, Any], events: list[Any]) -> list[dict[str, Any]] | None:
    if any(k.startswith("llm.input_messages.0.") for k in attributes):
        return _openinference(attributes)
    given = _json(attributes.get("gen_ai.input.messages"))
    if isinstance(given, list):
        return [_from_parts(m) for m in given if isinstance(m, dict)]
    prompt = _json(attributes.get("gen_ai.prompt"))
    if isinstance(prompt, list):
        return [_from_parts(m) for m in prompt if isinstance(m, dict)]
    if isinstance(prompt, str):
        return [chat_message("user", prompt)]
    indexed = []
    index = 0
    while f"gen_ai.prompt.{index}.role" in attributes or f"gen_ai.prompt.{index}.content" in attributes:
        role = str(attributes.get(f"gen_ai.prompt.{index}.role", "user"))
        indexed.append(chat_message(role, text_of(_json(attributes.get(f"gen_ai.prompt.{index}.content")))))
        index += 1
    if indexed:
        return indexed
    from_events = []
    for event in events:
        if not isinstance(event, dict) or event.get("name") not in _EVENT_ROLES:
            continue
        fields = _attributes(event.get("attributes"))
        body = _json(fields.get("gen_ai.event.content", fields.get("content", event.get("body"))))
        if isinstance(body, dict) and "content" in body:
            body = body["content"]
        from_events.append(chat_message(_EVENT_ROLES[event["name"]], text_of(_json(body))))
    return from_events or None


def _calls(document: Any, where: str) -> Iterator[Call | None]:
    """Each span of one export document: a `Call`, or None for a span that is no model call."""
    if not isinstance(document, dict) or not isinstance(document.get("resourceSpans"), list):
        raise BadTrace(f"{where}: not an OTLP JSON export (no `resourceSpans` list)")
    for resource_spans in document["resourceSpans"]:
        if not isinstance(resource_spans, dict):
            raise BadTrace(f"{where}: each of `resourceSpans` must be an object")
        resource = _attributes((resource_spans.get("resource") or {}).get("attributes"))
        for scope_spans in (
            resource_spans.get("scopeSpans") or resource_spans.get("instrumentationLibrarySpans") or []
        ):
            for span in (scope_spans or {}).get("spans") or []:
                if not isinstance(span, dict):
                    raise BadTrace(f"{where}: each span must be an object")
                attributes = _attributes(span.get("attributes"))
                messages = _messages(attributes, span.get("events") or [])
                if messages is None:
                    yield None
                    continue
                model = attributes.get("gen_ai.request.model", attributes.get("llm.model_name"))
                metadata = {**resource, **{k: v for k, v in attributes.items() if not _content_key(k)}}
                given = _json(attributes.get("metadata"))
                if isinstance(given, dict):  # OpenInference's `metadata`: a JSON object
                    metadata.update(given)
                variables = _json(attributes.get("llm.prompt_template.variables"))
                yield Call(
                    tuple(messages),
                    model if isinstance(model, str) else None,
                    metadata,
                    span.get("spanId") if isinstance(span.get("spanId"), str) else None,
                    variables if isinstance(variables, dict) and variables else None,
                )


def _content_key(key: str) -> bool:
    """Attributes that hold the conversation itself: never a stratum, and too long to keep as metadata."""
    return key.startswith(_CONTENT) or key in ("gen_ai.system_instructions", "gen_ai.system.instructions")


_CONTENT = (
    "gen_ai.prompt",
    "gen_ai.completion",
    "gen_ai.input.",
    "gen_ai.output.",
    "llm.input_messages.",
    "llm.output_messages.",
    "llm.prompt_template.",
    "input.value",
    "output.value",
)


def read(lines: Iterable[str], path: str) -> Iterator[Call | None]:
    """The spans of the file: one document a line (streamed), or one document over many lines."""
    for document, where in json_documents(lines, path):
        yield from _calls(document, where)
