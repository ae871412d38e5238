"""What a CI run concludes: the effective verdict (an accept label turns `fail` into `accepted`), the check
run's conclusion and title, and the job's exit code under `fail-on`. Pure functions, no I/O.

| verdict    | check run  | exit (fail-on regression / warning / never) |
|------------|------------|---------------------------------------------|
| pass       | success    | 0 / 1 if any prompt warns / 0               |
| fail       | failure    | 1 / 1 / 0                                   |
| accepted   | success    | 0 / 0 / 0                                   |
| skipped    | neutral    | 0 (nothing changed, fork without a key)     |
| error      | neutral    | 3 / 3 / 0 (provider failed: not a pass)     |
| invalid    | failure    | 2 / 2 / 0 (bad config or prompt file)       |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FAIL_ON = ("regression", "warning", "never")
CONCLUSIONS = {
    "pass": "success",
    "accepted": "success",
    "fail": "failure",
    "invalid": "failure",
    "skipped": "neutral",
    "error": "neutral",
}


@dataclass(frozen=True)
class Acceptance:
    """The accept label on the PR, and who added it when (from the event, or the issue's events)."""

    label: str
    actor: str | None = None
    at: str | None = None

    def by(self) -> str:
        who = f" by {self.actor}" if self.actor else ""
        when = f" on {self.at.replace('T', ' ').replace('Z', ' UTC')}" if self.at else ""
        return f"{who}{when}"


@dataclass
class Outcome:
    verdict: str  # pass | fail | accepted | skipped | error | invalid
    conclusion: str  # success | failure | neutral
    title: str
    exit_code: int
    acceptance: Acceptance | None = None
    reason: str | None = None  # for skipped / error / invalid: one line on why


def exit_code(verdict: str, fail_on: str, warned: bool = False) -> int:
    if fail_on == "never":
        return 0
    if verdict == "fail":
        return 1
    if verdict == "pass" and warned and fail_on == "warning":
        return 1
    if verdict == "error":
        return 3
    if verdict == "invalid":
        return 2
    return 0


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def from_report(report: dict[str, Any], fail_on: str, acceptance: Acceptance | None) -> Outcome:
    """The outcome of a review that produced a report (`Report.to_json()`)."""
    prompts = report.get("prompts") or []
    reviewed = [p for p in prompts if p.get("change") != "removed"]
    failed = [p for p in prompts if p.get("verdict") == "fail"]
    warned = [p for p in prompts if p.get("verdict") == "warn"]
    verdict = report.get("verdict", "error")
    files = _plural(len(reviewed), "prompt file")
    if verdict == "fail" and acceptance is not None:
        title = f"Regression in {len(failed)} of {files}, accepted{acceptance.by()}"
        return Outcome("accepted", "success", title, 0, acceptance)
    if verdict == "fail":
        title = f"Regression in {len(failed)} of {files}"
        return Outcome("fail", "failure", title, exit_code("fail", fail_on))
    if verdict == "pass":
        title = f"No regression in {files}" + (f"; {len(warned)} with warnings" if warned else "")
        if warned and acceptance is not None:
            return Outcome("accepted", "success", title + f", accepted{acceptance.by()}", 0, acceptance)
        return Outcome("pass", "success", title, exit_code("pass", fail_on, bool(warned)))
    if verdict == "skipped":
        return Outcome("skipped", "neutral", "No prompt file changed", 0, reason="no prompt change")
    return Outcome(
        "error",
        "neutral",
        "No trustworthy verdict: too many model calls failed",
        exit_code("error", fail_on),
        reason="model calls failed",
    )


def skipped(title: str, reason: str) -> Outcome:
    return Outcome("skipped", "neutral", title, 0, reason=reason)


def provider_failed(message: str, fail_on: str) -> Outcome:
    return Outcome(
        "error",
        "neutral",
        "No verdict: the model provider failed",
        exit_code("error", fail_on),
        reason=message,
    )


def invalid(message: str, fail_on: str) -> Outcome:
    title = f"promptreview could not run: {message}"
    return Outcome(
        "invalid",
        "failure",
        title if len(title) <= 200 else title[:199] + "…",
        exit_code("invalid", fail_on),
        reason=message,
    )
