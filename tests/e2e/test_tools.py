"""Prompts with tools, reviewed end to end against loopback servers speaking OpenAI's and Anthropic's wire
formats: the tools go out in each provider's spelling, tool calls come back as calls, and each fault of a call
(none where one was expected, an unknown tool, arguments that are not JSON, arguments against the tool's
schema) is a rate of its own, gated like the outcomes' rates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import run_installed
from tests.e2e_helpers import check
from tests.reports import assert_valid_report
from tests.servers import (
    Reply,
    ScriptedServer,
    anthropic_compatible_handler,
    anthropic_message,
    anthropic_tool_use_message,
    assert_openai_valid,
    openai_compatible_handler,
    openai_tool_call_completion,
)

pytestmark = pytest.mark.e2e

OPENAI_MODEL = "gpt-4o-mini-2024-07-18"
ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search_docs",
        "description": "Search the help centre",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
}
CITIES = ["Oslo", "Lima", "Pune", "Kyiv", "Doha", "Rome", "Nice", "Bern", "Riga", "Baku", "Cork", "Lyon"]
CALLS = "Use the get_weather tool for every question about the weather."
DIRECT = "Answer from what you know about the climate; do not call tools."


def prompt(system: str) -> str:
    return json.dumps(
        {
            "name": "weather",
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": "{{question}}"}],
            "tools": [WEATHER, SEARCH],
        },
        indent=2,
    )


def make_repo(git_repo, model: str, head_system: str, kinds: list[str] | None = None):
    """A repository whose base prompt calls get_weather and whose head uses `head_system`; 12 rows, each
    expecting a get_weather call (`expect_tool`), the row's `kind` telling the server what to answer."""
    kinds = kinds or ["valid"] * len(CITIES)
    rows = [
        {
            "id": f"q{i}",
            "question": f"What is the weather in {city} now? [{kind}]",
            "expect_tool": "get_weather",
        }
        for i, (city, kind) in enumerate(zip(CITIES, kinds, strict=True))
    ]
    git_repo.write(
        "promptreview.yml",
        f"version: 1\nmodel: {model}\nsamples: 2\nconcurrency: 4\nprompts:\n"
        "  - files: 'prompts/*.prompt.yml'\n    suite: data/questions.jsonl\n    output: text\n"
        "gates:\n  tool_missing: {max_increase: 0.05}\n  alpha: 0.05\n",
    )
    git_repo.write("data/questions.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    git_repo.write("prompts/weather.prompt.yml", prompt(CALLS))
    git_repo.commit("base")
    git_repo.write("prompts/weather.prompt.yml", prompt(head_system))
    git_repo.commit("head")
    return git_repo


def _city(question: str) -> str:
    return next(c for c in CITIES if c in question)


def _kind(question: str, system: str) -> str:
    if "do not call tools" in system:
        return "none"
    if "v2" not in system:
        return "valid"  # the base answers every row with a valid call
    return question.rsplit("[", 1)[1].rstrip("]")


def _arguments(kind: str, city: str) -> tuple[str, Any]:
    """(tool, arguments) for each kind of answer: arguments as a JSON text (OpenAI) or an object (Anthropic's
    `input`; its text when the JSON is broken)."""
    if kind == "unknown":
        return "get_forecast", {"city": city}
    if kind == "badjson":
        return "get_weather", '{"city": "' + city
    if kind == "schema":
        return "get_weather", {"city": city, "unit": "kelvin"}
    return "get_weather", {"city": city, "unit": "c"}


def openai_answer(body: dict) -> Reply | str:
    assert_openai_valid("CreateChatCompletionRequest", body)
    assert body["tools"] == [WEATHER, SEARCH]  # sent as declared
    system = body["messages"][0]["content"]
    question = body["messages"][-1]["content"]
    kind = _kind(question, system)
    if kind == "none":
        return "Oslo is mild in spring; expect rain."
    name, arguments = _arguments(kind, _city(question))
    sent = arguments if isinstance(arguments, str) else json.dumps(arguments)
    reply = openai_tool_call_completion([(name, sent)], model=body["model"])
    assert_openai_valid("CreateChatCompletionResponse", reply)
    return Reply(200, reply)


def anthropic_answer(body: dict) -> Reply | str:
    assert [t["name"] for t in body["tools"]] == ["get_weather", "search_docs"]
    assert body["tools"][0]["input_schema"] == WEATHER["function"]["parameters"]
    assert "function" not in body["tools"][0] and "type" not in body["tools"][0]
    question = body["messages"][-1]["content"]
    kind = _kind(question, body.get("system", ""))
    if kind == "none":
        return Reply(200, anthropic_message("Oslo is mild in spring; expect rain.", model=body["model"]))
    name, value = _arguments(kind, _city(question))
    return Reply(200, anthropic_tool_use_message([(name, value)], model=body["model"], text="Let me check."))


def _rates(report: dict) -> dict[str, tuple[float, float]]:
    (p,) = report["prompts"]
    return {k: (v["base"], v["head"]) for k, v in p["rates"].items() if k.startswith("tool_")}


def test_a_head_that_stops_calling_the_tool_fails_its_gate(git_repo, run_cli):
    repo = make_repo(git_repo, f"openai:{OPENAI_MODEL}", DIRECT)
    with ScriptedServer(openai_compatible_handler(openai_answer)) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test-e2e"}
        result, report = check(run_cli, repo, env)
    assert result.code == 1, result.err
    assert_valid_report(report)
    assert len(server.requests) == 2 * 12 * 2
    (p,) = report["prompts"]
    missing = p["rates"]["tool_missing"]
    assert (missing["base"], missing["head"]) == (0.0, 1.0)
    assert (missing["base_count"], missing["head_count"], missing["head_n"]) == (0, 24, 24)
    assert missing["gate"] == "fail"
    assert p["verdict"] == "fail"
    assert _rates(report) == {
        "tool_missing": (0.0, 1.0),
        "tool_unknown": (0.0, 0.0),
        "tool_invalid_json": (0.0, 0.0),
        "tool_invalid_arguments": (0.0, 0.0),
    }
    # the choice of tool is a field whose distribution is compared: the head has none any more
    (tool,) = [s for s in p["distribution_shift"] if s["field"] == "(tool)"]
    assert tool["kind"] == "presence" and tool["base"] == {"present": 24} and tool["head"] == {"present": 0}


KINDS = ["valid", "unknown", "badjson", "schema"] * 3


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_each_fault_of_a_tool_call_is_its_own_rate(git_repo, run_cli, wire):
    model = f"openai:{OPENAI_MODEL}" if wire == "openai" else f"anthropic:{ANTHROPIC_MODEL}"
    repo = make_repo(git_repo, model, CALLS + " v2", KINDS)
    if wire == "openai":
        handler = openai_compatible_handler(openai_answer)
    else:
        handler = anthropic_compatible_handler(anthropic_answer)
    with ScriptedServer(handler) as server:
        if wire == "openai":
            env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test-e2e"}
        else:
            env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test-e2e"}
        result, report = check(run_cli, repo, env)
    assert report is not None, result.err
    assert_valid_report(report)
    assert len(server.requests) == 2 * 12 * 2
    # 3 rows of 12 each, 2 samples: 6 of 24 head answers per fault, none at the base
    assert _rates(report) == {
        "tool_missing": (0.0, 0.0),
        "tool_unknown": (0.0, 0.25),
        "tool_invalid_json": (0.0, 0.25),
        "tool_invalid_arguments": (0.0, 0.25),
    }
    (p,) = report["prompts"]
    assert p["rates"]["refusal"]["head"] == 0.0  # a tool call is an answer: no outcome of the five changed
    assert p["calls"]["failed"] == 0
    (tool,) = [s for s in p["distribution_shift"] if s["field"] == "(tool)"]
    assert tool["kind"] == "categorical"
    # each fault has its pass-to-fail examples, the call shown as the model sent it
    shown = {e["head_outcome"]: e for e in p["examples"]}
    assert {"tool_unknown", "tool_invalid_json", "tool_invalid_arguments"} <= set(shown)
    assert all(shown[f]["base_outcome"] == "ok" for f in ("tool_unknown", "tool_invalid_json"))
    assert (
        "(tool calls)" in shown["tool_unknown"]["head_text"]
        and "get_forecast" in shown["tool_unknown"]["head_text"]
    )
    assert "kelvin" in shown["tool_invalid_arguments"]["head_text"]


def test_a_tool_fault_example_quotes_the_call_as_data_in_the_comment(git_repo, run_cli):
    """A call's arguments are model text: the Markdown report quotes them (no tag, no mention), the JSON
    report keeps them exactly."""
    repo = make_repo(git_repo, f"openai:{OPENAI_MODEL}", CALLS + " v2", ["unknown"] * len(CITIES))
    hostile = "<img src=x onerror=alert(1)> @octocat"

    def answer(body: dict) -> Reply | str:
        if "v2" not in body["messages"][0]["content"]:
            return openai_answer(body)
        return Reply(200, openai_tool_call_completion([("get_forecast", json.dumps({"city": hostile}))]))

    with ScriptedServer(openai_compatible_handler(answer)) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test-e2e"}
        result, report = check(run_cli, repo, env)
        markdown = run_cli(
            ["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "markdown"], repo.root, env
        )
    assert report is not None, result.err
    (example, *_) = [e for e in report["prompts"][0]["examples"] if e["head_outcome"] == "tool_unknown"]
    assert hostile in json.loads(example["head_text"].split("(tool calls) ", 1)[1])[0][1]["city"]
    assert "(tool calls)" in markdown.out and "get_forecast" in markdown.out
    assert "<img" not in markdown.out and "@octocat" not in markdown.out


def test_tools_with_tool_choice_reach_the_openai_wire(git_repo, run_cli):
    repo = make_repo(git_repo, f"openai:{OPENAI_MODEL}", CALLS + " v2")
    doc = json.loads((repo.root / "prompts/weather.prompt.yml").read_text())
    doc["tool_choice"] = "required"
    repo.write("prompts/weather.prompt.yml", json.dumps(doc))
    repo.commit("require a call")
    seen: list[dict] = []

    def answer(body: dict) -> Reply | str:
        seen.append(body)
        return openai_answer(body)

    with ScriptedServer(openai_compatible_handler(answer)) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test-e2e"}
        result, report = check(run_cli, repo, env)
    assert report is not None, result.err
    assert result.code == 0, result.err  # the same answers on both sides
    choices = sorted(str(b.get("tool_choice")) for b in seen)
    assert choices == ["None"] * 24 + ["required"] * 24  # the base declares none, the head `required`


def test_offline_on_sim_a_prompt_that_stops_calling_its_tool_fails(git_repo, tmp_path):
    """The installed console script, on `sim`: its calls follow the prompt's instructions (docs/sim.md)."""
    repo = make_repo(git_repo, "sim:tools-v1", DIRECT)
    out = tmp_path / "report.json"
    result = run_installed(
        ["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "--output", str(out)], repo.root
    )
    assert result.code == 1, result.err
    report = json.loads(out.read_text())
    assert_valid_report(report)
    assert _rates(report)["tool_missing"] == (0.0, 1.0)
    (p,) = report["prompts"]
    assert p["verdict"] == "fail" and p["rates"]["tool_missing"]["gate"] == "fail"
    assert p["rates"]["empty"]["base"] == 0.0  # a call is no empty prose answer
