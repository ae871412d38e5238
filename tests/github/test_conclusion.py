"""The CI result of a typed `Report` (or of a run without one): verdict, check conclusion, title, exit code."""

from __future__ import annotations

import pytest

from promptreview.exitcodes import ExitCode
from promptreview.github.conclusion import (
    LabelRefused,
    acceptance_for,
    ci_section,
    fork_without_key,
    from_report,
    invalid,
    provider_failed,
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
        (report(ReviewVerdict.SKIPPED), "regression", "skipped", "success", 0, "No prompt file changed"),
        (
            report(ReviewVerdict.ERROR, E),
            "regression",
            "error",
            "failure",
            3,
            "No trustworthy verdict: too many model calls failed",
        ),
        (
            report(ReviewVerdict.ERROR, E),
            "never",
            "error",
            "failure",
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
    fork = fork_without_key("OPENAI_API_KEY", "no key", "regression")
    assert (fork.verdict, fork.conclusion, fork.exit_code, fork.reason) == (
        "action_required",
        "action_required",
        ExitCode.BAD_INPUT,
        "no key",
    )
    assert fork.title.startswith("Not reviewed: fork pull request without OPENAI_API_KEY")
    down = provider_failed("openai: 503", "regression")
    assert (down.verdict, down.conclusion, down.exit_code) == ("error", "failure", ExitCode.PROVIDER)
    assert down.title == "No verdict: the model provider failed" and down.reason == "openai: 503"
    assert provider_failed("x", "never").exit_code == 0
    bad = invalid("config file is broken", "warning")
    assert (bad.verdict, bad.conclusion, bad.exit_code) == ("invalid", "failure", ExitCode.BAD_INPUT)
    assert bad.title == "promptreview could not run: config file is broken"
    long = invalid("x" * 500, "regression").title
    assert len(long) == 200 and long.endswith("…")


def test_no_path_ends_neutral_unless_the_base_config_opts_out():
    """GitHub counts `neutral` as passing a required check: every result of every path is checked."""
    results = [
        from_report(report(verdict, *prompts), fail_on, None)
        for verdict, prompts in [
            (ReviewVerdict.PASS, (P,)),
            (ReviewVerdict.FAIL, (F,)),
            (ReviewVerdict.SKIPPED, ()),
            (ReviewVerdict.ERROR, (E,)),
        ]
        for fail_on in ("regression", "warning", "never")
    ]
    results += [
        fork_without_key("K", "no key", "never"),
        provider_failed("x", "never"),
        invalid("x", "never"),
    ]
    assert all(r.conclusion is not CheckConclusion.NEUTRAL and not r.protects_nothing for r in results)
    # `fail_closed: false` in the base config: only the runs that could not review turn neutral, and say so
    opted = [
        provider_failed("x", "regression", fail_closed=False),
        fork_without_key("K", "no key", "regression", fail_closed=False),
        from_report(report(ReviewVerdict.ERROR, E), "regression", None, fail_closed=False),
    ]
    assert all(r.conclusion is CheckConclusion.NEUTRAL and r.protects_nothing for r in opted)
    assert [r.exit_code for r in opted] == [ExitCode.PROVIDER, ExitCode.BAD_INPUT, ExitCode.PROVIDER]
    still = [
        from_report(report(ReviewVerdict.FAIL, F), "regression", None, fail_closed=False),
        invalid("x", "regression"),
    ]
    assert [r.conclusion for r in still] == [CheckConclusion.FAILURE, CheckConclusion.FAILURE]


def pr_event(
    labels: tuple[str, ...] = (), change: LabelChange | None = None, author: str | None = "dave"
) -> Event:
    return Event(
        name="pull_request",
        action="labeled" if change else "synchronize",
        repository="o/r",
        base_sha="a" * 40,
        head_sha="b" * 40,
        pr_number=7,
        labels=labels,
        label_change=change,
        author=author,
    )


def test_the_label_counts_only_from_a_writer_other_than_the_author_on_its_own_commit():
    asked: list[str] = []
    levels = {"alice": "write", "erin": "admin", "dave": "admin", "trudy": "read"}

    def permission(login: str) -> str | None:
        asked.append(login)
        return levels.get(login)

    def labeled(actor: str | None) -> LabelChange:
        return LabelChange("labeled", ACCEPT, actor, "2024-05-02T10:00:00Z")

    assert acceptance_for(pr_event(), ACCEPT, permission) is None
    assert acceptance_for(pr_event((ACCEPT,), labeled("alice")), ACCEPT, permission) == ALICE
    assert acceptance_for(pr_event((ACCEPT,), labeled("erin")), ACCEPT, permission) == Acceptance(
        ACCEPT, "erin", "2024-05-02T10:00:00Z"
    )
    # the author, even an admin, cannot accept their own pull request (asked before any request)
    assert acceptance_for(pr_event((ACCEPT,), labeled("Dave")), ACCEPT, permission) == LabelRefused(
        ACCEPT, "author", "Dave"
    )
    assert "Dave" not in asked and "dave" not in asked
    assert acceptance_for(pr_event((ACCEPT,), labeled("trudy")), ACCEPT, permission) == LabelRefused(
        ACCEPT, "no_write_access", "trudy"
    )
    # unknown to GitHub, the permission unreadable, nobody to ask, no author to compare with
    assert (
        acceptance_for(pr_event((ACCEPT,), labeled("mallory")), ACCEPT, permission).reason == "unverifiable"
    )
    assert acceptance_for(pr_event((ACCEPT,), labeled("alice")), ACCEPT, None).reason == "unverifiable"
    assert acceptance_for(pr_event((ACCEPT,), labeled(None)), ACCEPT, permission).reason == "unverifiable"
    no_author = pr_event((ACCEPT,), labeled("alice"), author=None)
    assert acceptance_for(no_author, ACCEPT, permission).reason == "unverifiable"
    # a run that is not the label's own `labeled` event (a later push): the label was applied on another commit
    assert acceptance_for(pr_event((ACCEPT,)), ACCEPT, permission) == LabelRefused(ACCEPT, "earlier_commit")
    other = LabelChange("labeled", "docs", "alice", None)
    assert acceptance_for(pr_event((ACCEPT, "docs"), other), ACCEPT, permission).reason == "earlier_commit"
    # a refused label accepts nothing, and the result says why
    refused = from_report(report(ReviewVerdict.FAIL, F), "regression", LabelRefused(ACCEPT, "author", "dave"))
    assert (refused.verdict, refused.conclusion, refused.exit_code) == ("fail", "failure", 1)
    assert refused.refused == LabelRefused(ACCEPT, "author", "dave") and refused.acceptance is None


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
