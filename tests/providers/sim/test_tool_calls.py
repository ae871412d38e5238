"""The sim's tool calls (`providers/sim/tool_calls.py`): plausible, seeded, and steered by the prompt's own
instructions, so a review of a prompt with tools runs offline."""

from __future__ import annotations

import json

import pytest

from promptreview.providers.sim.model_id import validate_model_id
from promptreview.providers.sim.provider import simulate
from promptreview.records import CompletionRequest, Message, ModelSpec

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {"name": "search_docs", "description": "Search the help centre docs"},
}


def request(system: str, user: str = "What is the weather in Oslo?", choice=None, model="tools-v1", k=0):
    return CompletionRequest(
        model=ModelSpec("sim", model),
        messages=(Message("system", system), Message("user", user)),
        params=(("temperature", 0.7),),
        tools=(WEATHER, SEARCH),
        tool_choice=choice,
        sample_index=k,
    )


def answer(req: CompletionRequest):
    return simulate(req, validate_model_id(req.model.model))


def test_a_prompt_that_says_to_use_its_tools_gets_calls_of_the_tool_the_input_is_about():
    response = answer(request("Use the tools to answer questions."))
    (call,) = response.tool_calls
    assert response.finish_reason == "tool_calls" and response.text is None
    assert call.name == "get_weather"
    arguments = json.loads(call.arguments)
    assert set(arguments) == {"city", "unit"} and arguments["unit"] in ("c", "f")
    assert (
        answer(request("Use the tools.", "How do I search the help docs?")).tool_calls[0].name
        == "search_docs"
    )


@pytest.mark.parametrize(
    ("system", "choice", "calls"),
    [
        ("You are a weather bot. Call get_weather for weather questions.", None, True),  # the tool named
        ("You are a weather bot.", None, False),  # tools declared but never mentioned
        ("Use the tools. Do not call tools for small talk.", None, False),
        ("Answer directly.", "required", True),
        ("Use the tools.", "none", False),
    ],
)
def test_whether_a_call_is_made(system, choice, calls):
    assert bool(answer(request(system, choice=choice)).tool_calls) is calls


def test_a_named_tool_choice_is_the_tool_called():
    named = {"type": "function", "function": {"name": "search_docs"}}
    assert answer(request("Answer.", choice=named)).tool_calls[0].name == "search_docs"


def test_calls_are_seeded_and_the_faults_follow_the_overrides():
    system = "Use the tools."
    assert answer(request(system)) == answer(request(system))
    faulty = [answer(request(system, model="t?tool_invalid_json=1", k=k)).tool_calls[0] for k in range(5)]
    for call in faulty:
        with pytest.raises(json.JSONDecodeError):
            json.loads(call.arguments)
    unknown = answer(request(system, model="t?tool_unknown=1")).tool_calls[0]
    assert unknown.name not in ("get_weather", "search_docs")
    broken = json.loads(answer(request(system, model="t?tool_invalid_arguments=1")).tool_calls[0].arguments)
    assert broken != json.loads(answer(request(system)).tool_calls[0].arguments)
