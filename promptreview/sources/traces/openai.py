"""OpenAI chat-completions logs (JSONL): one call a line.

A line is any of the shapes real logs take:
- `{"request": {...}, "response": {...}}`: a request body and its answer, as a logging proxy or a wrapper
  around the SDK writes them (`response` is not read: the suite holds inputs);
- a Batch API input line, `{"custom_id", "method", "url", "body"}`, for `/v1/chat/completions` (`body.messages`)
  or `/v1/responses` (`body.instructions`, `body.input` as a string or a list of messages);
- a request body alone (`{"model", "messages", "metadata"?}`), as a stored completion's request or a
  fine-tuning file's line holds it.
The request's `metadata` (stored completions carry it) is where strata come from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from promptreview.sources.safe_load import Unparsable, load_json
from promptreview.sources.traces.records import BadTrace, Call, arguments_text, chat_message, text_of

NAME = "openai"


def _messages(raw: Any, path: str, number: int) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise BadTrace(f"{path}:{number}: `messages` must be a list of messages")
    out = []
    for message in raw:
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadTrace(f"{path}:{number}: each message must be an object with a `role`")
        role = "system" if message["role"] == "developer" else message["role"]
        calls = [
            {
                "id": call.get("id"),
                "type": "function",
                "function": {
                    "name": (call.get("function") or {}).get("name"),
                    "arguments": arguments_text((call.get("function") or {}).get("arguments", "")),
                },
            }
            for call in message.get("tool_calls") or []
            if isinstance(call, dict)
        ]
        out.append(
            chat_message(
                role,
                text_of(message.get("content")),
                tool_calls=calls,
                tool_call_id=message.get("tool_call_id"),
            )
        )
    return out


def _responses_body(body: dict[str, Any], path: str, number: int) -> list[dict[str, Any]]:
    """A Responses API request: `instructions` is the system prompt, `input` a string (one user turn) or
    a list of messages."""
    messages = []
    if isinstance(body.get("instructions"), str):
        messages.append(chat_message("system", body["instructions"]))
    given = body.get("input")
    if isinstance(given, str):
        messages.append(chat_message("user", given))
    elif isinstance(given, list):
        messages.extend(_messages([m for m in given if isinstance(m, dict) and "role" in m], path, number))
    else:
        raise BadTrace(f"{path}:{number}: a Responses API body needs `input`")
    return messages


def _call(line: dict[str, Any], path: str, number: int) -> Call:
    source_id = line.get("custom_id") if isinstance(line.get("custom_id"), str) else None
    if isinstance(line.get("request"), dict):
        body = line["request"]
        response = line.get("response")
        if isinstance(response, dict) and isinstance(response.get("id"), str):
            source_id = source_id or response["id"]
    elif isinstance(line.get("body"), dict):
        body = line["body"]
    elif "messages" in line:
        body = line
    elif isinstance(line.get("response"), dict) and "custom_id" in line:
        raise BadTrace(
            f"{path}:{number}: a Batch API output line holds the answer, not the request: import the batch's "
            "input file"
        )
    else:
        raise BadTrace(
            f"{path}:{number}: not an OpenAI log line (expected `request`, a Batch API `body` or `messages`)"
        )
    if "messages" in body:
        messages = _messages(body["messages"], path, number)
    elif "input" in body:
        messages = _responses_body(body, path, number)
    else:
        raise BadTrace(f"{path}:{number}: the request has no `messages` (nor a Responses API `input`)")
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    for key in ("user", "custom_id"):
        value = body.get(key, line.get(key))
        if isinstance(value, str):
            metadata = {key: value, **metadata}
    model = body.get("model") if isinstance(body.get("model"), str) else None
    return Call(tuple(messages), model, dict(metadata), source_id)


def read(lines: Iterable[str], path: str) -> Iterator[Call]:
    """One `Call` per non-empty line, streamed."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = load_json(line)
        except Unparsable as exc:
            raise BadTrace(f"{path}:{number}: not valid JSON ({exc.message})") from None
        if not isinstance(value, dict):
            raise BadTrace(f"{path}:{number}: each line must be a JSON object")
        yield _call(value, path, number)
