"""What the prompt formats share: decoding, safe YAML/JSON, front matter, model names, parameter names.

Parameters are kept in one provider-neutral spelling (snake_case, as the Chat Completions API names them);
each provider maps them to its own wire names.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

from promptreview.errors import RefusedFile, UsageError
from promptreview.notes import Note, note
from promptreview.sources import safe_load
from promptreview.sources.formats.base import Files
from promptreview.sources.template import ROLES
from promptreview.vocabulary import Role, one_of

# File names that say "data" (a prompt is found in them by content) and "text" (a template, unless a
# front-matter format claims it)
DATA_SUFFIXES = (".json", ".yaml", ".yml")
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".j2", ".jinja", ".jinja2", ".tmpl")

# Every spelling a format uses for a model parameter -> the neutral name
PARAM_NAMES = {
    "maxTokens": "max_tokens",
    "max_tokens": "max_tokens",
    "maxOutputTokens": "max_tokens",  # Dotprompt (Gemini) and Prompty 2
    "max_output_tokens": "max_tokens",
    "maxCompletionTokens": "max_completion_tokens",
    "max_completion_tokens": "max_completion_tokens",
    "temperature": "temperature",
    "topP": "top_p",
    "top_p": "top_p",
    "topK": "top_k",
    "top_k": "top_k",
    "stop": "stop",
    "stopSequences": "stop",
    "stop_sequences": "stop",
    "seed": "seed",
    "frequencyPenalty": "frequency_penalty",
    "frequency_penalty": "frequency_penalty",
    "presencePenalty": "presence_penalty",
    "presence_penalty": "presence_penalty",
    "tools": "tools",  # function tools, in Chat Completions' wire format: part of what production sends
    "tool_choice": "tool_choice",  # which tool the model must call, if any (`sources/tools.py`)
    "toolChoice": "tool_choice",
}

_FRONT_MATTER = re.compile(
    r"^(?:(?:#[^\n]*|[ \t]*)\n)*---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n([\s\S]*))?$"
)


def decode(path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path}: not valid UTF-8 (byte {exc.start}); save the prompt file as UTF-8"
        ) from None


def safe_yaml(path: str, text: str, what: str = "") -> Any:
    """YAML from a prompt file, within `safe_load`'s bounds (depth, aliases, duplicate keys, long integers):
    every format reads its YAML here."""
    try:
        return safe_load.load_yaml(text)
    except safe_load.Unparsable as exc:
        where = f" at line {exc.line}" if exc.line else ""
        raise UsageError(f"{path}: {what or ''}not valid YAML{where} ({exc.message})") from None


def safe_json(path: str, text: str, what: str = "") -> Any:
    try:
        return safe_load.load_json(text, unique_keys=True)
    except safe_load.Unparsable as exc:
        where = f" at line {exc.line}" if exc.line else ""
        raise UsageError(f"{path}: {what or ''}not valid JSON ({exc.message}{where})") from None


def front_matter(path: str, text: str) -> tuple[Any, str] | None:
    """(the front matter's YAML, parsed safely, and the body) when `text` opens with a `---` fenced YAML block,
    else None."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return None
    return safe_yaml(path, match.group(1), "front matter is "), match.group(2) or ""


def model_name(path: str, raw: Any) -> str | None:
    """A model named by a prompt file, as a `provider:model` spec."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise UsageError(f"{path}: 'model' must be a string")
    # GitHub Models names models `publisher/name`; ours are `provider:model-id`
    if ":" not in raw and "/" in raw:
        return f"github:{raw}"
    return raw


def params(path: str, raw: Any, where: str) -> tuple[dict[str, Any], tuple[Note, ...]]:
    """Model parameters in the neutral spelling, and a warning per parameter no format defines.

    An unknown parameter is a warning, not an error: the reference tools ignore what they do not know. One
    parameter given in two spellings (`maxTokens` and `max_tokens`) is refused as a duplicate key is: each tool
    reads the spelling it knows, so which value production sends depends on the tool, and the review cannot
    tell which one it should send.
    """
    if raw is None:
        return {}, ()
    if not isinstance(raw, Mapping):
        raise UsageError(f"{path}: '{where}' must be a mapping")
    out: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    warnings: list[Note] = []
    for key, value in raw.items():
        name = PARAM_NAMES.get(str(key))
        if name is None:
            warnings.append(note("unknown_parameter", path, where=where, key=str(key)))
            continue
        if name in spelled:
            raise UsageError(
                f"{path}: '{where}' gives {name} twice ({spelled[name]!r} and {str(key)!r}); "
                "which one a tool sends depends on the tool: keep one spelling"
            )
        spelled[name] = str(key)
        if value is not None:
            out[name] = value
    return out, tuple(warnings)


def chat_messages(path: str, raw: Any, where: str = "messages") -> tuple[tuple[Role, str], ...]:
    if raw is None:
        raise UsageError(f"{path}: has no '{where}' (a list of {{role, content}}): there is nothing to send")
    if not isinstance(raw, list) or not raw:
        raise UsageError(f"{path}: '{where}' must be a non-empty list of {{role, content}}")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or "role" not in item or "content" not in item:
            raise UsageError(f"{path}: {where}[{i}] must have 'role' and 'content'")
        role, content = one_of(item["role"], ROLES), item["content"]
        if role is None:
            raise UsageError(
                f"{path}: {where}[{i}].role must be one of {', '.join(ROLES)}, not {item['role']!r}"
            )
        if not isinstance(content, str):
            raise UsageError(f"{path}: {where}[{i}].content must be a string")
        out.append((role, content))
    return tuple(out)


def message_names(path: str, raw: Any) -> tuple[str | None, ...]:
    """Each chat message's `name` (OpenAI's field; sent as written), beside `chat_messages`."""
    names: list[str | None] = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        name = item.get("name") if isinstance(item, dict) else None
        if name is not None and not isinstance(name, str):
            raise UsageError(f"{path}: messages[{i}].name must be a string")
        names.append(name)
    return tuple(names) if any(n is not None for n in names) else ()


def is_chat_list(doc: Any) -> bool:
    return (
        isinstance(doc, list)
        and bool(doc)
        and all(isinstance(m, dict) and "role" in m and "content" in m for m in doc)
    )


def suite_rows(path: str, raw: Any, where: str) -> tuple[dict[str, Any], ...] | None:
    """Inputs a prompt file carries (`testData`, `sample`): a list of mappings, or one mapping."""
    if raw is None:
        return None
    rows = [raw] if isinstance(raw, dict) else raw
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise UsageError(f"{path}: '{where}' must be a mapping or a list of mappings")
    return tuple(dict(r) for r in rows) or None


def beside(path: str, files: Files, name: str, what: str) -> tuple[str, bytes | None]:
    """(its path, its bytes or None) of the file `name` names relative to the prompt file's folder, read at the
    same revision. A name that is absolute is refused here; one that leaves the repository is refused by
    `files` (the caller knows where the repository ends)."""
    if not name or "\x00" in name or posixpath.isabs(name) or name[1:2] == ":":
        raise UsageError(f"{path}: {what} {name!r} must be a path relative to the prompt file")
    steps = [s for s in name.replace("\\", "/").split("/") if s not in ("", ".")]
    if any(step == ".." and steps[:i] != [".."] * i for i, step in enumerate(steps)):
        raise RefusedFile(
            f"{path}: {what} {name!r} goes into a folder and back out ('x/..'): production's loader follows "
            "'x' first, and a symlinked 'x' would lead elsewhere than the review reads; name the file without it"
        )
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), name.replace("\\", "/")))
    return joined, files(joined)
