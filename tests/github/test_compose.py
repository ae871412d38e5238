"""The words of a CI run around the report: what a failing check asks a person to do."""

from __future__ import annotations

from promptreview.exitcodes import ExitCode
from promptreview.github.compose import banners
from promptreview.github.conclusion import CIResult
from promptreview.verdicts import CIVerdict


def test_a_failing_check_names_the_accept_label_and_who_may_apply_it():
    text = banners(
        CIResult(CIVerdict.FAIL, "promptreview: regression", ExitCode.REGRESSION), "prompts/ok-to-merge"
    )
    assert "<code>prompts/ok-to-merge</code>" in text
    assert "write access other than the pull request's author" in text and "this head commit only" in text
    passing = banners(CIResult(CIVerdict.PASS, "promptreview: pass", ExitCode.OK), "prompts/ok-to-merge")
    assert "ok-to-merge" not in passing
