"""A tool-calling answer's faults (`engine/measurement/tool_calls.py`): each one a word of its own, judged by the
contract's declaration of the tool; the call itself is the answer's output."""

from __future__ import annotations

import pandas as pd
import pytest

from promptreview.engine.measurement.analysis import tool_frame
from promptreview.engine.measurement.tool_calls import (
    TOOL_FIELD,
    ToolJudge,
    call_answer,
    call_output,
)
from promptreview.records import ProviderResponse, ToolCall
from promptreview.sources import tools

WEATHER = {
    "name": "get_weather",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city"],
    },
}
DECLARED = tools.function_tools("p", [WEATHER, {"name": "search"}])
JUDGE = ToolJudge(
    declared={"base": frozenset({"get_weather", "search"}), "head": frozenset({"get_weather", "search"})},
    validators=tools.parameter_validators(DECLARED, "p"),
    expected={"weather": "get_weather", "any": True, "free": False},
)


def answer(*calls: tuple[str, str], text: str | None = None, refusal: str | None = None) -> ProviderResponse:
    return ProviderResponse(text=text, refusal=refusal, tool_calls=tuple(ToolCall(n, a) for n, a in calls))


@pytest.mark.parametrize(
    ("input_id", "response", "fault"),
    [
        ("weather", answer(("get_weather", '{"city": "Oslo"}')), None),
        ("weather", answer(text="It is sunny."), "tool_missing"),
        ("weather", answer(("search", '{"q": "weather"}')), "tool_missing"),  # another tool than the expected
        ("any", answer(("search", "")), None),  # empty arguments: none, as the APIs send them
        ("free", answer(text="Hello"), None),  # nothing expected
        ("free", answer(("get_forecast", "{}")), "tool_unknown"),
        ("weather", answer(("get_weather", '{"city": "Os')), "tool_invalid_json"),
        ("weather", answer(("get_weather", '{"city": "Oslo", "unit": "k"}')), "tool_invalid_arguments"),
        ("weather", answer(("get_weather", '["Oslo"]')), "tool_invalid_arguments"),
        # the worst of several calls: unknown before not JSON before the schema
        ("free", answer(("get_weather", "{"), ("nope", "{}")), "tool_unknown"),
        ("weather", answer(refusal="I cannot help"), None),  # a refusal is counted as a refusal
        ("weather", None, None),  # a failed call is an error
    ],
)
def test_each_answer_has_at_most_one_fault(input_id, response, fault):
    assert JUDGE.outcome("head", input_id, response) == fault


def test_a_tool_only_the_other_side_declares_is_unknown_to_this_one():
    judge = ToolJudge({"base": frozenset({"get_weather"}), "head": frozenset()}, JUDGE.validators, {})
    call = answer(("get_weather", '{"city": "Oslo"}'))
    assert judge.outcome("base", "x", call) is None
    assert judge.outcome("head", "x", call) == "tool_unknown"


def test_the_call_is_the_output_and_the_answer():
    calls = (ToolCall("get_weather", '{"city": "Oslo", "unit": "c"}'), ToolCall("search", "not json"))
    assert call_output(calls) == {TOOL_FIELD: "get_weather", "city": "Oslo", "unit": "c"}
    assert call_answer(calls) == '[["get_weather",{"city":"Oslo","unit":"c"}],["search","not json"]]'
    assert call_output((ToolCall("search", "{"),)) == {TOOL_FIELD: "search"}


def test_a_fault_is_rated_as_an_outcome_is():
    frame = pd.DataFrame(
        {"outcome": ["ok", "ok", "error", "refusal"], "tool": ["tool_unknown", None, None, None]}
    )
    assert tool_frame(frame, "tool_unknown")["outcome"].tolist() == ["tool_unknown", "ok", "error", "ok"]
    assert tool_frame(frame, "tool_missing")["outcome"].tolist() == ["ok", "ok", "error", "ok"]


def test_the_base_declaration_of_a_tool_judges_both_sides():
    """A head that loosens a tool's schema is judged by the base's: its own loosened calls fail it."""
    from types import SimpleNamespace

    from promptreview.engine.measurement.tool_calls import judge

    strict = tools.function_tools("p", [WEATHER])
    loose = tools.function_tools("p", [{"name": "get_weather", "parameters": {"type": "object"}}])
    template = SimpleNamespace(path="p")
    job = SimpleNamespace(
        has_tools=True,
        sides=(
            SimpleNamespace(name="base", tools=strict, template=template),
            SimpleNamespace(name="head", tools=loose, template=template),
        ),
        expected_tools={},
    )
    found = judge(job)  # type: ignore[arg-type]  # the fields a judge reads
    assert found is not None
    call = answer(("get_weather", '{"town": "Oslo"}'))
    assert found.outcome("head", "x", call) == "tool_invalid_arguments"
