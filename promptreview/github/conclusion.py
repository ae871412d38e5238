"""What a CI run concludes, from a `Report` or from a run that produced none: the CI verdict (the accept
label turns a failure into `accepted`), the check run's title, and the job's exit code under `fail-on`.

The words come from `verdicts` (`ci_verdict`, `check_conclusion`) and the exit codes from `exitcodes.for_ci`;
this module adds the titles and decides whether the accept label counts (`acceptance_for`). Pure functions:
the one question for GitHub (a labeler's permission) is a callable the caller supplies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from promptreview.exitcodes import ExitCode, FailOn, for_ci
from promptreview.github.event import Event
from promptreview.report.document import Acceptance, CISection, ConfigFrom, Report
from promptreview.verdicts import (
    CheckConclusion,
    CIVerdict,
    PromptVerdict,
    ReviewVerdict,
    check_conclusion,
    ci_verdict,
)
from promptreview.vocabulary import LabelRefusal

# the collaborator permission levels (GitHub's `permission`; `maintain` is reported as `write`) that may accept
WRITE_ACCESS = ("admin", "maintain", "write")

TITLE_LIMIT = 200  # the check run's title is one line in GitHub's UI


@dataclass(frozen=True)
class CIResult:
    """The CI verdict of one run, the check run's title, and the job's exit code."""

    verdict: CIVerdict
    title: str
    exit_code: ExitCode
    acceptance: Acceptance | None = None  # set when the accept label decided the verdict
    reason: str | None = None  # a run without a review: one line on why
    refused: LabelRefused | None = None  # the accept label is on the PR but does not count
    fail_closed: bool = True  # False only when the base config says `fail_closed: false`

    @property
    def conclusion(self) -> CheckConclusion:
        return check_conclusion(self.verdict, self.fail_closed)

    @property
    def protects_nothing(self) -> bool:
        """The check ends neutral (GitHub counts it as passing) because the base config opted out."""
        return self.conclusion is CheckConclusion.NEUTRAL


@dataclass(frozen=True)
class LabelRefused:
    """The accept label is on the pull request, but does not accept this head commit, and why."""

    label: str
    reason: LabelRefusal
    actor: str | None = None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def from_report(
    report: Report,
    fail_on: FailOn,
    acceptance: Acceptance | LabelRefused | None,
    fail_closed: bool = True,
) -> CIResult:
    """The result of a review that produced a report; `acceptance` is the accept label when it counts, why
    it does not when it is on the PR but cannot accept this commit, or None."""
    refused = acceptance if isinstance(acceptance, LabelRefused) else None
    label = acceptance if isinstance(acceptance, Acceptance) else None
    verdict = ci_verdict(report.verdict, report.warned, accepted=label is not None)
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
    if verdict is CIVerdict.ACCEPTED and label is not None:
        return CIResult(verdict, f"{title}, accepted{label.by()}", code, label, fail_closed=fail_closed)
    return CIResult(verdict, title, code, refused=refused, fail_closed=fail_closed)


def fork_without_key(env_var: str, reason: str, fail_on: FailOn, fail_closed: bool = True) -> CIResult:
    """A fork pull request without the model's key: nothing was reviewed, and a maintainer must run it."""
    return CIResult(
        CIVerdict.ACTION_REQUIRED,
        f"Not reviewed: fork pull request without {env_var}; a maintainer must run the review",
        for_ci(CIVerdict.ACTION_REQUIRED, fail_on),
        reason=reason,
        fail_closed=fail_closed,
    )


def provider_failed(message: str, fail_on: FailOn, fail_closed: bool = True) -> CIResult:
    return CIResult(
        CIVerdict.ERROR,
        "No verdict: the model provider failed",
        for_ci(CIVerdict.ERROR, fail_on),
        reason=message,
        fail_closed=fail_closed,
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
    event: Event, label: str, permission: Callable[[str], str | None] | None
) -> Acceptance | LabelRefused | None:
    """Whether the accept label accepts this run's head commit: None when the label is not on the PR.

    It counts only on the run of its own `labeled` event, whose payload names the head commit it was applied
    on (a later push starts a run whose head the label was never applied to), only from someone other than
    the pull request's author, and only from someone `permission(login)` says has write access (GitHub's
    collaborator permission; None when it could not be read: then it does not count either).
    """
    if label not in event.labels:
        return None
    change = event.label_change
    if not (change and change.action == "labeled" and change.name == label):
        return LabelRefused(label, "earlier_commit")
    actor = change.actor
    if not actor or not event.author:
        return LabelRefused(label, "unverifiable", actor)
    if actor.casefold() == event.author.casefold():
        return LabelRefused(label, "author", actor)
    level = permission(actor) if permission is not None else None
    if level is None:
        return LabelRefused(label, "unverifiable", actor)
    if level not in WRITE_ACCESS:
        return LabelRefused(label, "no_write_access", actor)
    return Acceptance(label, actor, change.at)


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
