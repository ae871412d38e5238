"""action.yml: the contract (inputs, outputs, branding), inputs only through `env:`, and its scripts run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from promptreview.cli.ci import ci as ci_command
from tests.conftest import REPO
from tests.e2e.test_ci import CI
from tests.e2e_helpers import STRICT, make_triage_repo, prompt_yml
from tests.fakegithub import fake_github  # noqa: F401

ACTION = yaml.safe_load((REPO / "action.yml").read_text("utf-8"))
STEPS = ACTION["runs"]["steps"]


def step(step_id: str) -> dict:
    return next(s for s in STEPS if s.get("id") == step_id)


def test_inputs_outputs_and_branding():
    inputs = ACTION["inputs"]
    assert {"config", "model", "github-token", "comment", "check-name", "fail-on", "python-version"} <= set(
        inputs
    )
    assert inputs["github-token"]["default"] == "${{ github.token }}"
    assert inputs["check-name"]["default"] == "promptreview"
    assert inputs["fail-on"]["default"] == "regression"
    assert inputs["comment"]["default"] == "true"
    assert set(ACTION["outputs"]) == {"verdict", "report-path", "comment-url", "html-path"}
    for name, output in ACTION["outputs"].items():
        assert output["value"] == "${{ steps.run.outputs." + name + " }}"
    assert ACTION["branding"]["icon"] and ACTION["branding"]["color"]
    assert ACTION["runs"]["using"] == "composite"


def test_no_expression_is_interpolated_into_a_script():
    for s in STEPS:
        if "run" in s:
            assert "${{" not in s["run"], s.get("name")
            assert s["shell"] == "bash"  # present on Linux, macOS and Windows runners


def test_setup_python_venv_under_runner_temp_and_install_from_the_action_path():
    uses = [s.get("uses", "") for s in STEPS]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    assert any(u.startswith("actions/cache/restore@") for u in uses)
    assert any(u.startswith("actions/cache/save@") for u in uses)
    install = step("install")["run"]
    assert '"$RUNNER_TEMP/promptreview-venv"' in install
    assert "--require-hashes" in install and "requirements.lock" in install
    assert "--no-build-isolation --no-index" in install
    assert "Scripts/python.exe" in install  # Windows venv layout
    save = next(s for s in STEPS if s.get("uses", "").startswith("actions/cache/save@"))
    assert save["if"].startswith("always()")  # a failing review still saves the answers for the next push


def test_every_promptreview_variable_the_action_sets_is_read_by_ci():
    envvars = {p.envvar for p in ci_command.params if getattr(p, "envvar", None)}
    run_env = step("run")["env"]
    for name in run_env:
        if name.startswith("PROMPTREVIEW_") and name != "PROMPTREVIEW_CACHE_DIR":
            assert name in envvars, name
    assert run_env["GITHUB_TOKEN"] == "${{ inputs.github-token }}"
    assert run_env["PROMPTREVIEW_CACHE_DIR"] == "${{ steps.install.outputs.cache-dir }}"


def _expand(value: str, inputs: dict[str, str], outputs: dict[str, str], token: str) -> str:
    def one(m: re.Match) -> str:
        expr = m.group(1).strip()
        if expr.startswith("inputs."):
            return inputs[expr[len("inputs.") :]]
        if expr.startswith("steps."):
            return outputs[expr]
        if expr == "github.token":
            return token
        raise AssertionError(f"unexpected expression {expr}")

    return re.sub(r"\$\{\{(.*?)\}\}", one, str(value))


def run_step(s: dict, env: dict[str, str], inputs, outputs, token, cwd: Path) -> subprocess.CompletedProcess:
    step_env = {k: _expand(v, inputs, outputs, token) for k, v in (s.get("env") or {}).items()}
    return subprocess.run(
        ["bash", "-c", s["run"]],
        cwd=cwd,
        env={**env, **step_env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.e2e  # the action's scripts run `promptreview ci`: a whole review, in a subprocess
@pytest.mark.parametrize("fail_on, code", [("regression", 1), ("never", 0)])
def test_the_composite_steps_run_with_their_env_wiring(git_repo, fake_github, tmp_path, fail_on, code):  # noqa: F811
    """Run the action's own `key` and `run` scripts (the install step needs the network; its outputs are
    stood in for by this venv's python) with env built exactly as action.yml declares it."""
    pr = CI(git_repo, fake_github, tmp_path)
    pr.base = make_triage_repo(git_repo, extra="models: [sim:triage-v1, 'sim:triage-v1?parse_failure=0.6']\n")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT, model="sim:triage-v1?parse_failure=0.6"))
    pr.head = git_repo.commit("loosen")
    env = pr.env(pr.event())
    for name in ("GITHUB_TOKEN", "PROMPTREVIEW_CACHE_DIR"):
        env.pop(name)
    env["PATH"] = "/usr/bin:/bin"
    env["HOME"] = str(tmp_path / "home")
    inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    inputs["github-token"] = fake_github.token
    inputs["fail-on"] = fail_on
    outputs = {
        "steps.install.outputs.python": sys.executable,
        "steps.install.outputs.cache-dir": str(tmp_path / "runner-temp" / "promptreview-cache"),
    }

    key = run_step(step("key"), env, inputs, outputs, fake_github.token, git_repo.root)
    assert key.returncode == 0, key.stderr
    assert key.stdout.startswith(f"promptreview-v2-Linux-{pr.base}-")

    result = run_step(step("run"), env, inputs, outputs, fake_github.token, git_repo.root)
    assert result.returncode == code, result.stdout + result.stderr
    outs = pr.outputs()
    assert outs["verdict"] == "fail" and outs["cache-key"].startswith("promptreview-v2-")
    assert json.loads(Path(outs["report-path"]).read_text())["verdict"] == "fail"
    assert (tmp_path / "runner-temp" / "promptreview-cache" / "cache.sqlite").exists()
    assert len(fake_github.live_comments(2)) == 1
    assert [r["conclusion"] for r in fake_github.check_runs.values()] == ["failure"]
    assert fake_github.rejected == [] and fake_github.errors == []


@pytest.mark.e2e  # starts the installed package in a subprocess
def test_a_promptreview_directory_in_the_workspace_does_not_shadow_the_installed_package(git_repo, tmp_path):
    """The workspace is the PR's tree: `python -m promptreview` must not import a package the PR adds."""
    make_triage_repo(git_repo)
    pwned = tmp_path / "pwned"
    git_repo.write("promptreview/__init__.py", "")
    git_repo.write("promptreview/__main__.py", f"open({str(pwned)!r}, 'w').write('x')\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(tmp_path / "e.json"),
        "GITHUB_REPOSITORY": "o/r",
    }
    (tmp_path / "e.json").write_text("{}")
    outputs = {
        "steps.install.outputs.python": sys.executable,
        "steps.install.outputs.cache-dir": str(tmp_path),
    }
    inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    result = run_step(step("key"), env, inputs, outputs, "t", git_repo.root)
    assert result.returncode == 0, result.stderr
    assert not pwned.exists()
