"""Supply chain: every `uses:` pinned to a full commit SHA on a Node 24 major, the action installing from a
hash-pinned lock, Jinja2 above its sandbox-escape releases; zizmor and actionlint find nothing (offline)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import promptreview
from tests.conftest import REPO

PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
NODE24_MAJORS = {"actions/checkout": 5, "actions/setup-python": 6, "actions/cache": 5}


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is in the test extra: pip install -e '.[test]'"
    return found


def _uses_lines(text: str) -> list[tuple[str, str]]:
    """(reference, comment) of every `uses:` line."""
    return re.findall(r"uses:\s*(\S+)\s*(?:#\s*(\S+))?", text)


def _init_workflow(tmp_path: Path, run_cli) -> Path:
    result = run_cli(["init", "--provider", "openai"], tmp_path)
    assert result.code == 0, result.err
    return tmp_path / ".github" / "workflows" / "promptreview.yml"


def _schedule_workflow(tmp_path: Path, run_cli, provider: str = "openai") -> Path:
    result = run_cli(["init", "--schedule", "--provider", provider, "--force"], tmp_path)
    assert result.code == 0, result.err
    return tmp_path / ".github" / "workflows" / "promptreview-schedule.yml"


@pytest.mark.parametrize("source", ["action.yml", "init", "init --schedule"])
def test_every_uses_is_pinned_to_a_sha_with_its_version_on_node24(source, tmp_path, run_cli):
    path = (
        REPO / "action.yml"
        if source == "action.yml"
        else _init_workflow(tmp_path, run_cli)
        if source == "init"
        else _schedule_workflow(tmp_path, run_cli)
    )
    uses = _uses_lines(path.read_text("utf-8"))
    assert uses
    for ref, comment in uses:
        assert PINNED.match(ref), ref
        if ref.startswith(
            "promptreview/promptreview@"
        ):  # the version this promptreview was built as (PEP 440)
            assert comment == f"v{promptreview.__version__}", ref
            continue
        assert re.fullmatch(r"v\d+\.\d+\.\d+", comment or ""), f"{ref}: no # vX.Y.Z comment"
        action = "/".join(ref.split("@")[0].split("/")[:2])
        if action in NODE24_MAJORS:
            assert int(comment[1:].split(".")[0]) >= NODE24_MAJORS[action], ref


def test_the_action_installs_only_from_the_hash_pinned_lock():
    install = next(
        s
        for s in yaml.safe_load((REPO / "action.yml").read_text())["runs"]["steps"]
        if s.get("id") == "install"
    )
    run = install["run"]
    assert "--require-hashes" in run and "requirements.lock" in run
    assert "--no-index" in run and "--no-build-isolation" in run  # the package itself: no further download
    lock = (REPO / "requirements.lock").read_text("utf-8")
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", lock, re.MULTILINE)
    names = {name.lower() for name, _ in pins}
    assert {"jinja2", "httpx", "jsonschema", "pygithub", "pyyaml", "setuptools"} <= names
    for block in re.split(r"\n(?=[A-Za-z])", lock.split("\n\n", 1)[-1]):
        if "==" in block:
            assert "--hash=sha256:" in block, block.splitlines()[0]
    jinja = dict((n.lower(), v) for n, v in pins)["jinja2"]
    assert tuple(int(x) for x in jinja.split(".")[:3]) >= (3, 1, 6)
    assert (REPO / "scripts" / "lock").exists()


def test_jinja2_floor_excludes_the_sandbox_escape_releases():
    text = (REPO / "pyproject.toml").read_text("utf-8")
    assert re.search(r'"Jinja2>=3\.1\.6"', text)


def test_zizmor_finds_nothing_high_in_the_action_and_the_init_workflow(tmp_path, run_cli):
    workflow = _init_workflow(tmp_path, run_cli)
    proc = subprocess.run(
        [_tool("zizmor"), "--offline", "--min-severity", "low", str(REPO / "action.yml"), str(workflow)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_finds_no_error_in_the_init_workflow(tmp_path, run_cli):
    workflow = _init_workflow(tmp_path, run_cli)
    proc = subprocess.run([_tool("actionlint"), str(workflow)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("provider", ["openai", "github"])
def test_zizmor_and_actionlint_find_nothing_in_the_scheduled_workflow(tmp_path, run_cli, provider):
    workflow = _schedule_workflow(tmp_path, run_cli, provider)
    proc = subprocess.run(
        [_tool("zizmor"), "--offline", "--min-severity", "low", str(workflow)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lint = subprocess.run([_tool("actionlint"), str(workflow)], capture_output=True, text=True, cwd=tmp_path)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_old_tag_pinned_node20_workflow_is_what_they_catch(tmp_path, run_cli):
    """The check can fail: the workflow as it was (checkout@v4, a tag) is flagged by both tools."""
    workflow = _init_workflow(tmp_path, run_cli)
    old = re.sub(r"actions/checkout@\S+ # \S+", "actions/checkout@v4", workflow.read_text("utf-8"))
    workflow.write_text(old, encoding="utf-8")
    zizmor = subprocess.run([_tool("zizmor"), "--offline", str(workflow)], capture_output=True, text=True)
    assert zizmor.returncode != 0


def _documented_workflows(tmp_path: Path) -> list[Path]:
    """Every workflow docs/github.md shows (a YAML block with `on:` and `jobs:`), each in its own file."""
    doc = (REPO / "docs" / "github.md").read_text("utf-8")
    blocks = [
        b
        for b in re.findall(r"```yaml\n(.*?)```", doc, re.S)
        if re.search(r"^on:", b, re.M) and re.search(r"^jobs:", b, re.M)
    ]
    out = []
    for i, block in enumerate(blocks):
        text = block if re.search(r"^name:", block, re.M) else f"name: example {i}\n{block}"
        # the docs show where `init` writes the commit it was built from; audit what a reader gets
        text = text.replace("promptreview/promptreview@COMMIT_SHA", "promptreview/promptreview@" + "0" * 40)
        path = tmp_path / ".github" / "workflows" / f"documented-{i}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        out.append(path)
    return out


def test_every_workflow_the_docs_show_is_pinned_and_clean_under_zizmor_and_actionlint(tmp_path):
    """The copied workflow, the maintainer-triggered run and the pull_request_target pattern: a reader copies
    each, so each holds the same bar as the action."""
    workflows = _documented_workflows(tmp_path)
    assert len(workflows) >= 3
    for path in workflows:
        text = path.read_text("utf-8")
        for ref, _ in _uses_lines(text):
            assert PINNED.match(ref), f"{path.name}: {ref}"
        for checkout in re.findall(r"uses: actions/checkout@.*?(?=\n      - |\Z)", text, re.S):
            assert "persist-credentials: false" in checkout, path.name
    zizmor = subprocess.run(
        [_tool("zizmor"), "--offline", "--min-severity", "low", *map(str, workflows)],
        capture_output=True,
        text=True,
    )
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
    lint = subprocess.run(
        [_tool("actionlint"), *map(str, workflows)], capture_output=True, text=True, cwd=tmp_path
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_zizmor_and_actionlint_find_nothing_in_the_attesting_workflow(tmp_path, run_cli):
    """`init --attest` adds a job that signs: its permissions are its own, and its actions pinned."""
    result = run_cli(["init", "--provider", "openai", "--attest"], tmp_path)
    assert result.code == 0, result.err
    workflow = tmp_path / ".github" / "workflows" / "promptreview.yml"
    for ref, comment in _uses_lines(workflow.read_text("utf-8")):
        assert PINNED.match(ref), ref
        assert ref.startswith("promptreview/") or re.fullmatch(r"v\d+\.\d+\.\d+", comment or ""), ref
    proc = subprocess.run(
        [_tool("zizmor"), "--offline", "--min-severity", "low", str(workflow)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run([_tool("actionlint"), str(workflow)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zizmor_and_actionlint_find_nothing_in_a_workflow_init_attest_added_its_job_to(tmp_path, run_cli):
    """`init` then `init --attest` (a repository already set up): the workflow it rewrites is as clean."""
    assert run_cli(["init", "--provider", "anthropic"], tmp_path).code == 0
    result = run_cli(["init", "--attest"], tmp_path)
    assert result.code == 0, result.err
    workflow = tmp_path / ".github" / "workflows" / "promptreview.yml"
    assert "attest-build-provenance" in workflow.read_text("utf-8")
    proc = subprocess.run(
        [_tool("zizmor"), "--offline", "--min-severity", "low", str(workflow)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run([_tool("actionlint"), str(workflow)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
