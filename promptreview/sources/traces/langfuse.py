"""Langfuse's own exports of observations: a model call is a `GENERATION` observation whose `input` holds the
messages it sent.

A file is any of the shapes Langfuse documents for observations:
- JSONL, one observation a line: the blob storage export (`observations/`, `observations_v2/`; snake_case
  fields, `input` a JSON-encoded string, the model in `provided_model_name`) or the table export of the UI;
- a JSON document: a page of the public API (`GET /api/public/observations`, v1 or v2: `{"data": [...],
  "meta": ...}`, camelCase fields, `input` a JSON value, the model in `model`), a list of observations, or
  the trace download of the UI (a trace with its `observations`).
An observation's `input` is the chat messages (a list of `{role, content}`, content a string or a list of
parts; `tool_calls` on an assistant turn), or `{"messages": [...], "tools": ...}` as the OpenAI integration
records it, or a plain string (one user turn). Other observations (spans, events, tools, agents, ...) are
counted and passed over; a generation whose input is none of these is a call without a user turn (counted).
Strata come from the observation's `metadata` and its own fields (`environment`, `name`, `prompt_name`,
`prompt_version`, `version`, `trace_name`, `user_id`: `metadata.<field>`, snake_case), the metadata winning.
"""

from __future__ import annotations

import re
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

NAME = "langfuse"
# an observation's own fields a stratum may name, in either spelling (the API's camelCase, the export's
# snake_case), written snake_case
_FIELDS = {
    "environment": "environment",
    "name": "name",
    "promptName": "prompt_name",
    "prompt_name": "prompt_name",
    "promptVersion": "prompt_version",
    "prompt_version": "prompt_version",
    "version": "version",
    "traceName": "trace_name",
    "trace_name": "trace_name",
    "userId": "user_id",
    "user_id": "user_id",
}
_ROLES = {"human": "user", "ai": "assistant", "developer": "system"}  # LangChain's and OpenAI's other names


def _get(observation: dict[str, Any], *names: str) -> Any:
    for name in names:
        value = observation.get(name)
        if value not in (None, ""):
            return value
    return None


def _decoded(value: Any) -> Any:
    """A field the blob storage export writes as a JSON-encoded string, decoded (a string that is no JSON
    list or object stays a string)."""
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        try:
            return load_json(value)
        except Unparsable:
            return value
    return value


def _message(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("role"), str):
        return None
    role = str(_ROLES.get(raw["role"], raw["role"]))
    calls = [
        {
            "id": call.get("id"),
            "type": "function",
            "function": {
                "name": (call.get("function") or {}).get("name", call.get("name")),
                "arguments": arguments_text(
                    (call.get("function") or {}).get("arguments", call.get("arguments", ""))
                ),
            },
        }
        for call in raw.get("tool_calls") or []
        if isinstance(call, dict)
    ]
    return chat_message(
        role, text_of(raw.get("content")), tool_calls=calls, tool_call_id=raw.get("tool_call_id")
    )


def _messages(given: Any) -> list[dict[str, Any]]:
    """The chat messages of a generation's `input` ([] when it holds none)."""
    given = _decoded(given)
    if isinstance(given, dict) and "messages" in given:
        given = given["messages"]
    if isinstance(given, str):
        return [chat_message("user", given)] if given.strip() else []
    if not isinstance(given, list):
        return []
    messages = [_message(m) for m in given]
    return [m for m in messages if m is not None] if all(m is not None for m in messages) else []


def _call(observation: dict[str, Any]) -> Call | None:
    kind = observation.get("type")
    if not isinstance(kind, str) or kind.upper() != "GENERATION":
        return None  # a span, an event, a tool, an agent: counted, passed over
    model = _get(observation, "model", "providedModelName", "provided_model_name")
    metadata: dict[str, Any] = {}
    for field, column in _FIELDS.items():
        value = observation.get(field)
        if value not in (None, "") and not isinstance(value, (dict, list)):
            metadata.setdefault(column, value)
    given = _decoded(observation.get("metadata"))
    if isinstance(given, dict):
        metadata.update(given)
    source = observation.get("id")
    return Call(
        tuple(_messages(observation.get("input"))),
        model if isinstance(model, str) else None,
        metadata,
        source if isinstance(source, str) else None,
    )


def _observations(document: Any, where: str) -> Iterator[Call | None]:
    if isinstance(document, list):
        items = document
    elif isinstance(document, dict) and isinstance(document.get("data"), list):
        items = document["data"]  # a page of the public API
    elif isinstance(document, dict) and isinstance(document.get("observations"), list):
        items = document["observations"]  # the trace download
    elif isinstance(document, dict) and "type" in document:
        items = [document]  # one observation a line
    else:
        raise BadTrace(
            f"{where}: not a Langfuse observation (expected an object with `type`, a `data` list or a trace's "
            "`observations`)"
        )
    for item in items:
        if not isinstance(item, dict):
            raise BadTrace(f"{where}: each observation must be a JSON object")
        yield _call(item)


def read(lines: Iterable[str], path: str) -> Iterator[Call | None]:
    """The observations of the file: one a line (streamed), or one JSON document over many lines."""
    for document, where in json_documents(lines, path):
        yield from _observations(document, where)


_TYPE = re.compile(
    rb'"type"\s*:\s*"(GENERATION|SPAN|EVENT|AGENT|TOOL|CHAIN|RETRIEVER|EVALUATOR|EMBEDDING|GUARDRAIL)"'
)
_TRACE = re.compile(rb'"(traceId|trace_id)"\s*:')


def looks_like(head: bytes) -> bool:
    """Whether a file's first bytes are a Langfuse export: an observation's `type` beside its trace's id."""
    return bool(_TYPE.search(head)) and bool(_TRACE.search(head))
