"""`promptreview init`: a valid starter config and a workflow with minimal, explained permissions."""

from __future__ import annotations

import re
import sys

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
    # edited: a pull request opened against any branch and then retargeted to main is reviewed again
    assert {"opened", "synchronize", "reopened", "labeled", "unlabeled", "edited"} <= set(
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
    # the page shows where `init` puts the commit and the version this promptreview was built from
    written_text = workflow_text("openai", "promptreview/promptreview@COMMIT_SHA # vVERSION")
    assert documented == written_text[written_text.index("name: promptreview") :]


def test_the_workflow_is_written_down_once():
    """One copy to keep in step (docs/github.md, checked above), not one per page that shows it."""
    head = workflow_text("openai")
    head = head[head.index("name: promptreview") :].split("permissions:", 1)[0]
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    assert [p.name for p in pages if head in p.read_text("utf-8")] == ["github.md"]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "github", "ollama", "sim"])
def test_next_steps_are_numbered_1_2_3_for_every_provider(git_repo, run_cli, provider):
    result = run_cli(["init", "--provider", provider], git_repo.root)
    steps = result.out.split("next:\n", 1)[1].splitlines()
    assert [line.split(".", 1)[0].strip() for line in steps] == [str(i) for i in range(1, len(steps) + 1)]


def test_the_action_is_pinned_to_the_commit_this_promptreview_was_built_from(git_repo, run_cli):
    import promptreview

    assert promptreview.__commit__ is not None  # an editable install of a clone: built by setuptools-scm
    run_cli(["init"], git_repo.root)
    workflow = yaml.safe_load(written(git_repo)[1])
    uses = workflow["jobs"]["review"]["steps"][1]["uses"]
    assert uses == f"promptreview/promptreview@{promptreview.__commit__}"
    assert f"{uses} # v{promptreview.__version__}\n" in written(git_repo)[1]


def test_without_a_known_commit_init_writes_the_release_tag_and_says_how_to_pin_it(
    git_repo, run_cli, monkeypatch
):
    init_module = sys.modules["promptreview.cli.init"]  # (promptreview.cli.init is also the command's name)
    monkeypatch.setattr(init_module, "__commit__", None)
    monkeypatch.setattr(init_module, "__version__", "1.4.0")
    result = run_cli(["init"], git_repo.root)
    assert result.code == 0, result.err
    assert "uses: promptreview/promptreview@v1.4.0 # pin it" in written(git_repo)[1]
    assert "git ls-remote https://github.com/promptreview/promptreview refs/tags/v1.4.0" in result.out
    assert (
        init_module.pinned_action_ref("a" * 40, "1.4.0") == f"promptreview/promptreview@{'a' * 40} # v1.4.0"
    )
    assert init_module.release_tag("1.4.1.dev3+gabc") == "v1.4.1.dev3"


def test_the_starter_config_sets_no_parameters_that_would_override_the_files(git_repo, run_cli):
    run_cli(["init"], git_repo.root)
    config = parse_config(written(git_repo)[0])
    assert config.params == {}


GITHUB_MODELS_FILE = """\
name: summarise
model: openai/gpt-4o
modelParameters: {temperature: 0.2}
messages:
  - role: user
    content: "Summarise: {{text}}"
testData:
  - text: the first document
  - text: the second document
"""


def test_prompt_files_with_their_own_model_and_inputs_get_no_model_or_suite(git_repo, run_cli):
    git_repo.write("prompts/summarise.prompt.yml", GITHUB_MODELS_FILE)
    result = run_cli(["init"], git_repo.root)
    assert result.code == 0, result.err
    config_text, workflow_text = written(git_repo)
    config = parse_config(config_text)
    assert not config.model_given  # the file's openai/gpt-4o is what it runs on
    assert config.prompts[0].suite is None  # its testData are the inputs
    # the files' models are GitHub Models ids: the workflow may call them (no secret)
    assert yaml.safe_load(workflow_text)["permissions"]["models"] == "read"
    assert config.allow_unpinned
    assert "testData" in result.out and "suite" not in result.out.split("next:", 1)[1]


def test_a_file_without_a_model_keeps_the_default_and_a_file_without_inputs_the_suite(git_repo, run_cli):
    git_repo.write("prompts/summarise.prompt.yml", GITHUB_MODELS_FILE)
    git_repo.write("prompts/other.prompt.yml", "messages:\n  - role: user\n    content: 'Hi {{x}}'\n")
    run_cli(["init"], git_repo.root)
    config = parse_config(written(git_repo)[0])
    assert config.model_given and config.prompts[0].suite == "evals/inputs.jsonl"


