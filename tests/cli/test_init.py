"""`promptreview init`: a valid starter config and a workflow with minimal, explained permissions."""

from __future__ import annotations

import re

import pytest
import yaml

from promptreview.cli.init import workflow_text
from promptreview.sources.config import parse_config
from tests.conftest import REPO


def written(repo):
    config = (repo.root / "promptreview.yml").read_text("utf-8")
    workflow = (repo.root / ".github" / "workflows" / "promptreview.yml").read_text("utf-8")
    return config, workflow


@pytest.mark.parametrize("provider", ["openai", "anthropic", "github", "ollama", "sim"])
def test_writes_a_config_that_validates_and_a_workflow(git_repo, run_cli, provider):
    result = run_cli(["init", "--provider", provider], git_repo.root)
    assert result.code == 0, result.err
    config_text, workflow_text = written(git_repo)
    config = parse_config(config_text)
    assert config.model.startswith(provider + ":")
    workflow = yaml.safe_load(workflow_text)
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert set(triggers) == {"pull_request", "merge_group", "workflow_dispatch"}
    assert {"opened", "synchronize", "reopened", "labeled", "unlabeled"} <= set(
        triggers["pull_request"]["types"]
    )
    assert "paths" not in triggers["pull_request"] and "paths-ignore" not in triggers["pull_request"]
    expected = {"contents": "read", "pull-requests": "write", "checks": "write"}
    if provider == "github":
        expected["models"] = "read"
    assert workflow["permissions"] == expected
    for name in expected:  # every permission says what it is for
        assert re.search(rf"^  {name}: \w+ +# \w", workflow_text, re.M)
    # the job's own status must not be mistaken for the check run (the action's check-name, `promptreview`)
    (job_id,) = workflow["jobs"]
    assert job_id != "promptreview" and workflow["jobs"][job_id].get("name", job_id) != "promptreview"
    steps = workflow["jobs"][job_id]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@") and steps[0]["with"]["fetch-depth"] == 0
    action = steps[1]
    assert re.fullmatch(r"promptreview/promptreview@[0-9a-f]{40}", action["uses"])  # pinned to a SHA
    secret = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}.get(provider)
    if secret:
        assert action["env"][secret] == "${{ secrets." + secret + " }}"
    else:
        assert "secrets." not in workflow_text


def test_prompt_glob_follows_the_prompts_already_there(git_repo, run_cli):
    git_repo.write("app/llm/prompts/triage.prompt.yml", "messages: []\n")
    git_repo.write("app/llm/prompts/sub/summarise.prompt.yml", "messages: []\n")
    run_cli(["init"], git_repo.root)
    config = parse_config(written(git_repo)[0])
    assert config.prompts[0].files == ("app/llm/prompts/**/*.prompt.yml",)


def test_refuses_to_overwrite_without_force(git_repo, run_cli):
    git_repo.write("promptreview.yml", "version: 1\n")
    result = run_cli(["init"], git_repo.root)
    assert result.code == 2 and "--force" in result.err
    assert (git_repo.root / "promptreview.yml").read_text() == "version: 1\n"
    assert run_cli(["init", "--force"], git_repo.root).code == 0
    assert "prompts:" in (git_repo.root / "promptreview.yml").read_text()


def test_custom_model_and_action_ref(git_repo, run_cli):
    run_cli(
        ["init", "--model", "openai:gpt-4.1-mini-2025-04-14", "--action-ref", "acme/promptreview@abc123"],
        git_repo.root,
    )
    config_text, workflow_text = written(git_repo)
    assert parse_config(config_text).model == "openai:gpt-4.1-mini-2025-04-14"
    assert "uses: acme/promptreview@abc123" in workflow_text


def test_the_documented_workflow_is_what_init_writes():
    doc = (REPO / "docs" / "github.md").read_text("utf-8")
    block = re.search(r"## The workflow to copy.*?```yaml\n(.*?)```", doc, re.S).group(1)
    documented = block[block.index("name: promptreview") :]
    written_text = workflow_text("openai")
    assert documented == written_text[written_text.index("name: promptreview") :]


def test_the_workflow_is_written_down_once():
    """One copy to keep in step (docs/github.md, checked above), not one per page that shows it."""
    head = workflow_text("openai")
    head = head[head.index("name: promptreview") :].split("permissions:", 1)[0]
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    assert [p.name for p in pages if head in p.read_text("utf-8")] == ["github.md"]
