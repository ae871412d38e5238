"""Shared fixtures: sealed environment, real git repositories in temp dirs, an in-process CLI runner."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures_path import FIXTURES  # noqa: F401  (re-exported for the tests)

REPO = Path(__file__).resolve().parent.parent
E2E_FOLDER = Path(__file__).resolve().parent / "e2e"
_current = {"e2e": False}  # whether the running test carries the e2e marker (one test at a time per process)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in tests/e2e/ is an e2e test, marked or not."""
    for item in items:
        if item.path.is_relative_to(E2E_FOLDER):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def whole_reviews_are_e2e(request, monkeypatch):
    """A test that runs a whole review carries the e2e marker, or fails here, so `-m "not e2e"` stays the fast
    tier: in-process, every review (check, compare, ci, demo, or the engine called directly) passes through
    `engine.review._review`; the console script starts through `run_installed`."""
    marked = request.node.get_closest_marker("e2e") is not None
    monkeypatch.setitem(_current, "e2e", marked)
    if marked:
        return
    from promptreview.engine import review

    def unmarked(*args, **kwargs):
        pytest.fail(f"{request.node.nodeid} runs a whole review: mark it @pytest.mark.e2e", pytrace=False)

    monkeypatch.setattr(review, "_review", unmarked)


@pytest.fixture(autouse=True)
def sealed_env(tmp_path_factory, monkeypatch):
    """No test reads the developer's HOME, git config, cache or API keys."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Author")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Committer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "ANTHROPIC_", "OLLAMA_", "GITHUB_", "PROMPTREVIEW_")):
            monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(autouse=True)
def retry_waits(monkeypatch) -> list[float]:
    """No test sleeps through a retry's backoff: every wait a retry policy without a `sleep` of its own asks for
    (a whole review's, in-process through the CLI or not) is recorded here instead, for the test to assert."""
    from promptreview.providers import retry

    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)  # still gives the other calls their turn, as a real wait does

    monkeypatch.setattr(retry, "wait", record)
    return waits


class GitRepo:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.root, check=True, capture_output=True, text=True
        ).stdout

    def write(self, path: str, content: str | bytes) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        return target

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture
def git_repo(tmp_path) -> GitRepo:
    return GitRepo(tmp_path / "repo")


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        return json.loads(self.out)


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """Run `promptreview ARGS` in-process (same code path as the console script) and capture everything."""
    from promptreview.cli import main

    def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Result:
        monkeypatch.chdir(cwd)
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def run_installed(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> Result:
    """Run the installed console script in a subprocess, as a user (or the acceptance check) would. The one way
    the tests start it: only a test with the e2e marker may (a process start and its imports cost a second)."""
    if not _current["e2e"]:
        pytest.fail("this test starts the console script: mark it @pytest.mark.e2e", pytrace=False)
    script = Path(sys.executable).parent / "promptreview"
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [str(script), *args], cwd=cwd, capture_output=True, text=True, env=full_env, preexec_fn=preexec_fn
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
