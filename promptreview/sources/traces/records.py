"""What every trace format reads a logged model call into (`Call`), and the chat-format helpers they share.

A leaf: the format modules import it, and `sources/traces/__init__` (the registry and the suite writer)
reads what they return. A `Call` keeps its messages in the chat format (`role`, `content` as text, an assistant
turn's `tool_calls`, a tool turn's `tool_call_id`), whatever shape the log held them in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from promptreview.errors import UsageError
from promptreview.sources.safe_load import Unparsable, load_json


@dataclass(frozen=True)
class Call:
    """One logged model call: the messages it sent, the model it asked for, what the log says about it."""

    messages: tuple[dict[str, Any], ...]
    model: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)  # strata are picked from here (`metadata.<key>`)
    source_id: str | None = None  # the log's own id of the call (custom_id, response id, span id)
    # the variables the prompt was rendered with, where the log records them: the call's row is then these
    variables: dict[str, Any] | None = None


class BadTrace(UsageError):
    """A log that is not in the format it was read as (exit 2, one line naming the file and the line)."""


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list of parts (OpenAI's `text`,
    the OpenTelemetry GenAI `content`); images, audio and files have no text and add none."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and part.get("type") in (None, "text", "input_text", "output_text"):
                value = part.get("text", part.get("content"))
                if isinstance(value, str):
                    texts.append(value)
        return "\n".join(texts)
    return json.dumps(content, ensure_ascii=False, sort_keys=True)


def chat_message(role: str, content: str, **extra: Any) -> dict[str, Any]:
    """A message in the chat format, its extra keys only where they hold something."""
    out: dict[str, Any] = {"role": role, "content": content}
    out.update({k: v for k, v in extra.items() if v not in (None, [], "")})
    return out


def arguments_text(arguments: Any) -> str:
    """A tool call's arguments as the chat format carries them: a JSON string."""
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False, sort_keys=True)


def json_documents(lines: Iterable[str], path: str) -> Iterator[tuple[Any, str]]:
    """The JSON documents of an export, each with where it is (`path:line`, or `path` for a whole file): one
    document a line, streamed, or, when the first line is no document of its own, one pretty-printed document
    read whole (its blank lines kept, so a parse error's line number is the file's)."""
    iterator = iter(lines)
    pending: list[str] = []
    first = True
    for number, line in enumerate(iterator, start=1):
        if not line.strip():
            pending.append(line)
            continue
        try:
            document = load_json(line)
        except Unparsable as exc:
            if first:  # a pretty-printed document: read it whole
                pending.append(line)
                pending.extend(iterator)
                break
            raise BadTrace(f"{path}:{number}: not valid JSON ({exc.message})") from None
        first = False
        pending.clear()
        yield document, f"{path}:{number}"
    if first and any(line.strip() for line in pending):
        try:
            document = load_json("".join(pending))
        except Unparsable as exc:
            at = f":{exc.line}" if exc.line else ""
            raise BadTrace(f"{path}{at}: not valid JSON ({exc.message})") from None
        yield document, path
