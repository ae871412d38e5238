"""Prompt formats through whole reviews (real git repositories, the simulated provider): a multi-prompt file's
parts paired by identity, `compare` on one, and prompts that read other files (Dotprompt partials, a Semantic
Kernel config.json) reviewed when only those files change, each side reading its own commit. How each format
is read, against its own framework, is in tests/sources/formats/test_reference.py."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e

TICKETS = ["My card was charged twice", "The app crashes on start", "My parcel never arrived"]
CONFIG = """version: 1
model: sim:triage-v1
samples: 2
prompts:
  - files: "{files}"
    suite: data/s.jsonl
"""


def _suite(repo, column: str = "ticket") -> None:
    rows = "".join(json.dumps({"id": f"r{i}", column: t}) + "\n" for i, t in enumerate(TICKETS * 2))
    repo.write("data/s.jsonl", rows)


def _reviewed(result) -> dict[str, str]:
    assert result.code in (0, 1), result.err
    return {p["path"]: p["change"] for p in result.json()["prompts"]}


def test_inserting_a_part_in_a_multi_prompt_file_is_one_added_part(git_repo, run_cli):
    repo = git_repo
    repo.write("promptreview.yml", CONFIG.format(files="prompts/*.txt"))
    _suite(repo)
    repo.write("prompts/p.txt", "Reply to: {{ticket}}\n---\nSummarise: {{ticket}}\n")
    repo.commit("base")
    repo.write(
        "prompts/p.txt",
        "Classify the urgency of: {{ticket}}\n---\nReply to: {{ticket}}\n---\nSummarise: {{ticket}}\n",
    )
    repo.commit("a new first prompt")
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"], repo.root)
    # by position, every part would have been "modified" and the last one "added"
    assert _reviewed(result) == {"prompts/p.txt#1": "added"}


def test_a_promptfoo_chat_message_part_is_reviewed_as_one_part(git_repo, run_cli):
    repo = git_repo
    repo.write("promptreview.yml", CONFIG.format(files="prompts/*.txt"))
    _suite(repo)
    chat = [{"role": "system", "content": "You are a support agent.", "name": "desk"},
            {"role": "user", "content": "{{ticket}}"}]  # fmt: skip
    repo.write("prompts/p.txt", f"Reply to: {{{{ticket}}}}\n---\n{json.dumps(chat)}\n")
    repo.commit("base")
    chat[0]["content"] = "You are a terse support agent."
    repo.write("prompts/p.txt", f"Reply to: {{{{ticket}}}}\n---\n{json.dumps(chat)}\n")
    repo.commit("edit the chat part")
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"], repo.root)
    assert _reviewed(result) == {"prompts/p.txt#2": "modified"}


def test_compare_on_multi_prompt_files_reviews_every_part(tmp_path, run_cli):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "s.jsonl").write_text(
        "".join(json.dumps({"id": f"r{i}", "ticket": t}) + "\n" for i, t in enumerate(TICKETS * 2))
    )
    (tmp_path / "promptreview.yml").write_text(CONFIG.format(files="*.txt"))
    (tmp_path / "old.txt").write_text("Reply to: {{ticket}}\n---\nSummarise: {{ticket}}\n")
    (tmp_path / "new.txt").write_text(
        "Reply politely to: {{ticket}}\n---\nSummarise in one line: {{ticket}}\n"
    )
    result = run_cli(["compare", "old.txt", "new.txt", "--format", "json"], tmp_path)
    assert result.code in (0, 1), result.err
    assert [p["path"] for p in result.json()["prompts"]] == ["new.txt#1", "new.txt#2"]


def test_editing_a_dotprompt_partial_reviews_every_prompt_that_uses_it(git_repo, run_cli):
    repo = git_repo
    repo.write("promptreview.yml", CONFIG.format(files="prompts/**/*.prompt"))
    _suite(repo)
    repo.write("prompts/_tone.prompt", "Answer politely.")
    repo.write("prompts/reply.prompt", '{{role "system"}}{{> tone}}\n{{role "user"}}{{ticket}}\n')
    repo.write(
        "prompts/triage/urgent.prompt",
        '{{role "system"}}Flag urgency. {{> tone}}\n{{role "user"}}{{ticket}}\n',
    )
    repo.write("prompts/other.prompt", '{{role "user"}}Summarise: {{ticket}}\n')
    repo.commit("base")
    repo.write("prompts/_tone.prompt", "Answer politely, in one sentence.")
    repo.commit("edit the partial")
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"], repo.root)
    # the partial is not a prompt of its own; both prompts using it are reviewed, each side with its own partial
    assert _reviewed(result) == {
        "prompts/reply.prompt": "modified",
        "prompts/triage/urgent.prompt": "modified",
    }


def test_editing_a_semantic_kernel_config_reviews_its_prompt(git_repo, run_cli):
    repo = git_repo
    repo.write("promptreview.yml", CONFIG.format(files="plugins/**/skprompt.txt"))
    _suite(repo, column="input")
    repo.write("plugins/Support/Reply/skprompt.txt", "Reply to the customer: {{$input}} {{$style}}")
    config = {"schema": 1, "execution_settings": {"default": {"max_tokens": 200, "temperature": 0.2}},
              "input_variables": [{"name": "input"}, {"name": "style", "default": "Be kind."}]}  # fmt: skip
    repo.write("plugins/Support/Reply/config.json", json.dumps(config))
    repo.commit("base")
    config["execution_settings"]["default"]["temperature"] = 0.9
    repo.write("plugins/Support/Reply/config.json", json.dumps(config))
    repo.commit("warmer")
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"], repo.root)
    assert _reviewed(result) == {"plugins/Support/Reply/skprompt.txt": "modified"}
