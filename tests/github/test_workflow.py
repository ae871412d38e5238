"""The CI workflow's interface: everything it says goes to the sink the command line passes in (nothing
under `promptreview.github` prints), and the GitHub layer is not imported until `ci` runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from promptreview.exitcodes import ExitCode
from promptreview.github.workflow import Settings, run
from tests.conftest import REPO
from tests.github.test_summary import read_outputs


def settings(tmp_path: Path, event_name: str, payload: dict, **kw: object) -> Settings:
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(payload), encoding="utf-8")
    env = {
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": "octo-org/prompts",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "RUNNER_OS": "Linux",
        "GITHUB_RUN_ID": "9",
    }
    defaults: dict = dict(
        config_path="promptreview.yml",
        check_name="promptreview",
        fail_on="regression",
        accept_label="promptreview/accept",
        comment=True,
        env=env,
        workdir=tmp_path,
    )
    return Settings(**{**defaults, **kw})


def test_an_event_that_needs_no_review_says_so_through_the_sink(tmp_path, capsys):
    lines: list[str] = []
    code = run(settings(tmp_path, "push", {"ref": "refs/heads/main"}), lines.append)
    assert code == ExitCode.OK
    assert lines == [
        "::notice::promptreview: nothing to do (the 'push' event is not one promptreview reviews "
        "(supported: pull_request, pull_request_target, merge_group, workflow_dispatch))"
    ]
    assert read_outputs(tmp_path / "output") == {"verdict": "skipped", "report-path": "", "comment-url": ""}
    assert capsys.readouterr().out == ""


def test_a_job_named_like_the_check_run_is_warned_about(tmp_path):
    """The job's own status is a check of the job's name: sharing the name hides which one is required."""
    lines: list[str] = []
    base = settings(tmp_path, "push", {"ref": "refs/heads/main"})
    run(Settings(**{**base.__dict__, "env": {**base.env, "GITHUB_JOB": "promptreview"}}), lines.append)
    assert lines[0].startswith(
        "::warning::promptreview: the job and the check run are both named promptreview"
    )
    lines.clear()
    run(Settings(**{**base.__dict__, "env": {**base.env, "GITHUB_JOB": "review"}}), lines.append)
    assert not any("both named" in line for line in lines)


def test_the_cache_key_mode_says_only_the_key(tmp_path, capsys):
    lines: list[str] = []
    code = run(settings(tmp_path, "push", {}, cache_key_only=True), lines.append)
    assert code == ExitCode.OK
    assert lines == ["promptreview-v2-Linux-nobase-noconfig-9-1"]
    outputs = read_outputs(tmp_path / "output")
    assert outputs["cache-key"] == lines[0]
    # one restore prefix, naming the base and the config: no catch-all another entry could answer to
    assert outputs["cache-restore-keys"] == "promptreview-v2-Linux-nobase-noconfig-"
    assert capsys.readouterr().out == ""


def test_the_command_line_does_not_import_pygithub_until_ci_runs():
    probe = (
        "import sys, promptreview.cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'github'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
