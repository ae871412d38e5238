"""A suite of conversations reviewed end to end on a loopback OpenAI server: the history goes between the
prompt's system message and its own turn, the report has a stratum per depth, and the replay's blind spot is
said in a note and in the JSON report."""

from __future__ import annotations

import json

import pytest

from tests.e2e_helpers import check
from tests.reports import assert_valid_report
from tests.servers import ScriptedServer, assert_openai_valid, openai_compatible_handler

pytestmark = pytest.mark.e2e

MODEL = "gpt-4o-mini-2024-07-18"


def conversation(i: int, users: int, writer: dict) -> list[dict]:
    turns: list[dict] = [{"role": "system", "content": "the old system prompt"}]
    for k in range(users):
        turns.append({"role": "user", "content": f"conversation {i}, question {k + 1}"})
        if k < users - 1:
            turns.append({"role": "assistant", "content": f"answer {k + 1}", **writer})
    turns.append({"role": "assistant", "content": "what production answered last"})  # re-generated
    return turns


def rows() -> list[dict]:
    out = []
    writers = [{}, {"model": "gpt-3.5-turbo"}, {"model": MODEL}, {"prompt_version": "v3"}]
    for i in range(16):
        users = (1, 2, 3, 5)[i % 4]
        out.append({"id": f"c{i}", "messages": conversation(i, users, writers[i // 4])})
    return out


def test_conversations_of_several_depths_are_replayed_with_per_depth_strata(git_repo, run_cli):
    system = "You are the support assistant. Answer in one sentence."
    git_repo.write(
        "promptreview.yml",
        f"version: 1\nmodel: openai:{MODEL}\nsamples: 1\nprompts:\n  - files: 'prompts/*.prompt.yml'\n"
        "    suite: data/conversations.jsonl\n    output: text\n    strata: [depth]\n",
    )
    git_repo.write("data/conversations.jsonl", "\n".join(json.dumps(r) for r in rows()) + "\n")
    doc = {"messages": [{"role": "system", "content": system}]}
    git_repo.write("prompts/support.prompt.yml", json.dumps(doc))
    git_repo.commit("base")
    doc["messages"][0]["content"] = system + " Be warm."
    git_repo.write("prompts/support.prompt.yml", json.dumps(doc))
    git_repo.commit("head")
    seen: list[dict] = []

    def answer(body: dict) -> str:
        assert_openai_valid("CreateChatCompletionRequest", body)
        seen.append(body)
        return "Happy to help."

    with ScriptedServer(openai_compatible_handler(answer)) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test-e2e"}
        result, report = check(run_cli, git_repo, env)
    assert result.code == 0, result.err
    assert_valid_report(report)
    assert len(seen) == 2 * 16
    # the prompt's system message, then the history without its system message and its last answer
    deepest = next(b for b in seen if "conversation 3, question 1" in json.dumps(b))
    roles = [m["role"] for m in deepest["messages"]]
    assert roles == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert deepest["messages"][0]["content"].startswith(system)
    assert deepest["messages"][-1]["content"] == "conversation 3, question 5"
    assert "what production answered last" not in json.dumps(seen)
    assert "the old system prompt" not in json.dumps(seen)
    (p,) = report["prompts"]
    assert sorted(s["label"] for s in p["strata"]) == ["depth=1", "depth=2", "depth=3-4", "depth=5-8"]
    assert all(s["n_inputs"] == 4 for s in p["strata"])
    # rows with replayed assistant turns (depth > 1: 12): 6 of unknown origin (3 without metadata, 3 by the
    # head's own model without a version), 6 by another model (3) or a recorded prompt version (3)
    assert p["conversations"] == {
        "rows": 16,
        "with_history": 16,
        "depths": {"1": 4, "2": 4, "3-4": 4, "5-8": 4},
        "other": 6,
        "unknown": 6,
        "share_other": 0.375,
        "share_unknown": 0.375,
    }
    said = [n for n in p["notes"] if "conversations replayed" in n]
    assert said and "6 of 16 rows (38%) replay assistant turns by another model" in said[0]
