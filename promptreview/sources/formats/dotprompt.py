"""Dotprompt (`.prompt`, and `.prompt.md` with front matter): YAML front matter, then a Handlebars body
whose `{{role "..."}}` helpers (`<<<dotprompt:role:...>>>` markers) split it into messages.

Read as Google's `dotpromptz` reads it: `model`, `config` (temperature, maxOutputTokens, topK, topP,
stopSequences, ...), `input.schema` and `input.default` (defaults apply), `output.format` (json | text) and
`output.schema` (Picoschema or JSON Schema, the schema outputs are validated against). Text before the
first marker is a user message; the role `model` is the assistant. Message text is trimmed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from promptreview.errors import UsageError
from promptreview.notes import Note, note
from promptreview.sources.formats import picoschema, reading
from promptreview.sources.formats.mustache import HANDLEBARS
from promptreview.sources.template import ROLES, PromptTemplate
from promptreview.vocabulary import OutputMode, Role, one_of

_MARKERS = re.compile(r"(<<<dotprompt:(?:role:[a-z]+|history))>>>")
_PARTS = re.compile(r"<<<dotprompt:(?:media:url|section)[^>]*>>>")
# Genkit's plugin names -> our providers (`googleai` is the Gemini API, `vertexai` Gemini on Vertex AI: the same
# models, which the Gemini API serves)
_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "ollama": "ollama", "github": "github",
              "googleai": "gemini", "vertexai": "gemini"}  # fmt: skip
KEYS = {"config", "description", "ext", "input", "model", "name", "output", "raw", "toolDefs", "tools",
        "variant", "version"}  # fmt: skip


def looks_like(meta: Any, body: str) -> bool:
    if isinstance(meta, dict) and {"input", "output", "config"} & set(meta):
        return True
    return "{{role" in body or "<<<dotprompt:" in body or "{{#" in body


def split_roles(text: str) -> Sequence[tuple[Role, str]]:
    out: list[list[str]] = [["user", ""]]
    for piece in _MARKERS.split(text):
        if not piece.strip():
            continue
        if piece.startswith("<<<dotprompt:role:"):
            role = piece[len("<<<dotprompt:role:") :]
            role = "assistant" if role == "model" else role
            if out[-1][1].strip():
                out.append([role, ""])
            else:
                out[-1][0] = role
        elif piece.startswith("<<<dotprompt:history"):
            continue  # no conversation history in a review: the marker renders to nothing
        else:
            out[-1][1] += _PARTS.sub("", piece)
    result: list[tuple[Role, str]] = []
    for role, content in out:
        if not content.strip():
            continue
        known = one_of(role, ROLES)
        if known is None:
            raise UsageError(f"dotprompt role {role!r} is not one of {', '.join(ROLES)} (or model)")
        result.append((known, content.strip()))
    return result


def _model(path: str, raw: Any) -> str | None:
    """`provider/model` in Genkit's spelling; only providers promptreview has become a model hint (any other
    is named by `model_named`, and the planner says what stands in for it)."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise UsageError(f"{path}: 'model' must be a string")
    provider, _, name = raw.partition("/")
    if name and provider in _PROVIDERS:
        return f"{_PROVIDERS[provider]}:{name}"
    if ":" in raw:
        return raw
    return None


def read(path: str, meta: Any, body: str) -> PromptTemplate:
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise UsageError(f"{path}: the front matter must be a YAML mapping")
    hint = _model(path, meta.get("model"))
    warnings: tuple[Note, ...] = ()
    params, param_warnings = reading.params(path, meta.get("config"), "config")
    input_spec = meta.get("input") or {}
    output_spec = meta.get("output") or {}
    if not isinstance(input_spec, dict) or not isinstance(output_spec, dict):
        raise UsageError(f"{path}: 'input' and 'output' must be mappings")
    defaults = input_spec.get("default") or {}
    if not isinstance(defaults, dict):
        raise UsageError(f"{path}: input.default must be a mapping")
    raw_schema = output_spec.get("schema")
    fmt = output_spec.get("format")
    if isinstance(raw_schema, str) and raw_schema.split(",")[0].strip() not in picoschema.SCALARS:
        # a schema registered in code (`output: {schema: Recipe}`): the file alone cannot say what it is
        warnings += (note("schema_in_code", path, schema=raw_schema),)
        raw_schema, fmt = None, fmt or "json"
    try:
        schema = picoschema.to_json_schema(raw_schema)
    except ValueError as exc:
        raise UsageError(f"{path}: output.schema: {exc}") from None
    output: OutputMode | None = (
        "json" if fmt == "json" or schema is not None else "text" if fmt == "text" else None
    )
    return PromptTemplate(
        path=path,
        messages=(("body", body),),
        params=params,
        schema=schema,
        json_object=fmt == "json" and schema is None,
        engine=HANDLEBARS,
        split=split_roles,
        defaults=dict(defaults),
        output=output,
        warnings=warnings + param_warnings,
        format="dotprompt",
        model_hint=hint,
        model_named=meta.get("model"),
    )


# -- the registry's interface (formats.base.PromptFormat) ---------------------------------------------------

NAME = "dotprompt"
SUFFIXES: tuple[str, ...] = (".prompt", ".prompt.md")


def read_named(path: str, text: str) -> tuple[PromptTemplate, ...] | None:
    """`.prompt` is always Dotprompt; `.prompt.md` only with front matter (else it is a Markdown template)."""
    split = reading.front_matter(path, text)
    if split is None:
        return None if path.lower().endswith(".md") else (read(path, {}, text),)
    return (read(path, *split),)


def read_document(path: str, doc: Any) -> PromptTemplate | None:
    return None


def read_front_matter(path: str, meta: Any, body: str) -> PromptTemplate | None:
    return read(path, meta, body) if looks_like(meta, body) else None
