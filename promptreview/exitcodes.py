"""Every exit code promptreview uses, and the one table from outcomes to codes.

The front-ends (`cli`, `github`) ask this module; nothing else decides a process's exit code.

| code | meaning |
|---|---|
| 0 | pass, or nothing to review (`--plan` always: it reviews nothing) |
| 1 | a gate failed: a significant regression whose estimate exceeds its margin; or the provider refuses a request only the head version makes |
| 2 | bad usage, config or input |
| 3 | the model provider could not be reached or failed too often for a trustworthy verdict |
| 4 | an unexpected crash (a bug in promptreview); the traceback is in a log file |
| 130 | interrupted (Ctrl-C); completed calls are cached |

In CI, `fail-on` decides which verdicts fail the job:

| CI verdict | regression | warning | never |
|---|---|---|---|
| pass | 0 | 1 if a prompt warns, else 0 | 0 |
| fail | 1 | 1 | 0 |
| accepted, skipped | 0 | 0 | 0 |
| error | 3 | 3 | 0 |
| invalid | 2 | 2 | 0 |
| action_required (a fork without the model's key) | 2 | 2 | 0 |
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal, get_args

from promptreview.errors import HeadRejected, PromptReviewError, ProviderError
from promptreview.verdicts import CIVerdict, ReviewVerdict

FailOn = Literal["regression", "warning", "never"]
FAIL_ON: tuple[FailOn, ...] = get_args(FailOn)


class ExitCode(IntEnum):
    OK = 0
    REGRESSION = 1
    BAD_INPUT = 2
    PROVIDER = 3
    CRASH = 4
    INTERRUPTED = 130


REVIEW: dict[ReviewVerdict, ExitCode] = {
    ReviewVerdict.PASS: ExitCode.OK,
    ReviewVerdict.SKIPPED: ExitCode.OK,
    ReviewVerdict.FAIL: ExitCode.REGRESSION,
    ReviewVerdict.ERROR: ExitCode.PROVIDER,
}

CI: dict[CIVerdict, ExitCode] = {
    CIVerdict.PASS: ExitCode.OK,
    CIVerdict.ACCEPTED: ExitCode.OK,
    CIVerdict.SKIPPED: ExitCode.OK,
    CIVerdict.FAIL: ExitCode.REGRESSION,
    CIVerdict.ERROR: ExitCode.PROVIDER,
    CIVerdict.INVALID: ExitCode.BAD_INPUT,
    # the key is missing, as on a same-repository pull request; a maintainer must run the review
    CIVerdict.ACTION_REQUIRED: ExitCode.BAD_INPUT,
}


def for_review(verdict: ReviewVerdict, planned_only: bool = False) -> ExitCode:
    return ExitCode.OK if planned_only else REVIEW[verdict]


def for_error(exc: PromptReviewError) -> ExitCode:
    """An expected failure: the provider's (3), a head request the provider refuses (1: the change fails), or
    bad usage, config or input (2)."""
    if isinstance(exc, HeadRejected):
        return ExitCode.REGRESSION
    return ExitCode.PROVIDER if isinstance(exc, ProviderError) else ExitCode.BAD_INPUT


def for_ci(verdict: CIVerdict, fail_on: FailOn, warned: bool = False) -> ExitCode:
    """The job's exit code under `fail-on` (the check run carries the verdict whatever this says)."""
    if fail_on not in FAIL_ON:  # a caller the type checker does not see
        raise ValueError(f"fail-on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    if fail_on == "never":
        return ExitCode.OK
    if verdict is CIVerdict.PASS and warned and fail_on == "warning":
        return ExitCode.REGRESSION
    return CI[verdict]
