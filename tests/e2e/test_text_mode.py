"""Text mode through whole reviews: unused columns, `compare` outside a repository, a text-mode report, suites
from the prompt file, and multi-prompt files. The pieces have tests of their own: how a prose answer is scored
and its features (tests/engine/measurement/test_outcomes.py, test_text_features.py), which mode `auto` picks
(tests/engine/planning/test_output_mode.py), the id column and pooled strata (tests/sources/test_suites.py)."""

from __future__ import annotations

import json

import pytest

TICKETS = ["My card was charged twice", "The app crashes on start", "My parcel never arrived"]
CONFIG = """version: 1
model: sim:triage-v1
samples: 2
prompts:
  - files: "*.txt"
    suite: data/s.jsonl
"""


def test_unused_columns_warn_and_examples_carry_only_used_columns(tmp_path, run_cli):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "s.jsonl").write_text(
        "".join(
            json.dumps({"id": f"r{i}", "ticket": TICKETS[i % 3], "email": f"p{i}@example.com"}) + "\n"
            for i in range(6)
        )  # fmt: skip
    )
    (tmp_path / "promptreview.yml").write_text(CONFIG)
    (tmp_path / "a.txt").write_text("Write a reply to the customer.\n")
    (tmp_path / "b.txt").write_text("Write a reply to the customer. Only answer questions about billing.\n")
    result = run_cli(["compare", "a.txt", "b.txt", "--format", "json"], tmp_path)
    report = result.json()
    prompt = report["prompts"][0]
    assert prompt["output_mode"] == "text"
    assert any("uses none of the columns" in w for w in prompt["warnings"])

    def chat(system: str) -> str:
        return json.dumps([{"role": "system", "content": system}, {"role": "user", "content": "{{ticket}}"}])

    (tmp_path / "a.json").write_text(chat("Write a reply to the customer."))
    (tmp_path / "b.json").write_text(
        chat("Write a reply to the customer. Only answer questions about billing.")
    )
    (tmp_path / "promptreview.yml").write_text(CONFIG.replace('"*.txt"', '"*.json"'))
    result = run_cli(["compare", "a.json", "b.json", "--format", "json"], tmp_path)
    text = json.dumps(result.json())
    assert "example.com" not in text
    prompt = result.json()["prompts"][0]
    assert prompt["rates"]["refusal"]["head"] > prompt["rates"]["refusal"]["base"]
    assert prompt["examples"] and all(
        set(json.loads(e["input_text"])) == {"ticket"} for e in prompt["examples"]
    )


def test_compare_outside_a_repository_reads_any_local_suite(tmp_path, run_cli):
    work, data = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    data.mkdir()
    (data / "s.jsonl").write_text("".join(json.dumps({"q": f"question {i}"}) + "\n" for i in range(4)))
    (work / "a.txt").write_text("Answer: {{q}}\n")
    (work / "b.txt").write_text("Answer briefly: {{q}}\n")
    result = run_cli(
        ["compare", "a.txt", "b.txt", "--suite", str(data / "s.jsonl"), "--format", "json"], work
    )
    assert result.code == 0, result.err
    assert result.json()["prompts"][0]["n_inputs"] == 4
    relative = run_cli(
        ["compare", "a.txt", "b.txt", "--suite", "../elsewhere/s.jsonl", "--format", "json"], work
    )
    assert relative.code == 0, relative.err


def test_text_mode_report_shows_not_applicable_never_a_rate(tmp_path, run_cli):
    (tmp_path / "s.jsonl").write_text("".join(json.dumps({"ticket": t}) + "\n" for t in TICKETS * 2))
    (tmp_path / "a.txt").write_text("Reply to: {{ticket}}\n")
    (tmp_path / "b.txt").write_text("Reply briefly to: {{ticket}}\n")
    for fmt, line in (("markdown", "| parse failure | n/a | n/a |"), ("text", "schema violation     ")):
        result = run_cli(["compare", "a.txt", "b.txt", "--suite", "s.jsonl", "--format", fmt], tmp_path)
        assert result.code == 0, result.err
        rows = [r for r in result.out.splitlines() if line in r]
        assert rows and all("n/a" in r and "%" not in r for r in rows)


def test_compare_uses_the_files_own_inputs_without_a_config(tmp_path, run_cli):
    prompty = "---\nname: x\nsample:\n  - {q: first}\n  - {q: second}\n  - {q: third}\n---\nsystem:\nBe {{tone}}.\nuser:\n{{q}}\n"
    (tmp_path / "a.prompty").write_text(
        prompty.replace("name: x", "name: x\ninputs: {tone: {default: kind}}")
    )
    (tmp_path / "b.prompty").write_text(
        prompty.replace("name: x", "name: x\ninputs: {tone: {default: terse}}")
    )
    result = run_cli(["compare", "a.prompty", "b.prompty", "--format", "json"], tmp_path)
    assert result.code == 0, result.err
    prompt = result.json()["prompts"][0]
    assert prompt["n_inputs"] == 3 and any("sample" in n and "small" in n for n in prompt["notes"])


def test_promptfoo_multi_prompt_file_is_reviewed_as_named_prompts(git_repo, run_cli):
    repo = git_repo
    repo.write("promptreview.yml", CONFIG.replace('"*.txt"', '"prompts/*.txt"'))
    repo.write(
        "data/s.jsonl",
        "".join(json.dumps({"id": f"r{i}", "ticket": t}) + "\n" for i, t in enumerate(TICKETS * 2)),
    )
    repo.write("prompts/p.txt", "Reply to: {{ticket}}\n---\nSummarise: {{ticket}}\n")
    repo.commit("base")
    repo.write(
        "prompts/p.txt",
        "Reply to: {{ticket}}\n---\nSummarise briefly: {{ticket}}\n---\nTranslate: {{ticket}}\n",
    )
    repo.commit("edit")
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"], repo.root)
    assert result.code == 0, result.err
    changes = {p["path"]: p["change"] for p in result.json()["prompts"]}
    assert changes == {  # #1 did not change: not reviewed
        "prompts/p.txt#2": "modified",
        "prompts/p.txt#3": "added",
    }


@pytest.mark.parametrize("removal", ["review", "allow"])
def test_a_part_removed_from_a_multi_prompt_file_needs_the_accept_label(git_repo, run_cli, removal):
    repo = git_repo
    repo.write("promptreview.yml", CONFIG.replace('"*.txt"', '"prompts/*.txt"') + f"removal: {removal}\n")
    repo.write(
        "data/s.jsonl",
        "".join(json.dumps({"id": f"r{i}", "ticket": t}) + "\n" for i, t in enumerate(TICKETS * 2)),
    )
    repo.write("prompts/p.txt", "Reply to: {{ticket}}\n---\nSummarise: {{ticket}}\n")
    repo.commit("base")
    repo.write("prompts/p.txt", "Reply to: {{ticket}}\n")
    repo.commit("drop the summary prompt")
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"], repo.root)
    removed = next(p for p in result.json()["prompts"] if p["path"] == "prompts/p.txt#2")
    assert removed["change"] == "removed"
    if removal == "review":
        assert result.code == 1 and removed["verdict"] == "fail"
        assert any("accept label" in w for w in removed["warnings"])
    else:
        assert result.code == 0 and removed["verdict"] == "pass"
