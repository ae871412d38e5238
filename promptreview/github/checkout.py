"""What CI needs from the checkout: both commits of the review present, and where the PR branched off.

actions/checkout fetches one commit by default (the PR's merge commit), so the base and head commits the
payload names are usually missing. They are fetched by SHA (GitHub serves any reachable commit); when the
merge base is beyond a shallow history it is deepened step by step. Every failure names the fix.
Git only through `sources.git`; no output: what was done comes back as lines for the job's log, failures as
`UsageError`.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from promptreview.errors import UsageError
from promptreview.sources import git

FETCH_DEPTH_HINT = "set `fetch-depth: 0` on actions/checkout (full history)"
_DEEPEN_STEPS = (50, 500, 5000)


def ensure_commit(root: Path, sha: str, what: str) -> list[str]:
    """Make `sha` available locally (fetching it by SHA if needed); returns the log lines of what was done."""
    if git.has_commit(root, sha):
        return []
    remote = git.remote(root)
    if remote is None:
        raise UsageError(
            f"the {what} commit {sha[:12]} is not in this checkout and there is no remote to fetch it from; "
            f"{FETCH_DEPTH_HINT}"
        )
    # a shallow checkout stays shallow (one commit); a full one gets the commit with its history
    failure = git.fetch(root, remote, sha, depth=1 if git.is_shallow(root) else None)
    if failure is not None or not git.has_commit(root, sha):
        raise UsageError(
            f"the {what} commit {sha[:12]} is not in this checkout and `git fetch {remote} {sha[:12]}` failed "
            f"({failure or 'the commit did not arrive'}); {FETCH_DEPTH_HINT}"
        )
    return [f"fetched the {what} commit {sha[:12]} (the checkout did not include it)"]


def resolve(root: Path, rev: str, what: str) -> str:
    """A full SHA for `rev` (a SHA, a branch, `origin/main`), fetching a missing SHA."""
    for candidate in (rev, f"origin/{rev}", f"refs/remotes/origin/{rev}"):
        sha = git.find_commit(root, candidate)
        if sha is not None:
            return sha
    if git.is_sha(rev):
        ensure_commit(root, rev, what)
        return rev
    raise UsageError(f"the {what} {rev!r} is not a commit or branch in this checkout; {FETCH_DEPTH_HINT}")


def find_merge_base(root: Path, base: str, head: str) -> tuple[str, list[str]]:
    """Where head forked from base (what GitHub's PR diff compares against), deepening a shallow clone."""
    log: list[str] = []
    for step in (0, *_DEEPEN_STEPS):
        if step:
            remote = git.remote(root)
            if remote is None or not git.is_shallow(root):
                break
            if git.fetch(root, remote, deepen=step) is not None:
                break
            log.append(f"deepened the shallow checkout by {step} commits to find the merge base")
        found = git.merge_base(root, base, head)
        if found is not None:
            return found, log
        if not git.is_shallow(root):
            break
    if git.is_shallow(root):
        raise UsageError(
            f"cannot find where {head[:12]} branched from {base[:12]}: the checkout's history is too shallow; "
            f"{FETCH_DEPTH_HINT}"
        )
    # unrelated histories: compare the two trees directly
    log.append(f"{base[:12]} and {head[:12]} share no history; comparing the two trees directly")
    return base, log


def first_changed_line(root: Path, base: str | None, head: str, old_path: str | None, new_path: str) -> int:
    """1-based line of the first difference in `new_path` at head against `old_path` at base (1 if new)."""
    new = git.read_at(root, head, new_path)
    old = git.read_at(root, base, old_path) if (base and old_path) else None
    if new is None or old is None:
        return 1
    new_lines = new.decode("utf-8", "replace").splitlines()
    old_lines = old.decode("utf-8", "replace").splitlines()
    for tag, _i1, _i2, j1, _j2 in difflib.SequenceMatcher(
        None, old_lines, new_lines, autojunk=False
    ).get_opcodes():
        if tag != "equal":
            return min(j1 + 1, max(len(new_lines), 1))
    return 1
