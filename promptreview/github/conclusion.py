"""What a CI run concludes, from a `Report` or from a run that produced none: the CI verdict (the accept
label turns a failure into `accepted`), the check run's title, and the job's exit code under `fail-on`.

The words come from `verdicts` (`ci_verdict`, `CONCLUSIONS`) and the exit codes from `exitcodes.for_ci`;
this module only adds the titles. Pure functions: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from promptreview.exitcodes import ExitCode, FailOn, for_ci
from promptreview.github.event import Event
from promptreview.report.document import Acceptance, CISection, ConfigFrom, Report
from promptreview.verdicts import (
    CONCLUSIONS,
    CheckConclusion,
    CIVerdict,
    PromptVerdict,
    ReviewVerdict,
    ci_verdict,
)

TITLE_LIMIT = 200  # the check run's title is one line in GitHub's UI


@dataclass(frozen=True)
class CIResult:
    """The CI verdict of one run, the check run's title, and the job's exit code."""

    verdict: CIVerdict
    title: str
    exit_code: ExitCode
    acceptance: Acceptance | None = None  # set when the accept label decided the verdict
    reason: str | None = None  # a run without a review: one line on why

    @property
    def conclusion(self) -> CheckConclusion:
        return CONCLUSIONS[self.verdict]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def from_report(report: Report, fail_on: FailOn, acceptance: Acceptance | None) -> CIResult:
    """The result of a review that produced a report; `acceptance` is the accept label, if it is on the PR."""
    verdict = ci_verdict(report.verdict, report.warned, accepted=acceptance is not None)
    files = _plural(len(report.reviewed), "prompt file")
    code = for_ci(verdict, fail_on, report.warned)
    if report.verdict is ReviewVerdict.FAIL:
        failed = sum(p.verdict is PromptVerdict.FAIL for p in report.prompts)
        title = f"Regression in {failed} of {files}"
    elif report.verdict is ReviewVerdict.PASS:
        warned = sum(p.verdict is PromptVerdict.WARN for p in report.prompts)
        title = f"No regression in {files}" + (f"; {warned} with warnings" if warned else "")
    elif report.verdict is ReviewVerdict.SKIPPED:
        # a removed (or unchanged renamed) prompt is listed in the report: "nothing changed" would contradict it
        listed = _plural(len(report.prompts), "prompt file")
        title = (
            f"Nothing to run: {listed} removed or renamed, listed"
            if report.prompts
            else "No prompt file changed"
        )
    else:
        title = "No trustworthy verdict: too many model calls failed"
    if verdict is CIVerdict.ACCEPTED and acceptance is not None:
        return CIResult(verdict, f"{title}, accepted{acceptance.by()}", code, acceptance)
    return CIResult(verdict, title, code)


def skipped(title: str, reason: str, fail_on: FailOn) -> CIResult:
    """Nothing was reviewed, and that is fine (a fork pull request without the model's key)."""
    return CIResult(CIVerdict.SKIPPED, title, for_ci(CIVerdict.SKIPPED, fail_on), reason=reason)


def provider_failed(message: str, fail_on: FailOn) -> CIResult:
    return CIResult(
        CIVerdict.ERROR,
        "No verdict: the model provider failed",
        for_ci(CIVerdict.ERROR, fail_on),
        reason=message,
    )


def head_rejected(message: str, fail_on: FailOn) -> CIResult:
    """The provider refuses a request only the head version makes: the change fails (never `error`, which is
    neutral: a pull request could otherwise turn its regression into a passing check with a parameter the
    provider rejects)."""
    title = f"The provider rejects the change: {message}"
    if len(title) > TITLE_LIMIT:
        title = title[: TITLE_LIMIT - 1] + "…"
    return CIResult(CIVerdict.FAIL, title, for_ci(CIVerdict.FAIL, fail_on), reason=message)


def invalid(message: str, fail_on: FailOn) -> CIResult:
    """promptreview could not run: a bad config or prompt file, an unreachable commit, a missing key."""
    title = f"promptreview could not run: {message}"
    if len(title) > TITLE_LIMIT:
        title = title[: TITLE_LIMIT - 1] + "…"
    return CIResult(CIVerdict.INVALID, title, for_ci(CIVerdict.INVALID, fail_on), reason=message)


def acceptance_for(
    event: Event, label: str, lookup: Callable[[], tuple[str | None, str | None]] | None
) -> Acceptance | None:
    """The accept label, with who/when from the `labeled` event itself, else from `lookup` (the PR's
    timeline, which costs a request: called only when the event does not say)."""
    if label not in event.labels:
        return None
    change = event.label_change
    if change and change.action == "labeled" and change.name == label:
        return Acceptance(label, change.actor, change.at)
    actor, at = lookup() if lookup else (None, None)
    return Acceptance(label, actor, at)


def ci_section(result: CIResult, event: Event, config_from: ConfigFrom | None) -> CISection:
    """The report's `ci` section for this result."""
    return CISection(
        verdict=result.verdict,
        conclusion=result.conclusion,
        exit_code=result.exit_code,
        event=event.name,
        pull_request=event.pr_number,
        accepted=result.acceptance if result.verdict is CIVerdict.ACCEPTED else None,
        config_from=config_from,
        reason=result.reason,
    )
