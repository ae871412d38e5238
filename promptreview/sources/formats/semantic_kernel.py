"""Semantic Kernel prompt functions: `skprompt.txt` and the `config.json` beside it, read as Semantic Kernel's
`KernelPromptTemplate` and `ChatHistory.from_rendered_prompt` read them.

The template language is Semantic Kernel's own, not Jinja: `{{$name}}` is a variable, `{{'text'}}` or
`{{"text"}}` a literal, and `{{plugin.function ...}}` a function the application runs (refused: a review
cannot run it). Variable values are HTML-escaped as Semantic Kernel escapes them (its default, without
`allow_dangerously_set_content`); the rendered prompt is then read as XML: `<message role="...">` elements
are chat messages (their `name` kept), text before the first one a system message, text after one a user
message; a prompt that is not XML is one user message. `config.json` gives the execution settings
(`execution_settings.default`, or the older `completion`) and the input variables with their `default`s
(`input_variables`, or the older `input.parameters` with `defaultValue`).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

from promptreview.errors import UsageError
from promptreview.notes import Note
from promptreview.sources.formats import reading
from promptreview.sources.formats.base import Files
from promptreview.sources.template import ROLES, Engine, PromptTemplate, TemplateProblem
from promptreview.vocabulary import Role, one_of

_BLOCK = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_VARIABLE = re.compile(r"^\$([A-Za-z_]\w*)$")
_LITERAL = re.compile(r"""^(['"])(.*)\1$""", re.DOTALL)
_SIGN = re.compile(r"\{\{\s*\$[A-Za-z_]")


def looks_like(text: str) -> bool:
    """A text whose placeholders are Semantic Kernel's `{{$name}}` (Jinja would call `$` a syntax error)."""
    return bool(_SIGN.search(text))


def _blocks(source: str) -> list[tuple[str, str]]:
    """The template as ("text", text), ("var", name) and ("literal", text) parts; a function call refused."""
    parts: list[tuple[str, str]] = []
    at = 0
    for match in _BLOCK.finditer(source):
        parts.append(("text", source[at : match.start()]))
        at = match.end()
        inner = match.group(1).strip()
        variable, literal = _VARIABLE.match(inner), _LITERAL.match(inner)
        if variable:
            parts.append(("var", variable.group(1)))
        elif literal:
            parts.append(("literal", literal.group(2).replace("\\" + literal.group(1), literal.group(1))))
        elif not inner:
            parts.append(("text", ""))
        else:
            raise TemplateProblem(
                f"{{{{{inner}}}}} calls a function of the application (Semantic Kernel runs plugins while it "
                "renders); a review cannot run it: give its result as a variable ({{$name}}) instead"
            )
    parts.append(("text", source[at:]))
    return parts


def _text(value: Any) -> str:
    return "" if value is None else str(value)  # Python's str, as Semantic Kernel's Python renderer


def render_sk(source: str, values: Mapping[str, Any]) -> str:
    out = []
    for kind, text in _blocks(source):
        if kind == "var":
            if text not in values:
                raise TemplateProblem(f"'{text}' is undefined")
            out.append(html.escape(_text(values[text])))  # Semantic Kernel's default for untrusted input
        else:
            out.append(text)
    return "".join(out)


def sk_variables(source: str) -> set[str]:
    return {text for kind, text in _blocks(source) if kind == "var"}


SEMANTIC_KERNEL = Engine("semantic-kernel", render_sk, sk_variables)


def _role(raw: str | None) -> Role:
    role = one_of((raw or "user").lower(), ROLES)
    if role is None:
        raise UsageError(f"Semantic Kernel message role {raw!r} is not one of {', '.join(ROLES)}")
    return role


def split_messages(rendered: str) -> Sequence[tuple[Role, str]]:
    """The rendered prompt as chat messages, as `ChatHistory.from_rendered_prompt` reads it."""
    prompt = rendered.strip()
    try:
        root = ET.fromstring(f"<root>{prompt}</root>")
    except ET.ParseError:
        return [("user", html.unescape(prompt))] if prompt else []
    out: list[tuple[Role, str]] = []
    if root.text and root.text.strip():
        out.append(("system", html.unescape(root.text.strip())))
    for item in root:
        items = list(item) if item.tag == "chat_history" else [item] if item.tag == "message" else []
        for message in items:
            out.append((_role(message.get("role")), "".join(message.itertext()).strip()))
        if item.tail and item.tail.strip():
            out.append(("user", html.unescape(item.tail.strip())))
    if len(out) == 1 and out[0][0] == "system":
        out[0] = ("user", out[0][1])
    return [(r, c) for r, c in out if c]


def _settings(path: str, raw: Any) -> tuple[dict[str, Any], tuple[Note, ...], str | None]:
    """(parameters, warnings, model hint) of `execution_settings` (by service id: `default`, else the only
    or first one) or the older `completion`."""
    if not isinstance(raw, dict):
        return {}, (), None
    chosen: Any = raw
    if raw and all(isinstance(v, dict) for v in raw.values()):
        chosen = raw.get("default") or next(iter(raw.values()))
    if not isinstance(chosen, dict):
        return {}, (), None
    chosen = dict(chosen)
    hint = chosen.pop("model_id", None) or chosen.pop("ai_model_id", None)
    for ignored in ("service_id", "function_choice_behavior", "response_format"):
        chosen.pop(ignored, None)
    params, warnings = reading.params(path, chosen, "execution_settings")
    return params, warnings, str(hint) if hint else None


def _defaults(raw: Any) -> dict[str, Any]:
    """`input_variables: [{name, default}]`, or the older `input: {parameters: [{name, defaultValue}]}`."""
    out: dict[str, Any] = {}
    items = raw.get("input_variables") if isinstance(raw.get("input_variables"), list) else None
    if items is None and isinstance(raw.get("input"), dict):
        items = raw["input"].get("parameters")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            for key in ("default", "defaultValue"):
                if key in item:
                    out[item["name"]] = item[key]
    return out


def read(path: str, text: str, files: Files) -> PromptTemplate:
    config_path, data = reading.beside(path, files, "config.json", "config")
    config: Any = {}
    if data is not None:
        config = reading.safe_json(config_path, reading.decode(config_path, data))
        if not isinstance(config, dict):
            raise UsageError(f"{config_path}: a Semantic Kernel config.json must be a JSON object")
    settings = config.get("execution_settings", config.get("completion"))
    params, warnings, hint = _settings(config_path, settings)
    if config.get("template_format") not in (None, "semantic-kernel"):
        raise UsageError(
            f"{config_path}: template_format {config['template_format']!r} is not read by promptreview "
            "(only Semantic Kernel's own template syntax)"
        )
    return PromptTemplate(
        path=path,
        messages=(("body", text),),
        params=params,
        engine=SEMANTIC_KERNEL,
        split=split_messages,
        defaults=_defaults(config),
        warnings=warnings,
        format="semantic-kernel",
        model_hint=reading.model_name(config_path, hint) if hint else None,
    )


# -- the registry's interface (formats.base.PromptFormat) ---------------------------------------------------

NAME = "semantic-kernel"
SUFFIXES: tuple[str, ...] = ("skprompt.txt",)


def read_named(path: str, text: str, files: Files) -> tuple[PromptTemplate, ...] | None:
    if path.replace("\\", "/").rsplit("/", 1)[-1].lower() != "skprompt.txt":
        return None  # `myskprompt.txt` is a text file like any other
    return (read(path, text, files),)


def read_document(path: str, doc: Any) -> PromptTemplate | None:
    return None


def read_front_matter(path: str, meta: Any, body: str) -> PromptTemplate | None:
    return None
