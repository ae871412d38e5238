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

from promptreview.errors import RefusedFile, UsageError
from promptreview.notes import Note, note
from promptreview.sources.formats import picoschema, reading
from promptreview.sources.formats.base import Beside, Files, no_files
from promptreview.sources.formats.mustache import handlebars_with
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


_PARTIAL = re.compile(r"\{\{~?(#?)>\s*([\w./-]+)")
_MAX_PARTIALS = 100


def _partial_paths(path: str, name: str) -> list[str]:
    """Where dotpromptz's directory store would find partial `name` (`_name.prompt`, `dir/_name.prompt` for
    `dir/name`) when the prompt directory is the prompt's own folder or one above it: nearest first."""
    folder, _, base = name.rpartition("/")
    rel = f"{folder + '/' if folder else ''}_{base}.prompt"
    parts = path.replace("\\", "/").split("/")[:-1]
    return [rel] + ["../" * up + rel for up in range(1, len(parts) + 1)]


def _partials(path: str, body: str, files: Files) -> dict[str, str]:
    """Every partial the body uses (and those they use), by name, read at the same revision through `files`:
    beside the prompt or above it, else in the config entry's `partials:` folder (`_name.prompt` or
    `name.prompt`); a block partial (`{{#> name}}...`) that is not found renders its own block, as in Handlebars."""
    found: dict[str, str] = {}
    todo = [(m.group(2), bool(m.group(1))) for m in _PARTIAL.finditer(body)]
    while todo:
        name, block = todo.pop()
        if name in found:
            continue
        if len(found) >= _MAX_PARTIALS:
            raise UsageError(f"{path}: more than {_MAX_PARTIALS} partials")
        text = None
        for rel in _partial_paths(path, name):
            try:
                where, data = reading.beside(path, files, rel, "partial")
            except RefusedFile:
                raise
            except UsageError:
                break  # above the repository (or the folder `compare` keeps to): not there
            if data is not None:
                text = reading.decode(where, data)
                split = reading.front_matter(where, text)
                text = split[1] if split is not None else text
                break
        folder = files.partials if isinstance(files, Beside) else None
        for rel in (f"{folder}/_{name}.prompt", f"{folder}/{name}.prompt") if text is None and folder else ():
            data = files(rel)  # the config's folder: a path from the repository's root, not the prompt's
            if data is not None:
                text = reading.decode(rel, data)
                split = reading.front_matter(rel, text)
                text = split[1] if split is not None else text
                break
        if text is None:
            if block:
                continue
            raise UsageError(
                f"{path}: partial {name!r} not found (no {_partial_paths(path, name)[0]} beside the prompt, "
                "in a folder above it or in the entry's partials folder)"
            )
        found[name] = text
        todo += [(m.group(2), bool(m.group(1))) for m in _PARTIAL.finditer(text)]
    return found


def _optional(spec: Any) -> frozenset[str]:
    """Inputs `input.schema` declares optional: Picoschema's `name?: ...`, or JSON Schema's properties not in
    `required`."""
    if not isinstance(spec, dict):
        return frozenset()
    if isinstance(spec.get("properties"), dict):
        required = spec.get("required")
        needed = set(required) if isinstance(required, list) else set()
        return frozenset(str(k) for k in spec["properties"] if k not in needed)
    names = (str(key).split("(")[0].strip() for key in spec)
    return frozenset(n[:-1] for n in names if n.endswith("?"))


def read(path: str, meta: Any, body: str, files: Files = no_files) -> PromptTemplate:
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise UsageError(f"{path}: the front matter must be a YAML mapping")
    hint = _model(path, meta.get("model"))
    config = meta.get("config")
    if isinstance(config, dict) and config.get("version") is not None:
        # Genkit's Google AI / Vertex AI plugins send `config.version` as the model instead of `model`'s name
        raise UsageError(
            f"{path}: config.version {str(config['version'])!r} is refused: Genkit sends it as the model in "
            "place of 'model', so production would run a model the review does not; name it in 'model'"
        )
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
        engine=handlebars_with(_partials(path, body, files)),
        split=split_roles,
        defaults=dict(defaults),
        optional=_optional(input_spec.get("schema")),
        null_is_value=True,  # Handlebars renders a null as nothing; dotpromptz sends that
        output=output,
        warnings=warnings + param_warnings,
        format="dotprompt",
        model_hint=hint,
        model_named=meta.get("model"),
    )


# -- the registry's interface (formats.base.PromptFormat) ---------------------------------------------------

NAME = "dotprompt"
SUFFIXES: tuple[str, ...] = (".prompt", ".prompt.md")


def _is_dotprompt_md(meta: Any, body: str) -> bool:
    """A `.prompt.md` is Dotprompt's when its front matter has a key only Dotprompt has or its body is
    Handlebars; VS Code's prompt files share the name (`formats/vscode.py` reads those)."""
    own = KEYS - {"description", "model", "name", "tools"}
    return (isinstance(meta, dict) and bool(own & set(meta))) or "{{" in body


def read_named(path: str, text: str, files: Files) -> tuple[PromptTemplate, ...] | None:
    """`.prompt` is always Dotprompt; `.prompt.md` only when it is Dotprompt's (else VS Code's prompt file or
    a Markdown template, read like any `.md`)."""
    split = reading.front_matter(path, text)
    if path.lower().endswith(".md"):
        return (read(path, *split, files),) if split is not None and _is_dotprompt_md(*split) else None
    meta, body = split or ({}, text)
    return (read(path, meta, body, files),)


def read_document(path: str, doc: Any) -> PromptTemplate | None:
    return None


def read_front_matter(path: str, meta: Any, body: str) -> PromptTemplate | None:
    return read(path, meta, body) if looks_like(meta, body) else None
