"""Function tools a prompt declares, and where a suite expects a call of one.

A prompt's tools are read in one spelling, Chat Completions' wire format (`{"type": "function", "function":
{"name", "description", "parameters"}}`), whichever file declares them (a `.prompt.yml`'s or a chat file's
`tools:`, Prompty's `tools`, the config entry's `tools:`); each provider respells them on the wire. The
declaration comes from a pull request: names are checked, and each tool's parameter schema is compiled as an
output schema is (`schemas.make_validator`: no lookups, patterns on RE2) before any call. Where a call is
expected is said by the prompt's `tool_choice` (`required`, or a named function: every row) or by a suite
row's `expect_tool` column (`true`: some tool; a tool's name: that tool).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema.protocols import Validator

from promptreview.errors import UsageError
from promptreview.sources.schemas import make_validator

EXPECT_COLUMN = "expect_tool"  # the suite column that says a row expects a tool call
CHOICES = ("auto", "none", "required")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")  # OpenAI's rule for a function's name, the strictest of the APIs
_YES = frozenset({"true", "yes", "1", "any"})
_NO = frozenset({"", "false", "no", "0", "none"})

Tools = tuple[dict[str, Any], ...]
ToolChoice = str | dict[str, Any] | None


def function_tools(where: str, raw: Any) -> Tools:
    """`raw` as function tools in Chat Completions' spelling; a bare `{name, description, parameters}` is taken
    as the function itself. Anything else is a `UsageError` naming the tool."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise UsageError(f"{where}: 'tools' must be a list of function tools")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, tool in enumerate(raw):
        if not isinstance(tool, Mapping):
            raise UsageError(f"{where}: tools[{i}] must be a mapping")
        function = tool.get("function") if "function" in tool else tool
        if tool.get("type", "function") != "function" or not isinstance(function, Mapping):
            raise UsageError(
                f"{where}: tools[{i}] must be a function tool ({{type: function, function: ...}})"
            )
        name = function.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise UsageError(
                f"{where}: tools[{i}] needs a 'name' of letters, digits, '_' or '-' (at most 64), not {name!r}"
            )
        if name in seen:
            raise UsageError(f"{where}: tool {name!r} is declared twice")
        seen.add(name)
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, Mapping):
            raise UsageError(f"{where}: the parameters of tool {name!r} must be a JSON Schema object")
        out.append({"type": "function", "function": dict(function)})
    return tuple(out)


def tool_names(tools: Tools) -> tuple[str, ...]:
    return tuple(str(t["function"]["name"]) for t in tools)


def tool_choice(where: str, raw: Any, tools: Tools) -> ToolChoice:
    """`tool_choice` as declared: `auto`, `none`, `required`, or `{type: function, function: {name}}` naming a
    declared tool (a bare tool name is taken as that)."""
    if raw is None:
        return None
    names = tool_names(tools)
    if not names:
        raise UsageError(f"{where}: 'tool_choice' is set but no tools are declared")
    if raw in CHOICES:
        return str(raw)
    name = raw if isinstance(raw, str) else None
    if isinstance(raw, Mapping) and isinstance(raw.get("function"), Mapping):
        name = raw["function"].get("name")
    if not isinstance(name, str) or name not in names:
        raise UsageError(
            f"{where}: 'tool_choice' must be auto, none, required or a declared tool ({', '.join(names)}), "
            f"not {raw!r}"
        )
    return {"type": "function", "function": {"name": name}}


def parameter_validators(tools: Tools, where: str) -> dict[str, Validator | None]:
    """Each tool's validator of its arguments (None: it declares no parameters), compiled before any call."""
    out: dict[str, Validator | None] = {}
    for tool in tools:
        function = tool["function"]
        parameters = function.get("parameters")
        out[str(function["name"])] = make_validator(
            dict(parameters) if parameters is not None else None, f"{where}: tool {function['name']!r}"
        )
    return out


def expected_call(value: Any, choice: ToolChoice, where: str, names: Sequence[str]) -> str | bool:
    """What a row expects: a tool's name, True (some tool) or False (nothing said). The row's `expect_tool`
    wins over the prompt's `tool_choice` (`required`: some tool; a named function: that one)."""
    if value is not None and not (isinstance(value, float) and value != value):  # NaN: a CSV's empty cell
        text = str(value).strip()
        if isinstance(value, bool):
            return value
        if text.lower() in _YES:
            return True
        if text.lower() in _NO:
            return False
        if text not in names:
            raise UsageError(
                f"{where}: {EXPECT_COLUMN} is {text!r}, which is no tool the prompt declares "
                f"({', '.join(names) or 'none'})"
            )
        return text
    if choice == "required":
        return True
    if isinstance(choice, Mapping):
        return str(choice["function"]["name"])
    return False
