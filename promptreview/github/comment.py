"""The sticky PR comment: one per pull request and check name, found by a hidden marker, edited every run.

- `marker(key, verdict)` is an HTML comment on the body's first line; it names the check (so two
  promptreview workflows keep two comments) and the verdict it showed (to notice a change).
- `fit_comment` keeps a body under GitHub's 65,536-character limit: first the examples go, then the
  report is cut at a line boundary (open `<details>` and code fences closed), always keeping the verdict
  heading and the rate tables that come first, and pointing at the full report in the job summary.
- `publish_sticky` edits the existing comment, or creates one (only when asked to: a PR whose prompts
  are unchanged gets no new comment). A comment deleted meanwhile is re-created; a comment a maintainer
  hid (minimized) is edited in place while the verdict is the same and re-posted, visibly, when it changes.

Network only through PyGithub; a failure comes back in a `CommentResult`, never printed or raised.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from github import GithubException
from github.IssueComment import IssueComment
from github.Repository import Repository

from promptreview.github.api import describe

COMMENT_LIMIT = 65536
SAFE_LIMIT = COMMENT_LIMIT - 536  # headroom: GitHub counts some characters differently from Python
MARKER_PREFIX = "<!-- promptreview:sticky"
_MARKER_RE = re.compile(
    r"<!-- promptreview:sticky key=(?P<key>[A-Za-z0-9._/-]+)(?: verdict=(?P<verdict>[a-z]+))? -->"
)
_MAX_PAGES = 50  # 5,000 comments


def marker_key(check_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._/-]+", "-", check_name).strip("-") or "promptreview"


def marker(key: str, verdict: str) -> str:
    return f"{MARKER_PREFIX} key={marker_key(key)} verdict={re.sub('[^a-z]', '', verdict)} -->"


def read_marker(body: str | None) -> tuple[str, str | None] | None:
    """(key, verdict) when the body's first line is a promptreview marker."""
    if not body:
        return None
    first = body.lstrip().split("\n", 1)[0]
    m = _MARKER_RE.match(first)
    return (m.group("key"), m.group("verdict")) if m else None


# -- fitting --------------------------------------------------------------------------------------------


def _close_open_blocks(text: str) -> str:
    """Close what a cut left open: a code fence, `<details>` blocks."""
    fence: str | None = None
    for line in text.split("\n"):
        m = re.match(r"^ {0,3}(`{3,}|~{3,})", line)
        if m:
            run = m.group(1)
            if fence is None:
                fence = run
            elif run[0] == fence[0] and len(run) >= len(fence) and not line.strip()[len(run) :].strip():
                fence = None
    if fence is not None:
        text += "\n" + fence
    opened = len(re.findall(r"<details\b", text, re.IGNORECASE))
    closed = len(re.findall(r"</details>", text, re.IGNORECASE))
    text += "\n\n</details>" * max(opened - closed, 0)
    return text


def _cut_at_line(text: str, budget: int) -> str:
    if len(text) <= budget:
        return text
    cut = text[:budget]
    newline = cut.rfind("\n")
    if newline > budget // 2:
        cut = cut[:newline]
    return cut


def truncation_notice(omitted: str, report_link: str | None) -> str:
    where = f"in the [job summary]({report_link})" if report_link else "in the job summary of this run"
    return (
        f"\n\n> [!NOTE]\n> This comment was shortened to fit GitHub's {COMMENT_LIMIT:,}-character limit "
        f"({omitted}). The full report is {where}.\n"
    )


def fit_comment(
    head: str,
    full: str,
    tail: str,
    short: Callable[[], str] | None = None,
    report_link: str | None = None,
    limit: int = SAFE_LIMIT,
) -> tuple[str, bool]:
    """`head + report + tail` within `limit` characters; (body, shortened)."""
    body = head + full + tail
    if len(body) <= limit:
        return body, False
    text = full
    omitted = "examples omitted"
    if short is not None:
        text = short()
        notice = truncation_notice(omitted, report_link)
        body = head + text.rstrip("\n") + notice + tail
        if len(body) <= limit:
            return body, True
    # still too long: cut at a line boundary; the verdict and the first tables come first in the report
    reserve = len(head) + len(tail) + len(truncation_notice("x" * 80, report_link)) + 200
    kept = _close_open_blocks(_cut_at_line(text, max(limit - reserve, 0)))
    dropped = max(len(text) - len(kept), 0)
    omitted = (
        f"examples omitted and the last {dropped:,} characters cut"
        if short
        else f"the last {dropped:,} characters cut"
    )
    body = head + kept.rstrip("\n") + truncation_notice(omitted, report_link) + tail
    if len(body) > limit:  # a pathological head/tail: never exceed the limit
        body = body[:limit]
    return body, True


