"""Every git call promptreview makes: which prompt files changed between two revisions, and their contents."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from promptreview.errors import UsageError


@dataclass(frozen=True)
class FileChange:
    change: str  # modified | added | removed | renamed
    old_path: str | None  # None when added
    new_path: str | None  # None when removed


def _git(root: Path, *args: str, binary: bool = False) -> str | bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("git is not installed or not on PATH") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise _GitFailed(message[-1] if message else f"git {' '.join(args)} failed")
    return proc.stdout if binary else proc.stdout.decode("utf-8", "surrogateescape")


class _GitFailed(Exception):
    pass


def repo_root(start: Path) -> Path:
    try:
        return Path(str(_git(start, "rev-parse", "--show-toplevel")).strip())
    except _GitFailed:
        raise UsageError(
            f"{start} is not inside a git repository (use 'promptreview compare' outside git)"
        ) from None


def resolve_rev(root: Path, rev: str) -> str:
    try:
        return str(_git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")).strip()
    except _GitFailed:
        raise UsageError(
            f"unknown git revision {rev!r}; fetch it first (in CI: actions/checkout with fetch-depth: 0)"
        ) from None


def default_base(root: Path) -> str:
    """The default branch: origin's HEAD if known, else a local main or master."""
    try:
        ref = str(_git(root, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD")).strip()
        return ref.removeprefix("refs/remotes/")
    except _GitFailed:
        pass
    for name in ("main", "master", "origin/main", "origin/master"):
        try:
            _git(root, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}")
            return name
        except _GitFailed:
            continue
    raise UsageError("cannot find the default branch; pass --base REF")


def merge_base(root: Path, base: str, head: str | None) -> str:
    """Compare against where head forked from base (three-dot semantics), falling back to base itself."""
    base_sha = resolve_rev(root, base)
    head_sha = resolve_rev(root, head or "HEAD")
    try:
        return str(_git(root, "merge-base", base_sha, head_sha)).strip()
    except _GitFailed:
        return base_sha  # unrelated histories or a shallow clone: compare the trees directly


def changed_files(root: Path, base_sha: str, head: str | None) -> list[FileChange]:
    """Files that differ between base and head (a commit, or the working tree when head is None)."""
    args = ["-c", "core.quotepath=off", "diff", "--name-status", "-z", "--no-ext-diff", "-M", base_sha]
    if head is not None:
        args.append(resolve_rev(root, head))
    out = str(_git(root, *args))
    fields = [f for f in out.split("\0")]
    changes: list[FileChange] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i]
        kind = status[0]
        if kind in "RC":
            old, new = fields[i + 1], fields[i + 2]
            i += 3
            changes.append(
                FileChange("renamed" if kind == "R" else "added", old if kind == "R" else None, new)
            )
            continue
        path = fields[i + 1]
        i += 2
        if kind == "A":
            changes.append(FileChange("added", None, path))
        elif kind == "D":
            changes.append(FileChange("removed", path, None))
        elif kind in "MT":
            changes.append(FileChange("modified", path, path))
    if head is None:
        untracked = str(_git(root, "ls-files", "--others", "--exclude-standard", "-z"))
        changes.extend(FileChange("added", None, p) for p in untracked.split("\0") if p)
    return changes


def read_at(root: Path, rev: str | None, path: str) -> bytes | None:
    """File bytes at a revision (None = working tree); None when the file does not exist there."""
    if rev is None:
        file = root / path
        return file.read_bytes() if file.is_file() else None
    try:
        return _git(root, "show", f"{rev}:{path}", binary=True)  # type: ignore[return-value]
    except _GitFailed:
        return None


def files_at(root: Path, rev: str) -> list[str]:
    return [p for p in str(_git(root, "ls-tree", "-r", "--name-only", "-z", rev)).split("\0") if p]
