"""GitHub Models prompt files (`.prompt.yml`, `.prompt.yaml`, and gh-models' own `*_prompt.yml`), and chat
message arrays in `.json` / `.yaml`.

A GitHub Models file is a mapping with `messages` (and `model`, `modelParameters`, `responseFormat`,
`jsonSchema`, `testData`, `evaluators`); it is told by that content, not only by its name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from promptreview.errors import UsageError
from promptreview.notes import Note, note
from promptreview.sources.evaluators import parse_evaluators
from promptreview.sources.formats import reading
from promptreview.sources.formats.base import Files
from promptreview.sources.template import Engine, PromptTemplate
from promptreview.vocabulary import OutputMode, Role

RESPONSE_FORMATS = ("text", "json_object", "json_schema")

# gh-models fills a placeholder by replacing the exact text `{{key}}` for each key of the test data
# (`prompt.TemplateString`): no Jinja, no spaces inside the braces, every other `{{...}}` sent as written
_EXACT = re.compile(r"\{\{([^{}\s]+)\}\}")
_ANY = re.compile(r"\{\{([^{}]*)\}\}")


def _go_text(value: Any) -> str:
    """A value as Go's `%v` prints it (gh-models formats non-strings so)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render_gh(source: str, values: Mapping[str, Any]) -> str:
    return _EXACT.sub(lambda m: _go_text(values[m.group(1)]) if m.group(1) in values else m.group(0), source)


def gh_variables(source: str) -> set[str]:
    return set(_EXACT.findall(source))


GH_MODELS = Engine("gh-models", render_gh, gh_variables)


def _unfilled(path: str, messages: tuple[tuple[Role, str], ...]) -> tuple[Note, ...]:
    """A `{{ name }}` gh-models leaves as written (it fills only `{{name}}`): named, so it is not a surprise."""
    found = [
        m.group(0) for _, text in messages for m in _ANY.finditer(text) if not _EXACT.fullmatch(m.group(0))
    ]
    if not found:
        return ()
    listed = ", ".join(dict.fromkeys(found))
    return (note("placeholder_unfilled", path, placeholders=listed, tool="gh-models", form="{{name}}"),)


SUFFIXES: tuple[str, ...] = (".prompt.yml", ".prompt.yaml")


def looks_like(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("messages"), list)


def _json_schema(path: str, raw: Any) -> tuple[dict[str, Any] | None, str, bool | None]:
    """`jsonSchema`: a JSON string or a mapping, either `{name, strict, schema}` or a bare schema; its declared
    `strict` is kept as declared (None when it declares none)."""
    if raw is None:
        return None, "output", None
    if isinstance(raw, str):
        raw = reading.safe_json(path, raw, "jsonSchema is ")
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: jsonSchema must be a JSON object")
    if isinstance(raw.get("schema"), dict):
        strict = raw.get("strict")
        return raw["schema"], str(raw.get("name") or "output"), strict if isinstance(strict, bool) else None
    return raw, "output", None


def read(path: str, doc: dict[str, Any]) -> PromptTemplate:
    # the messages first: a file without them is told so, not that its 'model' is malformed
    messages = reading.chat_messages(path, doc.get("messages"))
    schema, name, strict = _json_schema(path, doc.get("jsonSchema"))
    fmt = doc.get("responseFormat")
    if fmt not in (None, *RESPONSE_FORMATS):
        raise UsageError(f"{path}: responseFormat must be text, json_object or json_schema, not {fmt!r}")
    if fmt == "json_schema" and schema is None:
        raise UsageError(f"{path}: responseFormat is json_schema but there is no jsonSchema")
    params, warnings = reading.params(path, doc.get("modelParameters"), "modelParameters")
    for key in ("tools", "tool_choice"):  # a file's own top-level tools (checked when the side is planned)
        if doc.get(key) is not None:
            if key in params:
                raise UsageError(f"{path}: '{key}' is given twice (at the top and in modelParameters)")
            params[key] = doc[key]
    output: OutputMode | None = None
    if fmt in ("json_object", "json_schema") or schema is not None:
        output = "json"
    elif fmt == "text":
        output = "text"
    model = reading.model_name(path, doc.get("model"))
    # `publisher/name` is GitHub Models' spelling: the file's model on GitHub Models
    foreign = model is not None and model.startswith("github:") and ":" not in str(doc.get("model"))
    return PromptTemplate(
        path=path,
        messages=messages,
        engine=GH_MODELS,
        model=None if foreign else model,
        model_hint=model if foreign else None,
        model_named=doc["model"] if isinstance(doc.get("model"), str) else None,
        params=params,
        schema=schema,
        schema_name=name,
        schema_strict=strict,
        json_object=fmt == "json_object",
        output=output,
        suite=reading.suite_rows(path, doc.get("testData"), "testData"),
        suite_source="testData",
        warnings=warnings + _unfilled(path, messages),
        format="github-models",
        evaluators=parse_evaluators(doc.get("evaluators"), f"{path}: evaluators", origin=path),
    )


def read_chat_list(path: str, doc: Any) -> PromptTemplate:
    return PromptTemplate(
        path=path,
        messages=reading.chat_messages(path, doc),
        names=reading.message_names(path, doc),
        format="chat",
    )


# -- the registry's interface (formats.base.PromptFormat) ---------------------------------------------------

NAME = "github-models"


def read_named(path: str, text: str, files: Files) -> tuple[PromptTemplate, ...] | None:
    doc = reading.safe_yaml(path, text)
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: a .prompt.yml file must be a mapping with 'messages'")
    return (read(path, doc),)


def read_document(path: str, doc: Any) -> PromptTemplate | None:
    """A mapping with a `messages` list (gh-models' own `*_prompt.yml`), or a chat-message list. In a file
    named as data (`.json`, `.yaml`), any list is read as chat messages and any mapping with `messages` as a
    prompt file, so a malformed one gets this format's own error instead of "not a prompt file"."""
    data_file = path.lower().endswith(reading.DATA_SUFFIXES)
    if looks_like(doc) or (data_file and isinstance(doc, dict) and "messages" in doc):
        return read(path, doc)
    if reading.is_chat_list(doc) or (data_file and isinstance(doc, list)):
        return read_chat_list(path, doc)
    return None


def read_front_matter(path: str, meta: Any, body: str) -> PromptTemplate | None:
    return None
