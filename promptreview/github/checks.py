"""The status check: a check run (annotations in batches of 50), or a commit status when check runs are
not permitted (a personal access token, a workflow without `checks: write`).

Also the text of the check from the JSON report: which gates failed, per prompt file, as annotations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from github import GithubException
from github.Repository import Repository

from promptreview.github.api import describe

MAX_ANNOTATIONS_PER_REQUEST = 50
MAX_TEXT = 65535  # output.summary / output.text
MAX_STATUS_DESCRIPTION = 140
# a commit status has no "neutral": neutral (skipped, fork, infrastructure) does not block, like success
STATUS_STATES = {"success": "success", "failure": "failure", "neutral": "success"}
RATE_NAMES = {
    "parse_failure": "parse failures",
    "schema_violation": "schema violations",
    "refusal": "refusals",
}


@dataclass
class CheckSpec:
    name: str
    head_sha: str
    conclusion: str  # success | failure | neutral
    title: str
    summary: str
    text: str | None = None
    annotations: list[dict[str, Any]] = field(default_factory=list)
    details_url: str | None = None
    external_id: str | None = None


@dataclass
class CheckResult:
    kind: str  # check_run | status | none
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
            conclusion=spec.conclusion,
            completed_at=datetime.now(timezone.utc),
            output=_output(spec, batches[0]),
            **kwargs,
        )
    except GithubException as exc:
        reason = f"check run not permitted ({describe(exc)})"
        if not allow_status_fallback or exc.status not in (401, 403, 404):
            return CheckResult("none", detail=reason)
        return _status_fallback(repo, spec, reason)
    sent = len(batches[0])
    follow_up = repo.get_check_run(run.id) if len(batches) > 1 else None  # lazy: URL from our base URL
    for batch in batches[1:]:
        assert follow_up is not None
        try:
            follow_up.edit(output=_output(spec, batch))
        except GithubException as exc:
            return CheckResult(
                "check_run", run.html_url, run.id, sent, f"annotations stopped after {sent}: {describe(exc)}"
            )
        sent += len(batch)
    return CheckResult("check_run", run.html_url, run.id, sent)


def _status_fallback(repo: Repository, spec: CheckSpec, reason: str) -> CheckResult:
    state = STATUS_STATES[spec.conclusion]
    description = spec.title if spec.conclusion != "neutral" else f"neutral: {spec.title}"
    kwargs: dict[str, Any] = {"description": _cut(description, MAX_STATUS_DESCRIPTION), "context": spec.name}
    if spec.details_url:
        kwargs["target_url"] = spec.details_url
    try:
        status = repo.get_commit(spec.head_sha).create_status(state, **kwargs)  # get_commit is lazy
    except GithubException as exc:
        return CheckResult("none", detail=f"{reason}; commit status not permitted either ({describe(exc)})")
    return CheckResult("status", status.target_url, status.id, 0, f"{reason}: set a commit status instead")


# -- the check's words, from the JSON report ------------------------------------------------------------


def _pct(value: Any) -> str:
    return "–" if not isinstance(value, (int, float)) else f"{value * 100:.1f}%"


def gate_failures(prompt: dict[str, Any], levels: tuple[str, ...] = ("fail",)) -> list[str]:
    """One line per gate at `levels` for one prompt of the JSON report."""
    lines = []
    for name, rate in (prompt.get("rates") or {}).items():
        if not isinstance(rate, dict) or rate.get("gate") not in levels:
            continue
        p = rate.get("p_adjusted", rate.get("p_value"))
        p_text = "" if not isinstance(p, (int, float)) else (" (p<0.001)" if p < 0.001 else f" (p={p:.3f})")
        limit = rate.get("max_increase")
        limit_text = f", allowed +{limit * 100:.1f} pp" if isinstance(limit, (int, float)) else ""
        delta = rate.get("delta")
        delta_text = f"{delta * 100:+.1f} pp" if isinstance(delta, (int, float)) else "changed"
        lines.append(
            f"{RATE_NAMES.get(name, name.replace('_', ' '))}: {_pct(rate.get('base'))} → "
            f"{_pct(rate.get('head'))} ({delta_text}{p_text}{limit_text})"
        )
    flip = prompt.get("flip_rate") or {}
    if isinstance(flip, dict) and flip.get("gate") in levels:
        lines.append(
            f"answers changed on {_pct(flip.get('head_vs_base'))} of inputs (noise floor {_pct(flip.get('noise_floor'))})"
        )
    return lines


def annotations_for(
    report: dict[str, Any], lines: dict[str, int], accepted: bool = False
) -> list[dict[str, Any]]:
    """One annotation per reviewed prompt file, at the first changed line (`lines`: path -> line)."""
    out = []
    for prompt in report.get("prompts") or []:
        path, verdict = prompt.get("path"), prompt.get("verdict")
        if not path or prompt.get("change") == "removed":
            continue
        line = max(int(lines.get(path, 1)), 1)
        failures = gate_failures(prompt, ("fail",))
        warnings = gate_failures(prompt, ("warn",))
        if verdict == "fail":
            level = "warning" if accepted else "failure"
            title = "promptreview: regression" + (" (accepted)" if accepted else "")
            message = "\n".join(failures) or "a gate failed"
        elif verdict == "warn":
            level, title = "warning", "promptreview: warning"
            message = "\n".join(warnings) or "a shift worth a look"
        elif verdict == "error":
            level, title = "warning", "promptreview: no trustworthy verdict"
            message = "; ".join(str(w) for w in prompt.get("warnings") or []) or "the model calls failed"
        else:
            level, title = "notice", "promptreview: no significant regression"
            message = f"reviewed on {prompt.get('n_inputs', 0)} inputs × {prompt.get('samples', 0)} samples"
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
