"""GitHub Models prompt files (`.prompt.yml`, `.prompt.yaml`, and gh-models' own `*_prompt.yml`), and chat
message arrays in `.json` / `.yaml`.

A GitHub Models file is a mapping with `messages` (and `model`, `modelParameters`, `responseFormat`,
`jsonSchema`, `testData`, `evaluators`); it is told by that content, not only by its name.
"""

from __future__ import annotations

from typing import Any

from promptreview.errors import UsageError
from promptreview.sources.evaluators import parse_evaluators
from promptreview.sources.formats import reading
from promptreview.sources.template import PromptTemplate
from promptreview.vocabulary import OutputMode

RESPONSE_FORMATS = ("text", "json_object", "json_schema")
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
    schema, name, strict = _json_schema(path, doc.get("jsonSchema"))
    fmt = doc.get("responseFormat")
    if fmt not in (None, *RESPONSE_FORMATS):
        raise UsageError(f"{path}: responseFormat must be text, json_object or json_schema, not {fmt!r}")
    if fmt == "json_schema" and schema is None:
        raise UsageError(f"{path}: responseFormat is json_schema but there is no jsonSchema")
    params, warnings = reading.params(path, doc.get("modelParameters"), "modelParameters")
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
        messages=reading.chat_messages(path, doc.get("messages")),
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
        warnings=warnings,
        format="github-models",
        evaluators=parse_evaluators(doc.get("evaluators"), f"{path}: evaluators", origin=path),
    )


def read_chat_list(path: str, doc: Any) -> PromptTemplate:
    return PromptTemplate(path=path, messages=reading.chat_messages(path, doc), format="chat")


# -- the registry's interface (formats.base.PromptFormat) ---------------------------------------------------

NAME = "github-models"


def read_named(path: str, text: str) -> tuple[PromptTemplate, ...] | None:
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
