"""LangChain prompt templates saved as JSON (or YAML): `PromptTemplate` and `ChatPromptTemplate`, in the
serialised form (`{"lc": 1, "type": "constructor", "id": [..., "ChatPromptTemplate"], "kwargs": ...}`) and in
the simple `_type` form (`{"_type": "prompt", "template": ..., "template_format": ...}`).

Template formats: `f-string` (`{name}`, `{{` for a brace; Python's formatter, as LangChain's), `mustache`
(`{{name}}`, HTML-escaped as LangChain's renderer does) and `jinja2`. `partial_variables` are defaults.
A `MessagesPlaceholder` has no messages in a review and is left out, with a warning.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from promptreview.errors import UsageError
from promptreview.notes import note
from promptreview.sources import sandbox
from promptreview.sources.formats.base import Files
from promptreview.sources.formats.mustache import MUSTACHE
from promptreview.sources.template import JINJA, Engine, PromptTemplate, TemplateProblem
from promptreview.vocabulary import Role

_ROLES: dict[str, Role] = {
    "SystemMessagePromptTemplate": "system",
    "HumanMessagePromptTemplate": "user",
    "AIMessagePromptTemplate": "assistant",
    "SystemMessage": "system",
    "HumanMessage": "user",
    "AIMessage": "assistant",
}
_ROLE_WORDS: dict[str, Role] = {"system": "system", "human": "user", "user": "user", "ai": "assistant", "assistant": "assistant",
               "developer": "developer"}  # fmt: skip


def _check_fields(source: str) -> list[str]:
    """The fields of an f-string template, refused when they could reach past a plain value: attribute access
    and indexing (refused by LangChain itself), or a format width that pads a value to megabytes."""
    fields = []
    for _, name, spec, _ in string.Formatter().parse(source):
        if name is None:
            continue
        if "." in name or "[" in name:
            raise TemplateProblem(f"f-string field {{{name}}}: attribute access and indexing are not allowed")
        if spec and ("{" in spec or sandbox.WIDE_FORMAT.search(spec)):
            raise TemplateProblem(f"f-string field {{{name}}}: format spec {spec!r} refused by the sandbox")
        fields.append(name)
    return fields


def render_fstring(source: str, values: Mapping[str, Any]) -> str:
    try:
        _check_fields(source)
        return string.Formatter().vformat(source, (), dict(values))
    except KeyError as exc:
        raise TemplateProblem(f"'{exc.args[0]}' is undefined") from None
    except (ValueError, IndexError, AttributeError) as exc:
        raise TemplateProblem(f"f-string template error ({exc})") from None


def fstring_variables(source: str) -> set[str]:
    try:
        fields = _check_fields(source)
    except ValueError as exc:
        raise TemplateProblem(f"f-string template error ({exc})") from None
    return {f for f in fields if f}


FSTRING = Engine("f-string", render_fstring, fstring_variables)
_ENGINES = {"f-string": FSTRING, "mustache": MUSTACHE, "jinja2": JINJA}


def looks_like(doc: Any) -> bool:
    """A LangChain prompt: serialised (`lc`), or a `load_prompt` config, whose `_type` defaults to `prompt`
    (a mapping with a `template` string and `input_variables` or `template_format` is one without it)."""
    return isinstance(doc, dict) and (
        (doc.get("lc") == 1 and doc.get("type") == "constructor")
        or doc.get("_type") in ("prompt", "chat")
        or (
            "_type" not in doc
            and isinstance(doc.get("template"), str)
            and ("input_variables" in doc or "template_format" in doc)
        )
    )


def _load_prompt_chat(doc: dict[str, Any]) -> str | None:
    """`load_prompt`'s `_type: chat`: the first message's `prompt.template`, made one human message by
    `ChatPromptTemplate.from_template` (the other messages are not read by it); None for another shape."""
    messages = doc.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    prompt = first.get("prompt") if isinstance(first, dict) and "lc" not in first else None
    template = prompt.get("template") if isinstance(prompt, dict) else None
    return template if isinstance(template, str) else None


def _class(node: Any) -> str:
    ids = node.get("id") if isinstance(node, dict) else None
    return str(ids[-1]) if isinstance(ids, list) and ids else ""


def _prompt(path: str, node: Any) -> tuple[str, str, dict[str, Any]]:
    """(template, format, partial variables) of a PromptTemplate node, serialised or simple."""
    if not isinstance(node, dict):
        raise UsageError(f"{path}: a prompt template must be a mapping")
    kwargs = node.get("kwargs", node) if node.get("lc") == 1 else node
    template = kwargs.get("template")
    if not isinstance(template, str):
        raise UsageError(f"{path}: a PromptTemplate needs a 'template' string (template_path is not read)")
    fmt = kwargs.get("template_format", "f-string")
    if fmt not in _ENGINES:
        raise UsageError(f"{path}: template_format must be f-string, mustache or jinja2, not {fmt!r}")
    return template, fmt, dict(kwargs.get("partial_variables") or {})


def _message(path: str, node: Any, i: int) -> tuple[Role, str, str | None, dict[str, Any]] | None:
    """(role, template, format or None for literal text, partials) of one chat message; None: a placeholder."""
    if isinstance(node, (list, tuple)) and len(node) == 2:  # ("human", "{question}")
        role = _ROLE_WORDS.get(str(node[0]))
        if role is None or not isinstance(node[1], str):
            raise UsageError(f"{path}: messages[{i}]: unknown role {node[0]!r}")
        return role, node[1], "f-string", {}
    if not isinstance(node, dict):
        raise UsageError(f"{path}: messages[{i}] must be a mapping")
    cls = _class(node)
    kwargs = node.get("kwargs", {}) if node.get("lc") == 1 else node
    if cls == "MessagesPlaceholder" or node.get("_type") == "placeholder":
        return None
    if cls in ("SystemMessage", "HumanMessage", "AIMessage"):
        content = kwargs.get("content")
        if not isinstance(content, str):
            raise UsageError(f"{path}: messages[{i}].content must be a string")
        return _ROLES[cls], content, None, {}
    role = _ROLES.get(cls) or _ROLE_WORDS.get(str(kwargs.get("role", "")))
    if role is None:
        raise UsageError(f"{path}: messages[{i}]: unknown message class {cls or kwargs.get('role')!r}")
    prompt = kwargs.get("prompt")
    if prompt is None and isinstance(kwargs.get("template"), str):
        prompt = kwargs
    if prompt is None and isinstance(kwargs.get("content"), str):
        return role, kwargs["content"], kwargs.get("template_format", "f-string"), {}
    if isinstance(prompt, list):  # a multimodal message: its text parts, one after another
        parts = [
            _prompt(path, p) for p in prompt if isinstance(p, dict) and _class(p) in ("", "PromptTemplate")
        ]
        if not parts:
            raise UsageError(f"{path}: messages[{i}] has no text template")
        return (
            role,
            "\n".join(t for t, _, _ in parts),
            parts[0][1],
            {k: v for _, _, d in parts for k, v in d.items()},
        )
    template, fmt, partials = _prompt(path, prompt)
    return role, template, fmt, partials


def read(path: str, doc: dict[str, Any]) -> PromptTemplate:
    cls = (
        _class(doc)
        if doc.get("lc") == 1
        else ("ChatPromptTemplate" if doc.get("_type") == "chat" else "PromptTemplate")
    )
    kwargs = doc.get("kwargs", {}) if doc.get("lc") == 1 else doc
    chat_template = _load_prompt_chat(doc) if doc.get("_type") == "chat" else None
    if chat_template is not None:
        fmt = str(doc.get("template_format", "f-string"))
        if fmt not in _ENGINES:
            raise UsageError(f"{path}: template_format must be f-string, mustache or jinja2, not {fmt!r}")
        return PromptTemplate(path=path, messages=(("user", chat_template),), engine=_ENGINES[fmt],
                              defaults=dict(doc.get("partial_variables") or {}), format=f"langchain ({fmt})")  # fmt: skip
    parser = doc.get("output_parser") if "_type" in doc or "lc" not in doc else None
    if isinstance(parser, dict) and parser.get("_type", "default") != "default":
        # load_prompt refuses it (only the default parser is loaded), so the application never sent this
        raise UsageError(
            f"{path}: output_parser of type {parser.get('_type')!r} is refused by LangChain's load_prompt"
        )
    if cls == "PromptTemplate":
        template, fmt, partials = _prompt(path, doc)
        return PromptTemplate(path=path, messages=(("user", template),), engine=_ENGINES[fmt],
                              defaults=partials, format=f"langchain ({fmt})")  # fmt: skip
    if cls != "ChatPromptTemplate":
        raise UsageError(f"{path}: LangChain {cls or 'object'} is not a prompt template promptreview reads")
    raw = kwargs.get("messages")
    if not isinstance(raw, list) or not raw:
        raise UsageError(f"{path}: a ChatPromptTemplate needs a non-empty 'messages' list")
    parsed = [_message(path, node, i) for i, node in enumerate(raw)]
    kept = [m for m in parsed if m is not None]
    formats = {fmt for _, _, fmt, _ in kept if fmt is not None}
    if len(formats) > 1:
        raise UsageError(f"{path}: messages mix template formats ({', '.join(sorted(formats))})")
    fmt = formats.pop() if formats else "f-string"
    engine = _ENGINES[fmt]
    messages = []
    for role, template, message_fmt, _ in kept:
        # a literal message is text, not a template: escape it so the engine leaves it as it is
        messages.append((role, template if message_fmt is not None else _literal(template, fmt)))
    defaults: dict[str, Any] = dict(kwargs.get("partial_variables") or {})
    for *_, partials in kept:
        defaults.update(partials)
    warnings = (note("placeholder_dropped", path),) if len(kept) < len(parsed) else ()
    return PromptTemplate(path=path, messages=tuple(messages), engine=engine, defaults=defaults,
                          warnings=warnings, format=f"langchain ({fmt})")  # fmt: skip


def _literal(text: str, fmt: str) -> str:
    if fmt == "f-string":
        return text.replace("{", "{{").replace("}", "}}")
    if fmt == "jinja2":
        return "{% raw %}" + text + "{% endraw %}"
    return text.replace("{{", "\\{{")


# -- the registry's interface (formats.base.PromptFormat) ---------------------------------------------------

NAME = "langchain"
SUFFIXES: tuple[str, ...] = ()  # a JSON/YAML file is LangChain's by its content


def read_named(path: str, text: str, files: Files) -> tuple[PromptTemplate, ...] | None:
    return None


def read_document(path: str, doc: Any) -> PromptTemplate | None:
    return read(path, doc) if looks_like(doc) else None


def read_front_matter(path: str, meta: Any, body: str) -> PromptTemplate | None:
    return None
