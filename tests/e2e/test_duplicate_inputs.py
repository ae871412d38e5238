"""Duplicate suite rows (issue 20, item 10): a row that repeats an earlier one in every column but its id is
the same input again; it shares the first's request and answer, so counting it would only inflate n. A review
counts it once and says so. Real HTTP to a loopback OpenAI-shaped server."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_installed
from tests.servers import ScriptedServer, openai_compatible_handler

pytestmark = pytest.mark.e2e

TICKETS = ["My card was charged twice", "The app crashes on start", "Where is my parcel?", "Refund please"]


def test_repeated_rows_are_one_input_each_and_the_report_says_so(git_repo):
    repo = git_repo
    repo.write("promptreview.yml", "version: 1\nmodel: openai:gpt-4o-mini-2024-07-18\nsamples: 2\nprompts:\n"
                                   "  - files: prompts/*.txt\n    suite: data/tickets.jsonl\n")  # fmt: skip
    rows = [{"id": f"t{i}", "ticket": t} for i, t in enumerate(TICKETS)]
    rows += [
        {"id": "t9", "ticket": TICKETS[0]},
        {"id": "t10", "ticket": TICKETS[0]},
        {"id": "t11", "ticket": TICKETS[2]},
    ]
    repo.write("data/tickets.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    repo.write("prompts/reply.txt", "Reply to this ticket:\n\n{{ticket}}\n")
    repo.commit("base")
    repo.write("prompts/reply.txt", "Reply kindly to this ticket:\n\n{{ticket}}\n")
    repo.commit("edit")
    out = repo.root / "report.json"
    with ScriptedServer(openai_compatible_handler(lambda body: "We are on it.")) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test"}
        result = run_installed(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "--output",
                                str(out)], repo.root, env=env)  # fmt: skip
        asked = {r.json["messages"][0]["content"] for r in server.requests}
    assert result.code in (0, 1), result.err
    assert len(asked) == 2 * len(TICKETS)  # each distinct ticket, on each side
    (prompt,) = json.loads(out.read_text())["prompts"]
    assert prompt["n_inputs"] == len(TICKETS)  # not 7: the repeats add no evidence
    assert (
        "data/tickets.jsonl: 3 of 7 rows repeat an earlier row (every column but the id) and are counted once: the "
        "same input again adds no evidence (t9 = t0, t10 = t0, t11 = t2)"
    ) in prompt["notes"]
