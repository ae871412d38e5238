"""Function tools as a prompt declares them (`sources/tools.py`): one spelling, names and parameter schemas checked
before any call, and what a suite row expects."""

from __future__ import annotations

import re

import pytest

from promptreview.errors import UsageError
from promptreview.sources import tools

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def test_function_tools_in_chat_completions_spelling_and_bare_functions_alike():
    bare = {"name": "search", "description": "Search", "parameters": {"type": "object"}}
    declared = tools.function_tools("p.prompt.yml", [WEATHER, bare])
    assert declared == (WEATHER, {"type": "function", "function": bare})
    assert tools.tool_names(declared) == ("get_weather", "search")


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ({"name": "x"}, "must be a list"),
        (["x"], "tools[0] must be a mapping"),
        ([{"type": "code_interpreter"}], "must be a function tool"),
        ([{"name": "has space"}], "needs a 'name' of letters"),
        ([{"name": "a"}, {"name": "a"}], "declared twice"),
        ([{"name": "a", "parameters": "object"}], "must be a JSON Schema object"),
    ],
)
def test_a_malformed_declaration_is_one_line(raw, said):
    with pytest.raises(UsageError, match=re.escape(said)):
        tools.function_tools("p.prompt.yml", raw)


def test_a_parameter_schema_that_cannot_compile_is_refused_before_any_call():
    bad = {"name": "a", "parameters": {"type": "object", "properties": {"x": {"pattern": "(?=look)"}}}}
    with pytest.raises(UsageError, match="tool 'a'"):
        tools.parameter_validators(tools.function_tools("p", [bad]), "p")


def test_tool_choice_words_and_named_functions():
    declared = tools.function_tools("p", [WEATHER])
    assert tools.tool_choice("p", "required", declared) == "required"
    named = {"type": "function", "function": {"name": "get_weather"}}
    assert tools.tool_choice("p", "get_weather", declared) == named
    assert tools.tool_choice("p", named, declared) == named
    with pytest.raises(UsageError, match="declared tool"):
        tools.tool_choice("p", "get_time", declared)
    with pytest.raises(UsageError, match="no tools are declared"):
        tools.tool_choice("p", "auto", ())


@pytest.mark.parametrize(
    ("value", "choice", "expected"),
    [
        (None, None, False),
        (None, "auto", False),
        (None, "required", True),
        (None, {"type": "function", "function": {"name": "get_weather"}}, "get_weather"),
        ("get_weather", None, "get_weather"),
        (True, None, True),
        ("yes", None, True),
        ("false", "required", False),  # the row's word wins over the prompt's
        (float("nan"), None, False),  # a CSV's empty cell
    ],
)
def test_what_a_row_expects(value, choice, expected):
    assert tools.expected_call(value, choice, "row 'a'", ("get_weather",)) == expected


def test_a_row_expecting_an_undeclared_tool_is_refused():
    with pytest.raises(UsageError, match="expect_tool is 'get_time', which is no tool"):
        tools.expected_call("get_time", None, "suite.jsonl: row 'a'", ("get_weather",))
