"""The status check: a check run (annotations in batches of 50), or a commit status when check runs are
not permitted (a personal access token, a workflow without `checks: write`).

Also the check's words from the typed `Report`: which gates failed, per prompt file, as annotations.
Network only through PyGithub; failures come back in a `CheckResult`, never printed or raised.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from github import GithubException
from github.Repository import Repository

from promptreview.github.api import describe
from promptreview.report.document import PromptReport, Report
from promptreview.report.notes import RATE_LABELS, words
from promptreview.report.quality import evaluator_label
from promptreview.verdicts import CheckConclusion, PromptVerdict

MAX_ANNOTATIONS_PER_REQUEST = 50
MAX_TEXT = 65535  # output.summary / output.text
MAX_STATUS_DESCRIPTION = 140
# a commit status has neither "action_required" (it blocks: failure) nor "neutral" (which the base config asked
# for with `fail_closed: false`: it does not block, like success)
STATUS_STATES: dict[CheckConclusion, Literal["success", "failure"]] = {
    CheckConclusion.SUCCESS: "success",
    CheckConclusion.FAILURE: "failure",
    CheckConclusion.ACTION_REQUIRED: "failure",
    CheckConclusion.NEUTRAL: "success",
}


@dataclass
class CheckSpec:
    name: str
    head_sha: str
    conclusion: CheckConclusion
    title: str
    summary: str
    text: str | None = None
    annotations: list[dict[str, Any]] = field(default_factory=list)
    details_url: str | None = None
    external_id: str | None = None


@dataclass
class CheckResult:
    kind: Literal["check_run", "status", "none"]  # what was posted: a check run, a commit status, nothing
    url: str | None = None
    check_id: int | None = None
    annotations: int = 0
    detail: str | None = None  # why it fell back, or why nothing was posted


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _output(spec: CheckSpec, annotations: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"title": _cut(spec.title, 255), "summary": _cut(spec.summary, MAX_TEXT)}
    if spec.text:
        out["text"] = _cut(spec.text, MAX_TEXT)
    if annotations:
        out["annotations"] = annotations
    return out


def publish_check(repo: Repository, spec: CheckSpec, *, allow_status_fallback: bool = True) -> CheckResult:
    """Create a completed check run; more than 50 annotations go in follow-up PATCHes (GitHub appends)."""
    batches = [
        spec.annotations[i : i + MAX_ANNOTATIONS_PER_REQUEST]
        for i in range(0, len(spec.annotations), MAX_ANNOTATIONS_PER_REQUEST)
    ] or [[]]
    kwargs: dict[str, Any] = {}
    if spec.details_url:
        kwargs["details_url"] = spec.details_url
    if spec.external_id:
        kwargs["external_id"] = spec.external_id
    try:
        run = repo.create_check_run(
            name=spec.name,
            head_sha=spec.head_sha,
            status="completed",
            conclusion=str(spec.conclusion),
            completed_at=datetime.now(timezone.utc),
            output=_output(spec, batches[0]),
            **kwargs,
        )
    except Exception as exc:  # noqa: BLE001 (an API outage of any kind: the commit status is the fallback)
        denied = isinstance(exc, GithubException) and exc.status in (401, 403, 404)
        reason = f"check run {'not permitted' if denied else 'failed'} ({describe(exc)})"
        if not allow_status_fallback:
            return CheckResult("none", detail=reason)
        return _status_fallback(repo, spec, reason)
    sent = len(batches[0])
    follow_up = repo.get_check_run(run.id) if len(batches) > 1 else None  # lazy: URL from our base URL
    for batch in batches[1:]:
        assert follow_up is not None
        try:
            follow_up.edit(output=_output(spec, batch))
        except Exception as exc:  # noqa: BLE001
            return CheckResult(
                "check_run", run.html_url, run.id, sent, f"annotations stopped after {sent}: {describe(exc)}"
            )
        sent += len(batch)
    return CheckResult("check_run", run.html_url, run.id, sent)


def _status_fallback(repo: Repository, spec: CheckSpec, reason: str) -> CheckResult:
    state = STATUS_STATES[spec.conclusion]
    prefix = {CheckConclusion.NEUTRAL: "neutral: ", CheckConclusion.ACTION_REQUIRED: "action required: "}
    description = prefix.get(spec.conclusion, "") + spec.title
    kwargs: dict[str, Any] = {"description": _cut(description, MAX_STATUS_DESCRIPTION), "context": spec.name}
    if spec.details_url:
        kwargs["target_url"] = spec.details_url
    try:
        status = repo.get_commit(spec.head_sha).create_status(state, **kwargs)  # get_commit is lazy
    except Exception as exc:  # noqa: BLE001
        return CheckResult("none", detail=f"{reason}; commit status not permitted either ({describe(exc)})")
    return CheckResult("status", status.target_url, status.id, 0, f"{reason}: set a commit status instead")


# -- the check's words, from the report -----------------------------------------------------------------


def _number(value: float | None) -> float | None:
    """A number worth printing: the JSON report has no NaN, and neither do these words."""
    return value if value is not None and math.isfinite(value) else None


def _pct(value: float | None) -> str:
    number = _number(value)
    return "–" if number is None else f"{number * 100:.1f}%"


def gate_failures(
    prompt: PromptReport, levels: tuple[PromptVerdict, ...] = (PromptVerdict.FAIL,)
) -> list[str]:
    """One line per gated rate whose gate decided one of `levels`, for one prompt of the report.

    The flip rate's gate is not listed: its finding is already one of the prompt's warnings.
    """
    lines = []
    for name, rate in prompt.rates.items():
        if rate.gate is None or rate.gate not in levels:
            continue
        p = _number(rate.p_adjusted)
        p_text = "" if p is None else (" (p<0.001)" if p < 0.001 else f" (p={p:.3f})")
        limit = _number(rate.max_increase)
        limit_text = "" if limit is None else f", allowed +{limit * 100:.1f} pp"
        delta = _number(rate.delta)
        delta_text = "changed" if delta is None else f"{delta * 100:+.1f} pp"
        lines.append(
            f"{RATE_LABELS.get(name, name)} rate: {_pct(rate.base)} → "
            f"{_pct(rate.head)} ({delta_text}{p_text}{limit_text})"
        )
    for check in prompt.evaluators:  # quality checks: a decrease is their regression
        if check.gate is None or check.gate not in levels:
            continue
        p = _number(check.p_adjusted)
        delta = _number(check.delta)
        if check.units == "rate":
            sides = f"{_pct(check.base)} → {_pct(check.head)}"
            change = "changed" if delta is None else f"{delta * 100:+.1f} pp"
        else:
            sides = (
                f"{check.base:.3g} → {check.head:.3g}"
                if check.base is not None and check.head is not None
                else "–"
            )
            change = "changed" if delta is None else f"{delta:+.3g}"
        p_text = "" if p is None else (", p<0.001" if p < 0.001 else f", p={p:.3f}")
        lines.append(f"{evaluator_label(check)}: {sides} ({change}{p_text})")
    return lines


AnnotationLevel = Literal["notice", "warning", "failure"]


def headline(verdict: PromptVerdict, accepted: bool) -> tuple[AnnotationLevel, str]:
    """(annotation level, title) for a prompt's verdict: a check annotation's level (`failure`, `warning`,
    `notice`); a workflow command says `error` where an annotation says `failure`."""
    if verdict is PromptVerdict.FAIL:
        return ("warning" if accepted else "failure"), "promptreview: regression" + (
            " (accepted)" if accepted else ""
        )
    if verdict is PromptVerdict.WARN:
        return "warning", "promptreview: warning"
    if verdict is PromptVerdict.ERROR:
        return "warning", "promptreview: no trustworthy verdict"
    return "notice", "promptreview: no significant regression"


def annotations_for(report: Report, lines: Mapping[str, int], accepted: bool = False) -> list[dict[str, Any]]:
    """One annotation per reviewed prompt file, at the first changed line (`lines`: path -> line)."""
    out = []
    for prompt in report.prompts:
        path, verdict = prompt.path, prompt.verdict
        if not path or prompt.change == "removed":
            continue
        line = max(int(lines.get(path, 1)), 1)
        level, title = headline(verdict, accepted)
        if verdict is PromptVerdict.FAIL:
            message = "\n".join(gate_failures(prompt, (PromptVerdict.FAIL,))) or "a gate failed"
        elif verdict is PromptVerdict.WARN:
            message = "\n".join(gate_failures(prompt, (PromptVerdict.WARN,))) or "a shift worth a look"
        elif verdict is PromptVerdict.ERROR:
            message = "; ".join(words(w) for w in prompt.warnings) or "the model calls failed"
        else:
            message = f"reviewed on {prompt.n_inputs} inputs × {prompt.samples} samples"
        out.append(
            {
                "path": path,
                "start_line": line,
                "end_line": line,
                "annotation_level": level,
                "title": _cut(title, 255),
                "message": _cut(message, 60000),
            }
        )
    return out
