"""Prompt file formats and sandboxed rendering.

A prompt file comes from an untrusted pull request: it is parsed with `yaml.safe_load`/`json` and its
templates are rendered by Jinja2's SandboxedEnvironment with StrictUndefined, so a template can neither
reach Python internals nor silently render a missing variable as an empty string.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import jinja2
import yaml
from jinja2 import meta

from promptreview.errors import UsageError
from promptreview.records import Message
from promptreview.sources import sandbox
from promptreview.sources.evaluators import EvaluatorSpec, parse_evaluators

PROMPT_YML_SUFFIXES = (".prompt.yml", ".prompt.yaml")
CHAT_SUFFIXES = (".json", ".yaml", ".yml")
ROLES = ("system", "user", "assistant", "developer")

# GitHub Models spells parameters in camelCase; providers take snake_case
_PARAM_NAMES = {
    "maxTokens": "max_tokens",
    "topP": "top_p",
    "max_tokens": "max_tokens",
    "top_p": "top_p",
    "temperature": "temperature",
    "seed": "seed",
    "stop": "stop",
}

# the bounded sandbox (`sandbox.py`): time, output size and loop budgets on every render
_ENV = sandbox.environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)


@dataclass(frozen=True)
class PromptTemplate:
    """One version of a prompt file: its messages (templates), and what it says about model and output."""

    path: str
    messages: tuple[tuple[str, str], ...]  # (role, template source)
    model: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    schema: dict[str, Any] | None = None
    schema_name: str = "output"
    json_object: bool = False  # responseFormat: json_object without a schema
    evaluators: tuple[EvaluatorSpec, ...] = ()  # a .prompt.yml's own `evaluators` (GitHub Models)

    @cached_property
    def _compiled(self) -> list[tuple[str, jinja2.Template]]:
        return [(role, _ENV.from_string(source)) for role, source in self.messages]

    def variables(self) -> set[str]:
        """Names the templates use, found statically so a missing column fails before any model call."""
        names: set[str] = set()
        for _, source in self.messages:
            names |= meta.find_undeclared_variables(_ENV.parse(source))
        return names

    def render(self, row: Mapping[str, Any], row_label: str) -> tuple[Message, ...]:
        out = []
        for role, template in self._compiled:
            try:
                out.append(Message(role=role, content=sandbox.render(template, row)))
            except jinja2.UndefinedError as exc:
                raise UsageError(f"{self.path}: {exc.message} in suite {row_label}") from None
            except jinja2.exceptions.SecurityError as exc:
                raise UsageError(f"{self.path}: template refused by the sandbox ({exc})") from None
            except jinja2.TemplateError as exc:
                raise UsageError(f"{self.path}: template error ({exc})") from None
        return tuple(out)


def _decode(path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path}: not valid UTF-8 (byte {exc.start}); save the prompt file as UTF-8"
        ) from None


def _messages(path: str, raw: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, list) or not raw:
        raise UsageError(f"{path}: 'messages' must be a non-empty list of {{role, content}}")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or "role" not in item or "content" not in item:
            raise UsageError(f"{path}: messages[{i}] must have 'role' and 'content'")
        role, content = item["role"], item["content"]
        if role not in ROLES:
            raise UsageError(f"{path}: messages[{i}].role must be one of {', '.join(ROLES)}, not {role!r}")
        if not isinstance(content, str):
            raise UsageError(f"{path}: messages[{i}].content must be a string")
        out.append((role, content))
    return tuple(out)


def _params(path: str, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: 'modelParameters' must be a mapping")
    out = {}
    for key, value in raw.items():
        if key not in _PARAM_NAMES:
            raise UsageError(
                f"{path}: modelParameters.{key}: unknown parameter (known: {', '.join(sorted(_PARAM_NAMES))})"
            )
        out[_PARAM_NAMES[key]] = value
    return out


def _json_schema(path: str, raw: Any) -> tuple[dict[str, Any] | None, str]:
    """GitHub Models' `jsonSchema`: a JSON string or a mapping, either `{name, strict, schema}` or a bare schema."""
    if raw is None:
        return None, "output"
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"{path}: jsonSchema is not valid JSON ({exc.msg} at line {exc.lineno})"
            ) from None
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: jsonSchema must be a JSON object")
    if isinstance(raw.get("schema"), dict):
        return raw["schema"], str(raw.get("name") or "output")
    return raw, "output"


def _model(raw: Any, path: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise UsageError(f"{path}: 'model' must be a string")
    # GitHub Models names models `publisher/name`; ours are `provider:model-id`
    if ":" not in raw and "/" in raw:
        return f"github:{raw}"
    return raw


def load_prompt(path: str, data: bytes) -> PromptTemplate:
    """Parse one prompt file's bytes; the format follows from the file name."""
    text = _decode(path, data)
    lower = path.lower()
    if lower.endswith(PROMPT_YML_SUFFIXES):
        doc = _safe_yaml(path, text)
        if not isinstance(doc, dict):
            raise UsageError(f"{path}: a .prompt.yml file must be a mapping with 'messages'")
        schema, name = _json_schema(path, doc.get("jsonSchema"))
        fmt = doc.get("responseFormat")
        if fmt not in (None, "text", "json_object", "json_schema"):
            raise UsageError(f"{path}: responseFormat must be text, json_object or json_schema, not {fmt!r}")
        if fmt == "json_schema" and schema is None:
            raise UsageError(f"{path}: responseFormat is json_schema but there is no jsonSchema")
        return PromptTemplate(
            path=path,
            messages=_messages(path, doc.get("messages")),
            model=_model(doc.get("model"), path),
            params=_params(path, doc.get("modelParameters")),
            schema=schema,
            schema_name=name,
            json_object=fmt == "json_object",
            evaluators=parse_evaluators(doc.get("evaluators"), f"{path}: evaluators", origin=path),
        )
    if lower.endswith(CHAT_SUFFIXES):
        if lower.endswith(".json"):
            try:
                doc = json.loads(text)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        else:
            doc = _safe_yaml(path, text)
        if isinstance(doc, dict) and "messages" in doc:
            return PromptTemplate(
                path=path,
                messages=_messages(path, doc["messages"]),
                model=_model(doc.get("model"), path),
                params=_params(path, doc.get("modelParameters")),
            )
        return PromptTemplate(path=path, messages=_messages(path, doc))
    # a plain template is one user message
    return PromptTemplate(path=path, messages=(("user", text),))


def _safe_yaml(path: str, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise UsageError(f"{path}: not valid YAML{where} ({getattr(exc, 'problem', exc)})") from None


def check_template(template: PromptTemplate, columns: AbstractSet[str], suite: str) -> None:
    """Fail before any call when a template uses a variable no suite row provides, or does not parse."""
    try:
        needed = template.variables()
    except jinja2.TemplateSyntaxError as exc:
        raise UsageError(
            f"{template.path}: template syntax error at line {exc.lineno}: {exc.message}"
        ) from None
    missing = sorted(needed - columns)
    if missing:
        raise UsageError(
            f"{template.path}: template variable '{missing[0]}' is not a column of {suite} "
            f"(columns: {', '.join(sorted(columns)) or 'none'})"
        )
