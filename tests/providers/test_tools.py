"""Function tools on each provider's wire, and the tool calls read back from each (OpenAI and the Chat
Completions servers, Anthropic's `tool_use` blocks, Ollama's argument objects)."""

from __future__ import annotations

import json

import pytest

from promptreview.providers.anthropic import AnthropicProvider
from promptreview.providers.gemini import GeminiProvider
from promptreview.providers.ollama import OllamaProvider
from promptreview.providers.openai import OpenAIProvider
from promptreview.records import ToolCall
from tests.servers import (
    anthropic_tool_use_message,
    assert_openai_valid,
    make_request,
    openai_tool_call_completion,
)

TOOL = {
    "type": "function",
    "function": {
        "name": "lookup",
        "description": "Find an order",
        "parameters": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
    },
}
NAMED = {"type": "function", "function": {"name": "lookup"}}


@pytest.mark.parametrize("choice", [None, "auto", "required", "none", NAMED])
def test_openai_sends_tools_and_tool_choice_as_declared(choice):
    body = OpenAIProvider(api_key="sk-test").build_body(make_request(tools=(TOOL,), tool_choice=choice))
    assert_openai_valid("CreateChatCompletionRequest", body)
    assert body["tools"] == [TOOL]
    assert body.get("tool_choice") == choice


def test_a_request_without_tools_sends_none():
    body = OpenAIProvider(api_key="sk-test").build_body(make_request())
    assert "tools" not in body and "tool_choice" not in body


def test_openai_tool_calls_are_read_with_their_arguments_as_sent():
    data = openai_tool_call_completion([("lookup", '{"id": "A1"}'), ("lookup", '{"id": ')])
    assert_openai_valid("CreateChatCompletionResponse", data)
    response = OpenAIProvider(api_key="sk-test").parse_response(data)
    assert response.finish_reason == "tool_calls" and response.text is None
    assert response.tool_calls == (
        ToolCall("lookup", '{"id": "A1"}', "call_0"),
        ToolCall("lookup", '{"id": ', "call_1"),
    )


def test_gemini_speaks_chat_completions_tools_too():
    body = GeminiProvider(api_key="k").build_body(make_request("gemini:gemini-2.0-flash-001", tools=(TOOL,)))
    assert body["tools"] == [TOOL]


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        (None, None),
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        (NAMED, {"type": "tool", "name": "lookup"}),
    ],
)
def test_anthropic_sends_tools_in_its_spelling(choice, sent):
    request = make_request("anthropic:claude-sonnet-4-5-20250929", tools=(TOOL,), tool_choice=choice)
    body = AnthropicProvider(api_key="k").build_body(request)
    assert body["tools"] == [
        {"name": "lookup", "description": "Find an order", "input_schema": TOOL["function"]["parameters"]}
    ]
    assert body.get("tool_choice") == sent


def test_anthropic_tool_use_blocks_are_tool_calls():
    data = anthropic_tool_use_message([("lookup", {"id": "A1"}), ("lookup", '{"id": ')], text="Checking.")
    response = AnthropicProvider(api_key="k").parse_response(data)
    assert response.finish_reason == "tool_calls" and response.text == "Checking."
    assert [(c.name, c.arguments, c.id) for c in response.tool_calls] == [
        ("lookup", '{"id": "A1"}', "toolu_00"),
        ("lookup", '{"id": ', "toolu_01"),  # an input that is no object is kept as its text
    ]


def test_ollama_sends_tools_and_reads_argument_objects():
    provider = OllamaProvider()
    body = provider.build_body(make_request("ollama:llama3.1:8b", tools=(TOOL,), tool_choice="required"))
    assert body["tools"] == [TOOL] and "tool_choice" not in body  # Ollama has no tool_choice
    data = {
        "model": "llama3.1:8b",
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "lookup", "arguments": {"id": "A1"}}}],
        },
        "done_reason": "stop",
        "done": True,
    }
    (call,) = provider.parse_response(data).tool_calls
    assert (call.name, json.loads(call.arguments)) == ("lookup", {"id": "A1"})
