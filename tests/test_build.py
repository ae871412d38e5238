"""The package as built: its version and the commit it was built from come from git at build time, so the
workflow `init` writes pins the action to exactly that commit, however promptreview was installed.

Each test builds a wheel offline (`pip wheel --no-build-isolation --no-index`, with the setuptools and
setuptools-scm of the test extra) from a temporary clone, a `git archive` of it (what GitHub serves when a
workflow fetches the action) or a bare copy of its files (no git at all), installs it into a folder and runs
`promptreview init` from there."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest
import tomllib
import yaml

from tests.conftest import REPO

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone of this repository with a commit of its own on top (so its HEAD is no installed build's)."""
    target = tmp_path / "clone"
    _run("git", "clone", "-q", "--no-hardlinks", REPO, target)
    _run(*GIT, "commit", "-q", "--allow-empty", "-m", "a commit only this clone has", cwd=target)
    return target


def _build_and_init(source: Path, tmp_path: Path) -> tuple[str, str, str]:
    """Build a wheel of `source`, install it into a folder, run `promptreview init` from there: the
    version it was built as, the `uses:` line of the workflow it wrote, and what init printed."""
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps", "--no-index",
         "-w", wheels, source)  # fmt: skip
    (wheel,) = wheels.glob("promptreview-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    work = tmp_path / "work"
    work.mkdir()
    _run("git", "init", "-q", cwd=work)
    # -S: no site hook, so the editable install of the checkout under test cannot answer the import; the
    # dependencies come from the venv's site-packages, after the wheel's folder
    script = (
        "import sys; sys.path[:0] = [sys.argv[1]]; sys.path.append(sys.argv[2]); import promptreview; "
        "assert promptreview.__file__.startswith(sys.argv[1]), promptreview.__file__; "
        "print(promptreview.__version__); from promptreview.cli import main; main(['init'])"
    )
    out = _run(sys.executable, "-S", "-c", script, site, sysconfig.get_paths()["purelib"], cwd=work)
    version, printed = out.split("\n", 1)
    workflow = (work / ".github" / "workflows" / "promptreview.yml").read_text("utf-8")
    (uses,) = re.findall(r"uses: (promptreview/promptreview@.*)", workflow)
    assert yaml.safe_load(workflow)["jobs"]["review"]["steps"][1]["uses"] == uses.split(" #")[0]
    return version, uses, printed


@pytest.mark.e2e  # builds a package: the slow tier
def test_a_wheel_from_a_clone_pins_the_action_to_that_clones_head(clone, tmp_path):
    head = _run("git", "rev-parse", "HEAD", cwd=clone).strip()
    version, uses, _ = _build_and_init(clone, tmp_path)
    assert uses == f"promptreview/promptreview@{head} # v{version}"
    assert re.fullmatch(r"\d+\.\d+\.\d+\.dev\d+\+g" + head[:9], version)  # from git, not a constant


@pytest.mark.e2e  # builds a package: the slow tier
def test_the_version_follows_the_release_tag(clone, tmp_path):
    _run(*GIT, "tag", "v7.3.0", "HEAD~1", cwd=clone)
    head = _run("git", "rev-parse", "HEAD", cwd=clone).strip()
    version, uses, _ = _build_and_init(clone, tmp_path)
    assert version == f"7.3.1.dev1+g{head[:9]}"  # one commit after v7.3.0
    assert uses == f"promptreview/promptreview@{head} # v{version}"  # the full hash, not describe's short one


@pytest.mark.e2e  # builds a package: the slow tier
def test_a_github_tarball_of_the_action_knows_its_commit(clone, tmp_path):
    """Actions fetch an action as a tarball of the commit (no .git): .git_archival.txt, filled in by
    export-subst, carries the commit instead."""
    head = _run("git", "rev-parse", "HEAD", cwd=clone).strip()
    archive, tree = tmp_path / "action.tar", tmp_path / "action"
    _run("git", "archive", "--format=tar", "-o", archive, "HEAD", cwd=clone)
    with tarfile.open(archive) as tf:
        tf.extractall(tree, filter="data")
    assert not (tree / ".git").exists()
    _, uses, _ = _build_and_init(tree, tmp_path)
    assert uses.startswith(f"promptreview/promptreview@{head} # v")


@pytest.mark.e2e  # builds a package: the slow tier
def test_without_git_init_writes_the_release_tag_and_says_how_to_pin_it(clone, tmp_path):
    tree = tmp_path / "plain"
    for name in _run("git", "ls-files", "-z", cwd=clone).split("\0"):
        if name:
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_bytes((clone / name).read_bytes())
    version, uses, printed = _build_and_init(tree, tmp_path)
    fallback = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools_scm"]
    assert version == fallback["fallback_version"]
    assert uses == f"promptreview/promptreview@v{version} # pin it: replace the tag with its full commit SHA"
    assert f"refs/tags/v{version}` prints the SHA" in printed


def test_every_build_requirement_is_in_the_lock_the_action_builds_from():
    """The action builds promptreview with --no-build-isolation --no-index: its build requirements come from
    requirements.lock, hash-pinned like everything else."""
    requires = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["build-system"]["requires"]
    lock = (REPO / "requirements.lock").read_text("utf-8")
    pinned = {m.lower().replace("_", "-") for m in re.findall(r"^([A-Za-z0-9_.-]+)==", lock, re.M)}
    for requirement in requires:
        assert re.split(r"[<>=!~ \[;]", requirement)[0].lower() in pinned, requirement
    build_in = (REPO / "scripts" / "lock-build.in").read_text("utf-8")
    assert all(r in build_in for r in requires)


def test_the_metadata_says_what_the_lock_and_the_tests_cover():
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    lock = (REPO / "requirements.lock").read_text("utf-8")
    resolved_for = re.search(r"autogenerated by pip-compile with Python (\d+\.\d+)", lock).group(1)
    assert project["requires-python"].split(">=", 1)[1].split()[0] == resolved_for == "3.11"
    versions = [c.rsplit(" :: ", 1)[1] for c in project["classifiers"] if re.search(r"Python :: 3\.\d+$", c)]
    assert versions and min(versions, key=lambda v: tuple(map(int, v.split(".")))) == resolved_for
    action = yaml.safe_load((REPO / "action.yml").read_text("utf-8"))["inputs"]["python-version"]
    assert f"{resolved_for} or later" in action["description"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (REPO / "LICENSE").read_text("utf-8").startswith("MIT License\n")
    assert {"Homepage", "Repository", "Issues"} <= set(project["urls"])
    assert "version" in project["dynamic"] and "version" not in project  # from git, not a constant
