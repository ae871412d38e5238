"""Provider-side prompt caching: the fixed prefix goes first and is identical across inputs, and the report counts
the input tokens the provider served from its cache, per side, with what they saved (local OpenAI-compatible
server, real HTTP)."""

from __future__ import annotations

import json

import pytest

from promptreview.providers.pricing import lookup_price
from tests.servers import Reply, ScriptedServer, openai_chat_completion, openai_compatible_handler

pytestmark = pytest.mark.e2e

ANSWER = json.dumps({"label": "billing"})
MODEL = "openai:gpt-4o-mini-2024-07-18"


def _prompt(word: str) -> str:
    return (
        "messages:\n"
        f"  - role: system\n    content: You triage tickets. Answer {word} in JSON with a label.\n"
        "  - role: user\n    content: 'Ticket: {{ticket}}'\n"
    )


def test_cached_input_tokens_and_savings_per_side(git_repo, run_cli):
    rows = [{"id": f"t{i}", "ticket": f"ticket {i}"} for i in range(6)]
    git_repo.write("inputs.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    git_repo.write("old.prompt.yml", _prompt("strictly"))
    git_repo.write("new.prompt.yml", _prompt("cleanly"))
    git_repo.write(
        "promptreview.yml",
        f"version: 1\nmodel: {MODEL}\nsamples: 2\nprompts:\n  - files: '*.prompt.yml'\n    suite: inputs.jsonl\n",
    )

    def answer(body: dict) -> Reply:
        return Reply(
            200, openai_chat_completion(ANSWER, model=body["model"], prompt_tokens=50, cached_tokens=32)
        )

    with ScriptedServer(openai_compatible_handler(answer)) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test"}
        result = run_cli(
            ["compare", "old.prompt.yml", "new.prompt.yml", "--format", "json"], git_repo.root, env
        )
        bodies = [r.json for r in server.requests]
    assert result.code == 0, result.err
    calls = result.json()["prompts"][0]["calls"]
    assert calls["cached_input_tokens"] == {"base": 12 * 32, "head": 12 * 32}
    price = lookup_price(MODEL)
    assert price is not None and price.cached_input is not None
    saved = 12 * 32 * (price.input - price.cached_input) / 1_000_000
    assert calls["cache_savings_usd"]["base"] == pytest.approx(saved)
    assert calls["cache_savings_usd"]["head"] == pytest.approx(saved)
    # the cost charges cached input at the cached rate
    full = (12 * 50 * price.input + 12 * 10 * price.output) / 1_000_000
    assert calls["cost_usd"]["base"] == pytest.approx(full - saved)
    # the fixed prefix (the system message) comes first and is the same text for every input of a side
    for word in ("strictly", "cleanly"):
        firsts = {json.dumps(b["messages"][0]) for b in bodies if word in b["messages"][0]["content"]}
        assert len(firsts) == 1 and json.loads(firsts.pop())["role"] == "system"


def test_no_cached_tokens_reported_means_null(git_repo, run_cli):
    rows = [{"id": "t0", "ticket": "hello"}]
    git_repo.write("inputs.jsonl", json.dumps(rows[0]) + "\n")
    git_repo.write("old.prompt.yml", _prompt("strictly"))
    git_repo.write("new.prompt.yml", _prompt("cleanly"))
    git_repo.write(
        "promptreview.yml",
        "version: 1\nmodel: sim:triage-v1\nsamples: 2\nprompts:\n  - files: '*.prompt.yml'\n    suite: inputs.jsonl\n",
    )
    result = run_cli(["compare", "old.prompt.yml", "new.prompt.yml", "--format", "json"], git_repo.root)
    calls = result.json()["prompts"][0]["calls"]
    assert calls["cached_input_tokens"] is None and calls["cache_savings_usd"] is None
