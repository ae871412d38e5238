"""The one exit-code table: every code documented, every way out of the CLI mapped by it, and a crash that
still leaves a `verdict: error` report behind."""

from __future__ import annotations

import importlib
import json
import re
import tempfile
from pathlib import Path

import pytest

from promptreview import exitcodes
from promptreview.errors import MissingCredentials, ProviderError, UsageError
from promptreview.exitcodes import ExitCode
from promptreview.verdicts import CIVerdict, ReviewVerdict
from tests.conftest import REPO
from tests.reports import assert_valid_report

README = (REPO / "README.md").read_text("utf-8")


def readme_exit_codes() -> dict[int, str]:
    section = README.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    return {int(m[1]): m[2] for m in re.finditer(r"^\| (\d+) \| (.+?) \|$", section, re.M)}


def test_every_exit_code_is_in_the_readme_table_and_nothing_else():
    assert set(readme_exit_codes()) == {int(code) for code in ExitCode}


def test_a_crash_has_a_code_of_its_own():
    codes = readme_exit_codes()
    assert ExitCode.CRASH not in (ExitCode.BAD_INPUT, ExitCode.PROVIDER, ExitCode.REGRESSION, ExitCode.OK)
    assert "crash" in codes[ExitCode.CRASH] and "bad usage" in codes[ExitCode.BAD_INPUT]


def test_review_verdicts():
    assert [exitcodes.for_review(v) for v in ReviewVerdict] == [0, 1, 3, 0]  # pass, fail, error, skipped
    assert exitcodes.for_review(ReviewVerdict.FAIL, planned_only=True) == 0


def test_errors():
    assert exitcodes.for_error(UsageError("x")) == 2
    assert exitcodes.for_error(MissingCredentials("x", "OPENAI_API_KEY")) == 2
    assert exitcodes.for_error(ProviderError("x")) == 3


@pytest.mark.parametrize(
    "verdict, warned, codes",  # codes under fail-on regression / warning / never
    [
        (CIVerdict.PASS, False, (0, 0, 0)),
        (CIVerdict.PASS, True, (0, 1, 0)),
        (CIVerdict.FAIL, False, (1, 1, 0)),
        (CIVerdict.ACCEPTED, False, (0, 0, 0)),
        (CIVerdict.SKIPPED, False, (0, 0, 0)),
        (CIVerdict.ERROR, False, (3, 3, 0)),
        (CIVerdict.INVALID, False, (2, 2, 0)),
    ],
)
def test_ci_table_under_fail_on(verdict, warned, codes):
    assert tuple(exitcodes.for_ci(verdict, fail_on, warned) for fail_on in exitcodes.FAIL_ON) == codes


def test_unknown_fail_on_is_refused():
    with pytest.raises(ValueError, match="fail-on"):
        exitcodes.for_ci(CIVerdict.PASS, "sometimes")


# -- the CLI's one error handler -------------------------------------------------------------------------


def boom(opts):
    raise RuntimeError("boom: a bug in promptreview")


@pytest.mark.parametrize(
    "fmt, marker", [("json", '"verdict": "error"'), ("text", "ERROR: no trustworthy verdict")]
)
def test_a_crash_exits_4_with_a_log_and_still_writes_an_error_report(
    git_repo, run_cli, monkeypatch, tmp_path, fmt, marker
):
    monkeypatch.setattr(importlib.import_module("promptreview.cli.check"), "review_changes", boom)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the crash log goes
    out = tmp_path / f"report.{fmt}"
    result = run_cli(["check", "--format", fmt, "--output", str(out)], git_repo.root)
    assert result.code == ExitCode.CRASH == 4
    assert (
        result.err.startswith("promptreview: internal error: RuntimeError: boom")
        and "Traceback" not in result.err
    )
    log = Path(re.search(r"traceback in (\S+)\)", result.err)[1])
    assert log.parent == tmp_path
    assert "Traceback" in log.read_text() and "boom: a bug in promptreview" in log.read_text()
    text = out.read_text("utf-8")
    assert marker in text and "internal error: RuntimeError: boom" in text
    if fmt == "json":
        data = json.loads(text)
        assert_valid_report(data)
        assert data["verdict"] == "error" and data["prompts"] == []


def test_raise_errors_re_raises_for_debugging(git_repo, run_cli, monkeypatch):
    monkeypatch.setattr(importlib.import_module("promptreview.cli.check"), "review_changes", boom)
    monkeypatch.setenv("PROMPTREVIEW_RAISE_ERRORS", "1")
    with pytest.raises(RuntimeError, match="boom"):
        run_cli(["check"], git_repo.root)


def test_bad_input_exits_2_and_writes_no_report(git_repo, run_cli, tmp_path):
    out = tmp_path / "report.json"
    result = run_cli(
        ["check", "--format", "json", "--output", str(out)], git_repo.root
    )  # no config, no commit
    assert result.code == 2 and result.err.startswith("promptreview: error:")
    assert len(result.err.strip().splitlines()) == 1 and not out.exists()