def test_at_a_terminal_init_asks_for_the_provider(git_repo, run_cli, monkeypatch):
    import io

    init_module = sys.modules["promptreview.cli.init"]
    monkeypatch.setattr(init_module, "_interactive", lambda: True)
    monkeypatch.setattr("sys.stdin", io.StringIO("github\n"))
    result = run_cli(["init"], git_repo.root)
    assert result.code == 0, result.err
    assert "github" in result.out and "no secret" in result.out.split("provider", 1)[1]
    config_text, workflow_text = written(git_repo)
    assert parse_config(config_text).model.startswith("github:")
    assert yaml.safe_load(workflow_text)["permissions"]["models"] == "read"


def test_the_starter_sample_is_sized_for_twice_its_margins_and_says_what_it_detects(git_repo, run_cli):
    from promptreview import stats
    from promptreview.engine.planning.forecast import ASSUMED_BASE_RATE

    run_cli(["init"], git_repo.root)
    config_text = written(git_repo)[0]
    config = parse_config(config_text)
    n = config.prompts[0].sample.size
    margin = config.gates["parse_failure"].max_increase
    detectable = stats.min_detectable_increase(
        n, config.samples, ASSUMED_BASE_RATE, config.alpha, max_increase=margin, n_tests=3
    )
    # the review's own "sample too small" warning (stats.underpowered) does not fire on the starter design
    assert not stats.underpowered(n, config.samples, ASSUMED_BASE_RATE, margin, config.alpha, n_tests=3)
    assert f"# Smallest detectable change: with {n} inputs x 3 samples" in config_text
    assert f"increase of {detectable * 100:.1f} pp with 80 % power" in config_text


def test_the_start_with_no_secret_is_documented_once():
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    assert [p.name for p in pages if "promptreview init --provider github" in p.read_text("utf-8")] == [
        "providers.md"
    ]


@pytest.mark.parametrize("provider", ["openai", "github", "sim"])
def test_init_schedule_writes_a_weekly_migration_and_drift_workflow(git_repo, run_cli, provider):
    result = run_cli(["init", "--schedule", "--provider", provider], git_repo.root)
    assert result.code == 0, result.err
    assert not (git_repo.root / "promptreview.yml").exists()  # only the scheduled workflow
    text = (git_repo.root / ".github" / "workflows" / "promptreview-schedule.yml").read_text("utf-8")
    workflow = yaml.safe_load(text)
    triggers = workflow[True] if True in workflow else workflow["on"]
    assert triggers["schedule"] == [{"cron": "17 6 * * 1"}]
    assert set(triggers["workflow_dispatch"]["inputs"]) == {"candidate"}
    assert workflow["permissions"] == {}
    expected = {"contents": "read", "issues": "write", **({"models": "read"} if provider == "github" else {})}
    assert set(workflow["jobs"]) == {"migration", "drift"}
    for job in workflow["jobs"].values():
        assert job["permissions"] == expected
        for step in job["steps"]:
            # untrusted input (a dispatch input, a variable, a report) reaches a script only through env:
            assert "${{" not in step.get("run", ""), step
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
    steps = workflow["jobs"]["migration"]["steps"]
    (review,) = [s for s in steps if s.get("id") == "migrate"]
    assert review["env"]["CANDIDATE"] == "${{ inputs.candidate || vars.PROMPTREVIEW_CANDIDATE }}"
    assert 'promptreview migrate --to "$CANDIDATE" --safety --format markdown' in review["run"]
    (issue,) = [s for s in steps if s.get("name", "").startswith("Open or update")]
    assert issue["env"]["LABEL"] == "promptreview/migration" and "--body-file" in issue["run"]
    (watch,) = [s for s in workflow["jobs"]["drift"]["steps"] if s.get("id") == "drift"]
    assert "promptreview drift --format markdown" in watch["run"]
    # the tool is installed as the action installs it: the lock's hashes, then promptreview built offline
    install = next(s for s in steps if s.get("name", "").startswith("Install promptreview"))
    assert "--require-hashes" in install["run"] and "--no-index" in install["run"]
    assert "next:" in result.out and "PROMPTREVIEW_CANDIDATE" in result.out


