"""The CI result of a typed `Report` (or of a run without one): verdict, check conclusion, title, exit code."""

from __future__ import annotations

import pytest

from promptreview.exitcodes import ExitCode
from promptreview.github.conclusion import (
    acceptance_for,
    ci_section,
    from_report,
    invalid,
    provider_failed,
    skipped,
)
from promptreview.github.event import Event, LabelChange
from promptreview.report.document import Acceptance, PromptReport, Report
from promptreview.verdicts import CheckConclusion, CIVerdict, PromptVerdict, ReviewVerdict

ACCEPT = "promptreview/accept"
ALICE = Acceptance(ACCEPT, "alice", "2024-05-02T10:00:00Z")


def report(verdict: ReviewVerdict, *prompts: PromptVerdict, removed: int = 0) -> Report:
    rows = [
        PromptReport(path=f"prompts/p{i}.prompt.yml", change="modified", verdict=v)
        for i, v in enumerate(prompts)
    ]
    rows += [PromptReport(path=f"prompts/gone{i}.prompt.yml", change="removed") for i in range(removed)]
    return Report(verdict=verdict, prompts=tuple(rows))


P, W, F, E = PromptVerdict.PASS, PromptVerdict.WARN, PromptVerdict.FAIL, PromptVerdict.ERROR


@pytest.mark.parametrize(
    "review, fail_on, verdict, conclusion, code, title",
    [
        (report(ReviewVerdict.PASS, P), "regression", "pass", "success", 0, "No regression in 1 prompt file"),
        (
            report(ReviewVerdict.PASS, P, W),
            "regression",
            "pass",
            "success",
            0,
            "No regression in 2 prompt files; 1 with warnings",
        ),
        (
            report(ReviewVerdict.PASS, P, W),
            "warning",
            "pass",
            "success",
            1,
            "No regression in 2 prompt files; 1 with warnings",
        ),
        (
            report(ReviewVerdict.PASS, P, W),
            "never",
            "pass",
            "success",
            0,
            "No regression in 2 prompt files; 1 with warnings",
        ),
        (
            report(ReviewVerdict.FAIL, F, P, removed=1),
            "regression",
            "fail",
            "failure",
            1,
            "Regression in 1 of 2 prompt files",
        ),
        (report(ReviewVerdict.FAIL, F), "warning", "fail", "failure", 1, "Regression in 1 of 1 prompt file"),
        (report(ReviewVerdict.FAIL, F), "never", "fail", "failure", 0, "Regression in 1 of 1 prompt file"),
        (report(ReviewVerdict.SKIPPED), "regression", "skipped", "neutral", 0, "No prompt file changed"),
        (
            report(ReviewVerdict.ERROR, E),
            "regression",
            "error",
            "neutral",
            3,
            "No trustworthy verdict: too many model calls failed",
        ),
        (
            report(ReviewVerdict.ERROR, E),
            "never",
            "error",
            "neutral",
            0,
            "No trustworthy verdict: too many model calls failed",
        ),
    ],
)
def test_the_result_of_a_review(review, fail_on, verdict, conclusion, code, title):
    result = from_report(review, fail_on, None)
    assert (result.verdict, result.conclusion, result.exit_code, result.title) == (
        verdict,
        conclusion,
        code,
        title,
    )
    assert result.acceptance is None and result.reason is None


@pytest.mark.parametrize("fail_on", ["regression", "warning", "never"])
def test_the_accept_label_lets_a_failure_or_a_warning_through(fail_on):
    failed = from_report(report(ReviewVerdict.FAIL, F, P), fail_on, ALICE)
    assert (failed.verdict, failed.conclusion, failed.exit_code) == (
        CIVerdict.ACCEPTED,
        CheckConclusion.SUCCESS,
        0,
    )
    assert failed.title == "Regression in 1 of 2 prompt files, accepted by alice on 2024-05-02 10:00:00 UTC"
    warned = from_report(report(ReviewVerdict.PASS, W), fail_on, Acceptance(ACCEPT))
    assert (warned.verdict, warned.exit_code) == (CIVerdict.ACCEPTED, 0)
    assert warned.title == "No regression in 1 prompt file; 1 with warnings, accepted"
    # nothing to accept: the label changes nothing
    clean = from_report(report(ReviewVerdict.PASS, P), fail_on, ALICE)
    assert clean.verdict is CIVerdict.PASS and clean.acceptance is None


def test_runs_without_a_report():
    fork = skipped("Skipped: fork pull request without OPENAI_API_KEY", "no key", "regression")
    assert (fork.verdict, fork.conclusion, fork.exit_code, fork.reason) == ("skipped", "neutral", 0, "no key")
    down = provider_failed("openai: 503", "regression")
    assert (down.verdict, down.conclusion, down.exit_code) == ("error", "neutral", ExitCode.PROVIDER)
    assert down.title == "No verdict: the model provider failed" and down.reason == "openai: 503"
    assert provider_failed("x", "never").exit_code == 0
    bad = invalid("config file is broken", "warning")
    assert (bad.verdict, bad.conclusion, bad.exit_code) == ("invalid", "failure", ExitCode.BAD_INPUT)
    assert bad.title == "promptreview could not run: config file is broken"
    long = invalid("x" * 500, "regression").title
    assert len(long) == 200 and long.endswith("…")


def pr_event(labels: tuple[str, ...] = (), change: LabelChange | None = None) -> Event:
    return Event(
        name="pull_request",
        action="labeled" if change else "synchronize",
        repository="o/r",
        base_sha="a" * 40,
        head_sha="b" * 40,
        pr_number=7,
        labels=labels,
        label_change=change,
    )


def test_who_accepted_comes_from_the_event_else_from_the_lookup():
    asked: list[bool] = []

    def lookup() -> tuple[str | None, str | None]:
        asked.append(True)
        return "carol", "2024-05-03T09:30:00Z"

    assert acceptance_for(pr_event(), ACCEPT, lookup) is None
    change = LabelChange("labeled", ACCEPT, "alice", "2024-05-02T10:00:00Z")
    assert acceptance_for(pr_event((ACCEPT,), change), ACCEPT, lookup) == ALICE
    assert asked == []  # the event said who: no request
    assert acceptance_for(pr_event((ACCEPT,)), ACCEPT, lookup) == Acceptance(
        ACCEPT, "carol", "2024-05-03T09:30:00Z"
    )
    assert acceptance_for(pr_event((ACCEPT,)), ACCEPT, None) == Acceptance(ACCEPT)


def test_the_ci_section_names_the_acceptance_only_when_it_decided():
    event = pr_event((ACCEPT,))
    accepted = ci_section(from_report(report(ReviewVerdict.FAIL, F), "regression", ALICE), event, "base")
    assert (accepted.verdict, accepted.conclusion, accepted.exit_code) == ("accepted", "success", 0)
    assert (accepted.event, accepted.pull_request, accepted.accepted, accepted.reason) == (
        "pull_request",
        7,
        ALICE,
        None,
    )
    problem = ci_section(provider_failed("openai: 503", "regression"), event, None)
    assert (problem.accepted, problem.config_from, problem.reason) == (None, None, "openai: 503")
