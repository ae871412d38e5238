"""The GitHub Actions event a `promptreview ci` run was started by, as one plain dataclass.

Reads the variables GitHub Actions sets (`GITHUB_EVENT_NAME`, `GITHUB_EVENT_PATH`, `GITHUB_REPOSITORY`,
`GITHUB_SHA`, ...) and the webhook payload; everything promptreview needs later (base and head SHAs, the
pull request, fork or not, labels, who added the accept label and when) is taken from here, never from
the working tree. Reads only the environment it is given and the payload file; no output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from promptreview.errors import UsageError
from promptreview.vocabulary import one_of

# pull_request actions that (re)review; `closed` and the rest exit at once
REVIEW_ACTIONS = ("opened", "synchronize", "reopened", "labeled", "unlabeled", "edited", "ready_for_review")
SUPPORTED_EVENTS = ("pull_request", "pull_request_target", "merge_group", "workflow_dispatch")
DEFAULT_ACCEPT_LABEL = "promptreview/accept"

LabelAction = Literal["labeled", "unlabeled"]
LABEL_ACTIONS: tuple[LabelAction, ...] = get_args(LabelAction)


@dataclass(frozen=True)
class LabelChange:
    """A `labeled` / `unlabeled` event: which label, who, when."""

    action: LabelAction
    name: str
    actor: str | None
    at: str | None  # ISO 8601


@dataclass(frozen=True)
class Event:
    name: str  # GITHUB_EVENT_NAME
    action: str | None
    repository: str  # owner/name of the repository the workflow runs in (the PR's base repository)
    base_sha: str | None
    head_sha: str | None
    base_ref: str | None = None
    head_ref: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    head_repository: str | None = None  # owner/name of the PR's head repository (None: deleted fork)
    fork: bool = False
    labels: tuple[str, ...] = ()
    label_change: LabelChange | None = None
    sender: str | None = None
    author: str | None = None  # who opened the pull request (the accept label never counts from them)
    updated_at: str | None = None
    default_branch: str | None = None
    skip_reason: str | None = None  # set when this event is not one promptreview reviews

    @property
    def owner_repo(self) -> tuple[str, str]:
        owner, _, repo = self.repository.partition("/")
        return owner, repo


def load_event(env: Mapping[str, str]) -> Event:
    """The event of the current workflow run, from the environment GitHub Actions provides."""
    name = env.get("GITHUB_EVENT_NAME", "").strip()
    if not name:
        raise UsageError(
            "GITHUB_EVENT_NAME is not set: 'promptreview ci' runs inside GitHub Actions; "
            "on your machine use 'promptreview check'"
        )
    path = env.get("GITHUB_EVENT_PATH", "").strip()
    if not path:
        raise UsageError("GITHUB_EVENT_PATH is not set: 'promptreview ci' needs the webhook payload file")
    try:
        payload = json.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        raise UsageError(f"GITHUB_EVENT_PATH {path!r} does not exist") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"GITHUB_EVENT_PATH {path!r} is not a readable JSON payload ({exc})") from None
    if not isinstance(payload, dict):
        raise UsageError(f"GITHUB_EVENT_PATH {path!r}: the payload must be a JSON object")
    return parse_event(name, payload, env)


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _repository(payload: dict[str, Any], env: Mapping[str, str]) -> str:
    repo = env.get("GITHUB_REPOSITORY") or _get(payload, "repository", "full_name")
    if not repo or "/" not in repo:
        raise UsageError("GITHUB_REPOSITORY is not set (expected owner/name)")
    return str(repo)


def parse_event(name: str, payload: dict[str, Any], env: Mapping[str, str] | None = None) -> Event:
    env = env or {}
    if name in ("pull_request", "pull_request_target"):
        return _pull_request(name, payload, env)
    if name == "merge_group":
        return _merge_group(payload, env)
    if name == "workflow_dispatch":
        return _workflow_dispatch(payload, env)
    return Event(
        name=name,
        action=payload.get("action"),
        repository=_repository(payload, env),
        base_sha=None,
        head_sha=None,
        skip_reason=(
            f"the {name!r} event is not one promptreview reviews (supported: {', '.join(SUPPORTED_EVENTS)})"
        ),
    )


def _pull_request(name: str, payload: dict[str, Any], env: Mapping[str, str]) -> Event:
    pr = payload.get("pull_request")
    if not isinstance(pr, dict):
        raise UsageError(f"the {name} payload has no 'pull_request' object")
    action = payload.get("action")
    base_sha, head_sha = _get(pr, "base", "sha"), _get(pr, "head", "sha")
    if not base_sha or not head_sha:
        raise UsageError(f"the {name} payload lacks pull_request.base.sha or pull_request.head.sha")
    base_repo = _get(pr, "base", "repo", "full_name")
    head_repo = _get(pr, "head", "repo", "full_name")
    # a fork: the head lives in another repository (or in a fork that has since been deleted)
    fork = (
        head_repo is None
        or (base_repo is not None and head_repo != base_repo)
        or (_get(pr, "head", "repo", "fork") is True and _get(pr, "base", "repo", "fork") is not True)
    )
    labels = [
        str(label.get("name"))
        for label in pr.get("labels") or []
        if isinstance(label, dict) and label.get("name")
    ]
    change = None
    label_action = one_of(action, LABEL_ACTIONS)
    if label_action is not None and isinstance(payload.get("label"), dict):
        change = LabelChange(
            action=label_action,
            name=str(payload["label"].get("name")),
            actor=_get(payload, "sender", "login"),
            at=pr.get("updated_at"),
        )
        # the event's own label change wins over a stale label list
        if action == "labeled" and change.name not in labels:
            labels.append(change.name)
        if action == "unlabeled":
            labels = [label for label in labels if label != change.name]
    skip = None
    changes = payload.get("changes")
    if action not in REVIEW_ACTIONS:
        skip = f"pull_request action {action!r} needs no review (reviewed on: {', '.join(REVIEW_ACTIONS)})"
    elif action == "edited" and isinstance(changes, dict) and "base" not in changes:
        # only a title or body changed: nothing reviewed did (a retarget names `changes.base`, and is reviewed
        # against the new base the payload's pull_request.base already holds; a payload without `changes` too)
        skip = "the pull request's title or body was edited; its base and head are the same"
    elif pr.get("state") == "closed":
        skip = "the pull request is closed"
    number = payload.get("number", pr.get("number"))
    return Event(
        name=name,
        action=action,
        repository=_repository(payload, env),
        base_sha=str(base_sha),
        head_sha=str(head_sha),
        base_ref=_get(pr, "base", "ref"),
        head_ref=_get(pr, "head", "ref"),
        pr_number=int(number) if number is not None else None,
        pr_url=pr.get("html_url"),
        head_repository=head_repo,
        fork=fork,
        labels=tuple(labels),
        label_change=change,
        sender=_get(payload, "sender", "login"),
        author=_get(pr, "user", "login"),
        updated_at=pr.get("updated_at"),
        default_branch=_get(payload, "repository", "default_branch"),
        skip_reason=skip,
    )


def _merge_group(payload: dict[str, Any], env: Mapping[str, str]) -> Event:
    group = payload.get("merge_group")
    if not isinstance(group, dict):
        raise UsageError("the merge_group payload has no 'merge_group' object")
    action = payload.get("action")
    base_sha, head_sha = group.get("base_sha"), group.get("head_sha")
    if not base_sha or not head_sha:
        raise UsageError("the merge_group payload lacks merge_group.base_sha or merge_group.head_sha")
    skip = None if action in (None, "checks_requested") else f"merge_group action {action!r} needs no review"
    return Event(
        name="merge_group",
        action=action,
        repository=_repository(payload, env),
        base_sha=str(base_sha),
        head_sha=str(head_sha),
        base_ref=group.get("base_ref"),
        head_ref=group.get("head_ref"),
        sender=_get(payload, "sender", "login"),
        default_branch=_get(payload, "repository", "default_branch"),
        skip_reason=skip,
    )


def _workflow_dispatch(payload: dict[str, Any], env: Mapping[str, str]) -> Event:
    """Manual runs: optional `base` / `head` inputs; head defaults to the run's commit (GITHUB_SHA), base
    to the default branch (resolved against git later). A `pull-request` input (the maintainer-triggered run
    of a fork pull request, docs/github.md) names the pull request the comment goes to; the check goes on
    `head`, which must then be the full SHA the maintainer looked at."""
    inputs = payload.get("inputs") or {}
    head = inputs.get("head") or env.get("GITHUB_SHA") or None
    base = inputs.get("base") or None
    default_branch = _get(payload, "repository", "default_branch")
    number = str(inputs.get("pull-request") or "").strip().lstrip("#")
    if number and not number.isdigit():
        raise UsageError(f"workflow_dispatch: the pull-request input must be a number, not {number[:40]!r}")
    if number and not (inputs.get("head") and re.fullmatch(r"[0-9a-f]{40}", str(inputs["head"]))):
        raise UsageError(
            "workflow_dispatch: with pull-request, pass head as the full 40-character SHA you reviewed, "
            "so a later push is not reviewed under your name"
        )
    return Event(
        name="workflow_dispatch",
        action=None,
        repository=_repository(payload, env),
        base_sha=str(base) if base else None,
        head_sha=str(head) if head else None,
        base_ref=str(base) if base else default_branch,
        head_ref=payload.get("ref"),
        pr_number=int(number) if number else None,
        sender=_get(payload, "sender", "login"),
        default_branch=default_branch,
    )