# -- publishing -----------------------------------------------------------------------------------------


CommentAction = Literal["created", "updated", "recreated", "skipped", "failed"]


@dataclass
class CommentResult:
    action: CommentAction
    url: str | None = None
    comment_id: int | None = None
    detail: str | None = None


def _list_comments(repo: Repository, number: int) -> list[dict[str, Any]]:
    """Every comment on the PR, raw (the REST answer carries `minimized`, which PyGithub's model lacks)."""
    requester = repo.requester
    url = f"{repo.url}/issues/{number}/comments"
    comments: list[dict[str, Any]] = []
    for page in range(1, _MAX_PAGES + 1):
        _, data = requester.requestJsonAndCheck("GET", url, parameters={"per_page": 100, "page": page})
        if not isinstance(data, list):
            break
        comments.extend(item for item in data if isinstance(item, dict))
        if len(data) < 100:
            break
    return comments


def _ours(comments: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    mine = [c for c in comments if (found := read_marker(c.get("body"))) and found[0] == marker_key(key)]
    # a bot wrote ours (github-actions[bot] or an app); a marker a person pasted (the pull request's author,
    # before promptreview ever commented) is never adopted: editing it would put the verdict in their comment
    bots = [c for c in mine if (c.get("user") or {}).get("type") == "Bot"]
    return sorted(bots, key=lambda c: (c.get("created_at") or "", c.get("id") or 0))


def _comment(repo: Repository, raw: dict[str, Any]) -> IssueComment:
    """A PyGithub comment whose API URL is built from our base URL (GitHub Enterprise, proxies), not the
    answer's `url` field."""
    data = {**raw, "url": f"{repo.url}/issues/comments/{int(raw['id'])}"}
    return IssueComment(repo.requester, {}, data, completed=True)


def publish_sticky(repo: Repository, number: int, key: str, body: str, *, create: bool) -> CommentResult:
    """Edit promptreview's comment on PR `number` (found by `key`'s marker), or create it when `create`."""
    found = read_marker(body)
    verdict = found[1] if found else None
    issue = repo.get_issue(number)  # lazy: no request
    try:
        existing = _ours(_list_comments(repo, number), key)
    except GithubException as exc:
        return CommentResult("failed", detail=f"could not list the PR's comments: {describe(exc)}")

    def create_new(action: CommentAction) -> CommentResult:
        try:
            comment = issue.create_comment(body)
        except GithubException as exc:
            return CommentResult("failed", detail=f"could not create the comment: {describe(exc)}")
        return CommentResult(action, comment.html_url, comment.id)

    if not existing:
        if not create:
            return CommentResult("skipped", detail="no prompt changed and no earlier comment to update")
        return create_new("created")
    keep, duplicates = existing[0], existing[1:]
    for extra in duplicates:  # a race between two runs left two: keep the oldest
        try:
            _comment(repo, extra).delete()
        except GithubException:
            pass
    hidden = bool(keep.get("minimized"))
    previous = read_marker(keep.get("body"))
    old_verdict = previous[1] if previous else None
    comment = _comment(repo, keep)
    if hidden and verdict != old_verdict:
        # an edit to a hidden comment stays hidden: a changed verdict deserves a visible comment
        try:
            comment.delete()
        except GithubException as exc:
            if exc.status != 404:
                return CommentResult("failed", keep.get("html_url"), keep.get("id"), describe(exc))
        return create_new("recreated")
    try:
        comment.edit(body)
    except GithubException as exc:
        if exc.status == 404:  # deleted between the listing and the edit
            return create_new("recreated")
        return CommentResult(
            "failed", keep.get("html_url"), keep.get("id"), f"could not edit: {describe(exc)}"
        )
    return CommentResult("updated", keep.get("html_url"), keep.get("id"), "hidden" if hidden else None)