def test_attest_adds_a_job_of_its_own_that_alone_may_sign(git_repo, run_cli):
    """`init --attest`: a second job attests report.json from the action's record artifact; only it holds
    `id-token: write` and `attestations: write`, the review job keeps its own three permissions, the workflow
    grants none, and both actions are pinned to full commit SHAs."""
    result = run_cli(["init", "--provider", "openai", "--attest"], git_repo.root)
    assert result.code == 0, result.err
    _, text = written(git_repo)
    workflow = yaml.safe_load(text)
    assert workflow["permissions"] == {}
    review, attest = workflow["jobs"]["review"], workflow["jobs"]["attest"]
    assert review["permissions"] == {"contents": "read", "pull-requests": "write", "checks": "write"}
    assert attest["permissions"] == {"id-token": "write", "attestations": "write", "contents": "read"}
    assert attest["needs"] == "review"
    assert (
        "always()" in attest["if"] and "fork" in attest["if"]
    )  # a regression is attested too; forks cannot sign
    download, sign = attest["steps"]
    assert download["uses"] == "actions/download-artifact@37930b1c2abaa49bbe596cd826c3c89aef350131"
    assert download["with"]["name"] == "promptreview-record"
    assert sign["uses"] == "actions/attest-build-provenance@a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32"
    assert sign["with"]["subject-path"] == "record/**/report.json"
    assert review["outputs"]["report-path"] == "${{ steps.promptreview.outputs.report-path }}"
    assert "# v4.1.0" in text and "# v7.0.0" in text


def test_init_schedule_without_a_config_says_to_write_one_first(git_repo, run_cli):
    """The next steps tell the user to list the candidate under `models:` in promptreview.yml: where there is
    none yet, writing it (`promptreview init`) is the first step; where there is one, no such step."""
    result = run_cli(["init", "--schedule", "--provider", "sim"], git_repo.root)
    assert result.code == 0, result.err
    steps = result.out.split("next:", 1)[1].strip().splitlines()
    assert steps[0].startswith("1. run `promptreview init`: it writes promptreview.yml"), steps
    assert run_cli(["init", "--provider", "sim"], git_repo.root).code == 0
    again = run_cli(["init", "--schedule", "--provider", "sim", "--force"], git_repo.root)
    assert "promptreview init" not in again.out.split("next:", 1)[1]


def test_attest_on_a_set_up_repository_adds_the_job_and_keeps_the_config(git_repo, run_cli):
    """`init --attest` after `init`: the workflow init wrote gets the attest job (its provider and pinned action
    kept); the user's promptreview.yml is never written again, with or without --force."""
    ref = "promptreview/promptreview@" + "a" * 40 + " # v9.9.9"
    assert run_cli(["init", "--provider", "anthropic", "--action-ref", ref], git_repo.root).code == 0
    config = git_repo.root / "promptreview.yml"
    workflow = git_repo.root / ".github" / "workflows" / "promptreview.yml"
    config.write_text(config.read_text("utf-8") + "# the user's own edit\n", encoding="utf-8")
    mine = config.read_text("utf-8")
    result = run_cli(["init", "--attest"], git_repo.root)  # on main: exit 2, both files exist
    assert result.code == 0, result.err
    assert workflow.read_text("utf-8") == workflow_text("anthropic", ref, attest=True)  # zizmor-clean as is
    assert config.read_text("utf-8") == mine and "wrote promptreview.yml" not in result.out
    assert "commit .github/workflows/promptreview.yml" in result.out
    again = run_cli(["init", "--attest"], git_repo.root)
    assert again.code == 0 and "already attests" in again.out
    # a workflow edited since init wrote it: one line, nothing written; --force rewrites the workflow only
    workflow.write_text(
        workflow_text("anthropic", ref).replace("regression  ", "warning     "), encoding="utf-8"
    )
    edited = workflow.read_text("utf-8")
    refused = run_cli(["init", "--attest"], git_repo.root)
    assert refused.code == 2 and "changed since init wrote it" in refused.err
    assert len(refused.err.strip().splitlines()) == 1 and workflow.read_text("utf-8") == edited
    forced = run_cli(["init", "--attest", "--force", "--provider", "anthropic"], git_repo.root)
    assert forced.code == 0, forced.err
    assert "attest" in yaml.safe_load(workflow.read_text("utf-8"))["jobs"]
    assert config.read_text("utf-8") == mine


def test_without_attest_the_workflow_is_unchanged(git_repo, run_cli):
    assert "attest" not in workflow_text("openai") and "id-token" not in workflow_text("openai")
    assert workflow_text("openai", attest=False) == workflow_text("openai")


def test_the_record_artifact_init_attests_is_the_one_the_action_uploads():
    from promptreview.cli.init import RECORD_ARTIFACT

    action = yaml.safe_load((REPO / "action.yml").read_text("utf-8"))
    assert action["inputs"]["record-artifact"]["default"] == RECORD_ARTIFACT
    upload = next(s for s in action["runs"]["steps"] if s.get("name") == "Upload the review record")
    assert upload["with"]["name"] == "${{ inputs.record-artifact }}"
    assert "steps.run.outputs.report-path" in upload["with"]["path"]
    assert "steps.install.outputs.cache-dir" in upload["with"]["path"]
