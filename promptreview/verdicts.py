"""The three verdict vocabularies, one enum per level, and the one mapping between the levels.

- `PromptVerdict`: one prompt file's review (a gate failed, a shift worth a look, no trustworthy numbers).
- `ReviewVerdict`: the whole review, what `check`/`compare` report and the JSON report's top-level `verdict`.
- `CIVerdict`: what a `ci` run concludes once the accept label and report-less runs (a fork without a key,
  a bad config) are taken into account; `CheckConclusion` is the check run's conclusion for it, never
  `neutral` unless the base config says `fail_closed: false` (`check_conclusion`).

Each member's value is the word the JSON report, the PR comment and the step outputs use.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class _Word(str, Enum):
    """A vocabulary word: compares equal to its value and prints as it (on every Python we support)."""

    def __str__(self) -> str:
        return str(self.value)

    # Enum hashes by member name; a word must hash like the string it equals, or `{"pass": ...}[word]` misses
    __hash__ = str.__hash__


class PromptVerdict(_Word):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"


class ReviewVerdict(_Word):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"


class CIVerdict(_Word):
    PASS = "pass"
    FAIL = "fail"
    ACCEPTED = "accepted"  # a failing (or warning) review that the accept label lets through
    SKIPPED = "skipped"
    ERROR = "error"  # no trustworthy verdict: the provider failed
    INVALID = "invalid"  # promptreview could not run: bad config, prompt file or event
    # nothing was reviewed and a person must act: a fork pull request without the model's key
    ACTION_REQUIRED = "action_required"


class CheckConclusion(_Word):
    SUCCESS = "success"
    FAILURE = "failure"
    ACTION_REQUIRED = "action_required"
    NEUTRAL = "neutral"  # only where the base config opts out of failing closed (`fail_closed: false`)


_SEVERITY = {PromptVerdict.PASS: 0, PromptVerdict.WARN: 1, PromptVerdict.FAIL: 2, PromptVerdict.ERROR: 3}


def worse(a: PromptVerdict, b: PromptVerdict) -> PromptVerdict:
    """The more severe of two prompt verdicts (error > fail > warn > pass)."""
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


def worst(verdicts: Iterable[PromptVerdict]) -> PromptVerdict:
    out = PromptVerdict.PASS
    for verdict in verdicts:
        out = worse(out, verdict)
    return out


def review_verdict(prompts: Iterable[PromptVerdict], reviewed: bool) -> ReviewVerdict:
    """The review's verdict from its prompts' verdicts: the worst one, where a warning is still a pass.

    `reviewed` is False when nothing ran (no prompt file covered by the config changed): `skipped`.
    """
    if not reviewed:
        return ReviewVerdict.SKIPPED
    return {
        PromptVerdict.PASS: ReviewVerdict.PASS,
        PromptVerdict.WARN: ReviewVerdict.PASS,
        PromptVerdict.FAIL: ReviewVerdict.FAIL,
        PromptVerdict.ERROR: ReviewVerdict.ERROR,
    }[worst(prompts)]


def acceptable(review: ReviewVerdict, warned: bool) -> bool:
    """Whether an accept label can change what CI concludes: a failure, or a pass with warnings."""
    return review is ReviewVerdict.FAIL or (review is ReviewVerdict.PASS and warned)


def ci_verdict(review: ReviewVerdict, warned: bool, accepted: bool) -> CIVerdict:
    """What CI concludes from a review: the accept label turns an acceptable review into `accepted`;
    everything else keeps the review's word."""
    if accepted and acceptable(review, warned):
        return CIVerdict.ACCEPTED
    return CIVerdict(review.value)


CONCLUSIONS: dict[CIVerdict, CheckConclusion] = {
    CIVerdict.PASS: CheckConclusion.SUCCESS,
    CIVerdict.ACCEPTED: CheckConclusion.SUCCESS,
    # no prompt file the config covers changed: nothing to review is a pass (DESIGN: exit 0)
    CIVerdict.SKIPPED: CheckConclusion.SUCCESS,
    CIVerdict.FAIL: CheckConclusion.FAILURE,
    CIVerdict.INVALID: CheckConclusion.FAILURE,
    # GitHub counts `neutral` as passing a required check, so a run that could not review fails closed
    CIVerdict.ERROR: CheckConclusion.FAILURE,
    CIVerdict.ACTION_REQUIRED: CheckConclusion.ACTION_REQUIRED,
}

UNREVIEWED: frozenset[CIVerdict] = frozenset({CIVerdict.ERROR, CIVerdict.ACTION_REQUIRED})
"""The verdicts of a run that reviewed nothing it should have: the ones `fail_closed: false` turns neutral."""


def check_conclusion(verdict: CIVerdict, fail_closed: bool = True) -> CheckConclusion:
    """The check run's conclusion: never `neutral` (a merge path for a required check) unless the base
    config opted out of failing closed, and then only for a run that could not review."""
    if not fail_closed and verdict in UNREVIEWED:
        return CheckConclusion.NEUTRAL
    return CONCLUSIONS[verdict]
