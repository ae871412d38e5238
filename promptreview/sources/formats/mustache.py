"""Handlebars (Dotprompt) and Mustache (LangChain, Prompty) templates, rendered by `dotpromptz-handlebars`
(Google's pure-Python Handlebars, the one `dotpromptz` uses), never as Jinja.

Dotprompt renders without HTML escaping and with its helpers (`role`, `history`, `section`, `media`,
`json`, `ifEquals`, `unlessEquals`). Mustache escapes `& " < >` in `{{name}}` as LangChain's renderer does
(`{{{name}}}` and `{{& name}}` do not). A name the data lacks renders empty, as in the reference tools;
the static variable check (`variables`) is what makes a missing suite column an error before any call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from dotpromptz_handlebars import EscapeFunction, Handlebars, HelperOptions, SafeString

from promptreview.sources.template import Engine, TemplateProblem

_TAG = re.compile(r"\{\{(\{?)~?\s*(.*?)\s*~?\}?\}\}", re.DOTALL)
_HELPERS = {"role", "history", "section", "media", "json", "if", "unless", "each", "with", "ifEquals",
            "unlessEquals", "lookup", "log", "else", "lcEscape"}  # fmt: skip
_SCOPING = {"each", "with"}  # inside these blocks a bare name is the item's, not the input's
_NAME = re.compile(r"^[A-Za-z_][\w-]*")


def _marker(text: str) -> SafeString:
    return SafeString(text)


def _role(params: list[Any], options: HelperOptions) -> str:
    return _marker(f"<<<dotprompt:role:{params[0]}>>>") if params else ""


def _history(params: list[Any], options: HelperOptions) -> str:
    return _marker("<<<dotprompt:history>>>")


def _section(params: list[Any], options: HelperOptions) -> str:
    return _marker(f"<<<dotprompt:section {params[0]}>>>") if params else ""


def _media(params: list[Any], options: HelperOptions) -> str:
    url = options.hash_value("url")
    return _marker(f"<<<dotprompt:media:url {url}>>>") if url else ""


def _json(params: list[Any], options: HelperOptions) -> str:
    if not params:
        return ""
    indent = options.hash_value("indent") or 0
    try:
        indent = int(indent)
    except (TypeError, ValueError):
        indent = 0
    if indent:
        return _marker(json.dumps(params[0], indent=indent))
    return _marker(json.dumps(params[0], separators=(",", ":")))


def _if_equals(params: list[Any], options: HelperOptions) -> str:
    return str(options.fn() if len(params) > 1 and params[0] == params[1] else options.inverse())


def _unless_equals(params: list[Any], options: HelperOptions) -> str:
    return str(options.fn() if len(params) < 2 or params[0] != params[1] else options.inverse())


def _lc_escape(params: list[Any], options: HelperOptions) -> str:
    value = params[0] if params else None
    text = "" if value is None else str(value)
    for char, code in (("&", "&amp;"), ('"', "&quot;"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(char, code)
    return _marker(text)


def _log(params: list[Any], options: HelperOptions) -> str:
    """Handlebars' `{{log}}` writes its arguments to the renderer's console, and so, in CI, to the job's log,
    where a line the pull request wrote (`::error …`, `##[…]`) would be a workflow command. It renders
    nothing, as in Handlebars, and writes nowhere: a prompt file never reaches the log this way."""
    return ""


def _handlebars() -> Handlebars:
    hb = Handlebars(escape_fn=EscapeFunction.NO_ESCAPE)
    for name, fn in (("role", _role), ("history", _history), ("section", _section), ("media", _media),
                     ("json", _json), ("ifEquals", _if_equals), ("unlessEquals", _unless_equals),
                     ("lcEscape", _lc_escape), ("log", _log)):  # fmt: skip
        hb.register_helper(name, fn)
    return hb


_HB = _handlebars()


def render_handlebars(source: str, values: Mapping[str, Any]) -> str:
    try:
        return str(_HB.compile(source)(dict(values)))
    except Exception as exc:  # the library raises plain ValueErrors for syntax; say which template failed
        raise TemplateProblem(f"Handlebars template error ({exc})") from None


def handlebars_variables(source: str) -> set[str]:
    """The input names a Handlebars/Mustache template reads outside `each`/`with` blocks."""
    names: set[str] = set()
    scopes: list[str] = []
    for match in _TAG.finditer(source):
        body = match.group(2).strip()
        if not body or body[0] in "!>":
            continue
        if body[0] == "/":
            if scopes:
                scopes.pop()
            continue
        sigil = body[0] if body[0] in "#^&" else ""
        tokens = re.findall(r'"[^"]*"|\'[^\']*\'|\S+', body[len(sigil) :])
        if not tokens:
            continue
        head = tokens[0]
        # names inside an `each`/`with` block or a Mustache section over data belong to the item
        nested = any(s in _SCOPING or s not in _HELPERS for s in scopes)
        if sigil in ("#", "^"):
            scopes.append(head)
        if nested:
            continue
        args = tokens[1:] if head in _HELPERS else tokens[:1]
        for arg in args:
            if arg[0] in "\"'@(" or "=" in arg or arg.startswith(("this", "..", ".")) or arg[0].isdigit():
                continue
            found = _NAME.match(arg)
            if found and found.group(0) not in ("true", "false", "null", "undefined", "else"):
                names.add(found.group(0))
    return names


HANDLEBARS = Engine("handlebars", render_handlebars, handlebars_variables)

_PLAIN_VARIABLE = re.compile(r"(?<![\\{])\{\{(?![{&#^/!>=])\s*([A-Za-z_][\w.]*)\s*\}\}(?!\})")


def render_mustache(source: str, values: Mapping[str, Any]) -> str:
    return render_handlebars(_PLAIN_VARIABLE.sub(r"{{lcEscape \1}}", source), values)


MUSTACHE = Engine("mustache", render_mustache, handlebars_variables)
