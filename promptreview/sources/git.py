"""Every git call promptreview makes, and nothing else: revisions, the changed files between two of them,
file contents at a revision, and what CI needs to complete a shallow checkout (fetch by SHA, deepen).

Failures that the caller can act on come back as values (None, False) or as a `UsageError` that names the
fix; git's own stderr is never printed raw.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptreview.errors import UsageError
from promptreview.vocabulary import ChangeKind

NETWORK_TIMEOUT = 300.0  # seconds for a fetch; local commands take milliseconds


# git's file modes that are not a file's bytes: a symlink's blob is its target's name, a submodule's entry
# (a "gitlink") is a commit of another repository, with no blob at all
SYMLINK = "120000"
GITLINK = "160000"
TREE = "040000"  # a directory (reached only through a symlink: a path git lists is never one)
FILE_MODES = ("100644", "100755")


@dataclass(frozen=True)
class FileChange:
    change: ChangeKind
    old_path: str | None  # None when added
    new_path: str | None  # None when removed
    old_mode: str | None = (
        None  # git's mode on each side (`100644`, `SYMLINK`, `GITLINK`); None: no such side
    )
    new_mode: str | None = None


class GitFailed(Exception):
    """A git command exited non-zero; the message is git's last line of stderr."""


def _git(
    root: Path,
    *args: str,
    timeout: float | None = None,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> bytes:
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            check=False,
            timeout=timeout,
            input=stdin,
            env=None if env is None else {**os.environ, **env},
        )
    except FileNotFoundError:
        raise UsageError("git is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise GitFailed(f"git {args[0]} did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitFailed(message[-1] if message else f"git {' '.join(args)} failed")
    return proc.stdout


def _text(root: Path, *args: str, timeout: float | None = None, stdin: bytes | None = None) -> str:
    return _git(root, *args, timeout=timeout, stdin=stdin).decode("utf-8", "surrogateescape")


def is_sha(text: str) -> bool:
    return len(text) == 40 and all(c in "0123456789abcdef" for c in text.lower())


# -- revisions -----------------------------------------------------------------------------------------


def repo_root(start: Path) -> Path:
    try:
        return Path(_text(start, "rev-parse", "--show-toplevel").strip())
    except GitFailed:
        raise UsageError(
            f"{start} is not inside a git repository (use 'promptreview compare' outside git)"
        ) from None


# What git said about immutable things, so a review asks it once per need: a commit found by its SHA (per
# repository), and a file's bytes at a commit (a SHA fixes the tree, whatever the repository). Only what was
# found is kept: a commit missing from a shallow clone may be fetched later.
_COMMITS: dict[tuple[Path, str], str] = {}
_FILES: dict[tuple[str, str], bytes] = {}
_MEMO_SIZE = 256


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = value


def find_commit(root: Path, rev: str) -> str | None:
    """The full SHA of the commit `rev` names, or None when this checkout has no such commit."""
    known = _COMMITS.get((root, rev)) if is_sha(rev) else None
    if known is not None:
        return known
    try:
        sha = _text(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
    except GitFailed:
        return None
    _remember(_COMMITS, (root, sha), sha)
    return sha


def resolve_rev(root: Path, rev: str) -> str:
    sha = find_commit(root, rev)
    if sha is None:
        raise UsageError(
            f"unknown git revision {rev!r}; fetch it first (in CI: actions/checkout with fetch-depth: 0)"
        )
    return sha


def has_commit(root: Path, sha: str) -> bool:
    try:
        _git(root, "cat-file", "-e", f"{sha}^{{commit}}")
    except GitFailed:
        return False
    return True


def default_base(root: Path) -> str:
    """The default branch: origin's HEAD if known, else a local main or master."""
    try:
        return (
            _text(root, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD")
            .strip()
            .removeprefix("refs/remotes/")
        )
    except GitFailed:
        pass
    for name in ("main", "master", "origin/main", "origin/master"):
        if find_commit(root, name) is not None:
            return name
    raise UsageError("cannot find the default branch; pass --base REF")


def merge_base(root: Path, a: str, b: str) -> str | None:
    """Where `b` forked from `a`, or None when git finds no common ancestor (unrelated or shallow history)."""
    try:
        return _text(root, "merge-base", a, b).strip() or None
    except GitFailed:
        return None


# -- contents ------------------------------------------------------------------------------------------


def changed_files(root: Path, base_sha: str, head: str | None) -> list[FileChange]:
    """Files that differ between base and head (a commit, or the working tree when head is None)."""
    # --raw: each record is ":<old mode> <new mode> <old sha> <new sha> <status>", then its path(s)
    args = ["-c", "core.quotepath=off", "diff", "--raw", "-z", "--no-ext-diff", "--no-abbrev", "-M", base_sha]
    if head is not None:
        args.append(resolve_rev(root, head))
    try:
        fields = _text(root, *args).split("\0")
    except GitFailed as exc:
        raise UsageError(f"git diff {base_sha[:12]} failed: {exc}") from None
    changes: list[FileChange] = []
    i = 0
    while i < len(fields) and fields[i]:
        meta = fields[i].lstrip(":").split()
        old_mode, new_mode, kind = meta[0], meta[1], meta[4][0]
        if kind in "RC":
            old, new = fields[i + 1], fields[i + 2]
            i += 3
            renamed = kind == "R"
            changes.append(
                FileChange(
                    "renamed" if renamed else "added",
                    old if renamed else None,
                    new,
                    old_mode if renamed else None,
                    new_mode,
                )
            )
            continue
        path = fields[i + 1]
        i += 2
        if kind == "A":
            changes.append(FileChange("added", None, path, None, new_mode))
        elif kind == "D":
            changes.append(FileChange("removed", path, None, old_mode, None))
        elif kind in "MT":
            changes.append(FileChange("modified", path, path, old_mode, new_mode))
    if head is None:
        untracked = _text(root, "ls-files", "--others", "--exclude-standard", "-z")
        changes.extend(
            FileChange("added", None, p, None, mode_at(root, None, p)) for p in untracked.split("\0") if p
        )
    return changes


def list_files(root: Path, rev: str | None) -> list[str]:
    """Every file at a revision (None = the working tree: tracked and untracked files)."""
    try:
        if rev is None:
            listing = _text(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        else:
            listing = _text(root, "ls-tree", "-r", "-z", "--name-only", "--full-tree", rev)
    except GitFailed as exc:
        where = rev[:12] if rev else "the working tree"
        raise UsageError(f"git could not list the files at {where}: {exc}") from None
    return [p for p in listing.split("\0") if p]


def untracked(root: Path) -> set[str]:
    """The working tree's files git does not track and does not ignore (a report written beside the prompts,
    a scratch copy): nothing a commit, and so a pull request, holds."""
    try:
        listing = _text(root, "ls-files", "-z", "--others", "--exclude-standard")
    except GitFailed as exc:
        raise UsageError(f"git could not list the untracked files: {exc}") from None
    return {p for p in listing.split("\0") if p}


def read_many(root: Path, rev: str, paths: list[str]) -> dict[str, bytes]:
    """The bytes of many files at one commit, in one git process (`cat-file --batch`); a path missing there
    (or one whose name the batch protocol cannot carry: a newline) is left out."""
    wanted = [p for p in paths if "\n" not in p]
    if not wanted:
        return {}
    request = "".join(f"{rev}:{p}\n" for p in wanted).encode("utf-8", "surrogateescape")
    try:
        proc = subprocess.run(["git", "cat-file", "--batch"], cwd=root, input=request, capture_output=True)
    except FileNotFoundError:
        raise UsageError("git is not installed or not on PATH") from None
    out, found, at = proc.stdout, {}, 0
    for path in wanted:
        end = out.find(b"\n", at)
        if end == -1:
            break
        header = out[at:end].split()
        at = end + 1
        if len(header) != 3 or header[1] != b"blob":
            if len(header) == 3:  # a tree or a commit (submodule): skip its body
                at += int(header[2]) + 1
            continue
        size = int(header[2])
        found[path] = out[at : at + size]
        at += size + 1
    return found


def mode_at(root: Path, rev: str | None, path: str) -> str | None:
    """git's mode of `path` at a revision (None: the working tree, as a commit would record it); None when
    there is nothing there."""
    if rev is None:
        file = root / path
        if file.is_symlink():
            return SYMLINK
        if file.is_dir():  # a submodule's checkout (or a nested repository), or a plain directory
            return GITLINK if (file / ".git").exists() else TREE
        return "100644" if file.exists() else None
    try:
        listing = _text(root, "ls-tree", "-z", rev, "--", path)
    except GitFailed:
        return None
    for record in listing.split("\0"):
        meta, _, name = record.partition("\t")
        if name == path:
            return meta.split()[0]
    return None


def link_text(root: Path, rev: str | None, path: str) -> str | None:
    """What the symlink at `path` names (its blob at a commit, `readlink` in the working tree); None when
    there is no such link."""
    if rev is None:
        try:
            return os.readlink(root / path)
        except OSError:
            return None
    data = read_at(root, rev, path)
    return None if data is None else data.decode("utf-8", "surrogateescape")


def symlinks(root: Path, rev: str | None) -> list[str]:
    """Every symlink at a revision (None: the working tree, untracked ones not ignored included)."""
    if rev is None:
        return [p for p in list_files(root, None) if (root / p).is_symlink()]
    try:
        listing = _text(root, "ls-tree", "-r", "-z", "--full-tree", rev)
    except GitFailed as exc:
        raise UsageError(f"git could not list the files at {rev[:12]}: {exc}") from None
    out = []
    for record in listing.split("\0"):
        meta, _, name = record.partition("\t")
        if name and meta.split()[0] == SYMLINK:
            out.append(name)
    return out


def modes_under(root: Path, rev: str | None, directory: str) -> dict[str, str]:
    """Every path under `directory` at a revision (None: the working tree, untracked ones not ignored
    included), relative to it, with git's mode (a submodule and a symlink are listed, never entered)."""
    prefix = directory.rstrip("/") + "/"
    if rev is None:
        names = [p for p in list_files(root, None) if p.startswith(prefix)]
        return {p[len(prefix) :]: mode_at(root, None, p) or "100644" for p in names}
    try:
        listing = _text(root, "ls-tree", "-r", "-z", "--full-tree", rev, "--", prefix)
    except GitFailed as exc:
        raise UsageError(f"git could not list the files at {rev[:12]}: {exc}") from None
    out = {}
    for record in listing.split("\0"):
        meta, _, name = record.partition("\t")
        if name.startswith(prefix):
            out[name[len(prefix) :]] = meta.split()[0]
    return out


_TREES: dict[tuple[Path, str], tuple[frozenset[str], bool]] = {}


def tree_links(root: Path, rev: str) -> tuple[frozenset[str], bool]:
    """(every symlink at commit `rev`, whether any `.gitattributes` file is there), from one `ls-tree` per
    commit and repository, however many paths a review asks about."""
    sha = resolve_rev(root, rev)
    known = _TREES.get((root, sha))
    if known is not None:
        return known
    try:
        listing = _text(root, "ls-tree", "-r", "-z", "--full-tree", sha)
    except GitFailed as exc:
        raise UsageError(f"git could not list the files at {sha[:12]}: {exc}") from None
    links, attributes_file = set(), False
    for record in listing.split("\0"):
        meta, _, name = record.partition("\t")
        if name and meta.split()[0] == SYMLINK:
            links.add(name)
        attributes_file = attributes_file or name.rsplit("/", 1)[-1] == ".gitattributes"
    found = (frozenset(links), attributes_file)
    _remember(_TREES, (root, sha), found)
    return found


def attributes(
    root: Path, rev: str | None, paths: list[str], names: tuple[str, ...]
) -> dict[str, dict[str, str]]:
    """The git attributes `names` of each path as the `.gitattributes` files at a revision set them (None:
    the working tree); an attribute set neither way is left out. At a commit, the commit's tree is read
    into a throwaway index (`check-attr --cached`), which git before 2.40 (no `--source`) reads too."""
    wanted = [p for p in paths if "\0" not in p]
    if not wanted:
        return {}
    request = "".join(f"{p}\0" for p in wanted).encode("utf-8", "surrogateescape")
    args = ["-c", "core.quotepath=off", "check-attr", "-z", "--stdin"]
    try:
        if rev is None:
            out = _text(root, *args, *names, stdin=request)
        else:
            with tempfile.TemporaryDirectory(prefix="promptreview-attr-") as tmp:
                env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
                _git(root, "read-tree", resolve_rev(root, rev), env=env)
                out = _git(root, *args, "--cached", *names, stdin=request, env=env).decode(
                    "utf-8", "surrogateescape"
                )
    except GitFailed as exc:
        raise UsageError(f"git could not read the attributes of the prompt files: {exc}") from None
    fields = out.split("\0")
    found: dict[str, dict[str, str]] = {}
    for i in range(0, len(fields) - 2, 3):
        path, name, value = fields[i : i + 3]
        if value not in ("unspecified", "unset"):
            found.setdefault(path, {})[name] = value
    return found


def read_at(root: Path, rev: str | None, path: str) -> bytes | None:
    """File bytes at a revision (None = working tree); None when the file does not exist there."""
    if rev is None:
        file = root / path
        # the working tree as a commit would hold it: a symlink leading out of the repository is refused,
        # not followed (a committed symlink is only its target's name)
        real_root = root.resolve()
        real = file.resolve()
        if real != real_root and real_root not in real.parents:
            raise UsageError(f"{path}: a symlink that resolves outside the repository; it is not followed")
        return file.read_bytes() if file.is_file() else None
    if is_sha(rev) and (rev, path) in _FILES:
        return _FILES[(rev, path)]
    try:
        data = _git(root, "show", f"{rev}:{path}")
    except GitFailed:
        return None
    if is_sha(rev):
        _remember(_FILES, (rev, path), data)
    return data


# -- completing a shallow checkout (CI) -----------------------------------------------------------------


def remote(root: Path) -> str | None:
    """The remote to fetch from: origin if there is one, else the first."""
    try:
        names = _text(root, "remote").split()
    except GitFailed:
        return None
    return "origin" if "origin" in names else (names[0] if names else None)


def is_shallow(root: Path) -> bool:
    try:
        return _text(root, "rev-parse", "--is-shallow-repository").strip() == "true"
    except GitFailed:
        return False


def fetch(
    root: Path, remote_name: str, *refs: str, depth: int | None = None, deepen: int | None = None
) -> str | None:
    """Fetch `refs` (or deepen the history) from `remote_name`; None on success, else git's reason."""
    args = ["-c", "protocol.version=2", "fetch", "--no-tags", "--no-recurse-submodules"]
    if depth is not None:
        args.append(f"--depth={depth}")
    if deepen is not None:
        args.append(f"--deepen={deepen}")
    try:
        _git(root, *args, remote_name, *refs, timeout=NETWORK_TIMEOUT)
    except GitFailed as exc:
        return str(exc) or "fetch failed"
    return None


def init_repository(root: Path) -> None:
    """A new repository at `root` (the demo's throwaway one), with a committer of its own so that a machine
    without a git identity can still commit there."""
    _git(root, "init", "--quiet")
    _git(root, "config", "user.name", "promptreview demo")
    _git(root, "config", "user.email", "demo@promptreview.invalid")
    _git(root, "config", "commit.gpgsign", "false")


def commit_all(root: Path, message: str) -> str:
    """Stage everything under `root` and commit it; the new commit's SHA."""
    _git(root, "add", "--all")
    _git(root, "commit", "--quiet", "--no-verify", "-m", message)
    return _text(root, "rev-parse", "HEAD").strip()
