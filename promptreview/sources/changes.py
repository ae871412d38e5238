"""Which prompt files a review covers: the files changed between two revisions that a config entry's globs
match, each with its contents on both sides.

`git diff -M` says what changed; the config says which of those are prompts. A file renamed out of every
prompt glob is, for the review, removed; one renamed into them, added. A removed prompt and a pure rename
have nothing to run and are only listed.

What a commit records under a prompt's path is not always a file: a symlink is reviewed as the file it points
to inside the repository (its target's bytes, read at the same commit; a target outside the repository, or
missing, is refused naming the link), never as the text of the link; a submodule is a commit of another
repository, which nothing here can read, so a prompt replaced by one, or a submodule where the globs would
match files, is refused naming it.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from promptreview.errors import UsageError
from promptreview.notes import Note, note
from promptreview.sources import git, paths
from promptreview.sources.config import Config, PromptEntry
from promptreview.vocabulary import ChangeKind

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _escaped(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


@dataclass(frozen=True)
class PromptChange:
    """One changed prompt file and what each side of the review reads."""

    change: ChangeKind
    path: str  # the file's path in the head (its old path when removed)
    base_path: str | None  # the file's path in the base; None when there is no base side
    entry: PromptEntry
    base: bytes | None  # contents at the base (None: added)
    head: bytes | None  # contents at the head (None: removed)
    listed: Note | None = None  # why there is nothing to run (removed, renamed unchanged); None: review it

    @property
    def old_path(self) -> str | None:
        """The path the report names as the old one: only for a rename."""
        return self.base_path if self.change == "renamed" else None


@dataclass(frozen=True)
class ChangeSet:
    base: str  # the merge base's SHA
    head: str | None  # the head commit's SHA; None: the working tree
    prompts: tuple[PromptChange, ...]


def compare_points(root: Path, base: str | None, head: str | None) -> tuple[str, str | None]:
    """(base SHA, head SHA or None for the working tree). The base is where head forked from `base` (three-dot
    semantics, like a pull request's diff), or `base` itself when the histories share nothing."""
    base_sha = git.resolve_rev(root, base or git.default_base(root))
    head_sha = git.resolve_rev(root, head) if head else None
    return git.merge_base(root, base_sha, head_sha or git.resolve_rev(root, "HEAD")) or base_sha, head_sha


def changed_prompts(root: Path, config: Config, base_sha: str, head_sha: str | None) -> ChangeSet:
    """The prompt files covered by `config` that differ between `base_sha` and `head_sha`."""
    for item in config.prompts:
        paths.check_globs(root, item.files, "prompts[].files")
    found: list[PromptChange] = []
    for fc in git.changed_files(root, base_sha, head_sha):
        _refuse_submodule(config, fc)
        entry_new = config.entry_for(fc.new_path) if fc.new_path else None
        entry_old = config.entry_for(fc.old_path) if fc.old_path else None
        for name in (fc.new_path, fc.old_path):
            if name and _CONTROL.search(name) and (entry_new or entry_old):
                # a newline in a file name starts a new log line the Actions runner would obey
                raise UsageError(
                    f"prompt file name '{_CONTROL.sub(_escaped, name)}' contains control characters; "
                    "rename the file"
                )
        entry = entry_new if entry_new is not None else entry_old
        if entry is None:
            continue
        kind: ChangeKind = fc.change
        old_path, new_path = fc.old_path, fc.new_path
        if entry_new is None:  # renamed out of the prompt globs: for the review it is gone
            kind, new_path = "removed", None
        elif fc.change == "renamed" and entry_old is None:
            kind, old_path = "added", None
        if new_path is None:
            assert old_path is not None  # git names at least one side of every change
            found.append(
                PromptChange(
                    change=kind,
                    path=old_path,
                    base_path=old_path,
                    entry=entry,
                    base=None,
                    head=None,
                    listed=note("prompt_removed"),
                )
            )
            continue
        head = _read(root, head_sha, new_path, fc.new_mode)
        if head is None:
            continue
        base = (
            _read(root, base_sha, old_path, fc.old_mode if old_path == fc.old_path else None)
            if old_path
            else None
        )
        listed = None
        if base == head:  # a pure rename, or a change of the file's mode alone
            listed = note("renamed_unchanged" if kind == "renamed" else "content_unchanged")
        found.append(
            PromptChange(
                change=kind,
                path=new_path,
                base_path=old_path if base is not None else None,
                entry=entry,
                base=base,
                head=head,
                listed=listed,
            )
        )
    return ChangeSet(base_sha, head_sha, tuple(found))


MAX_LINKS = 8  # symlinks followed in a row, as a bound on a chain (and on a loop)


def _read(root: Path, rev: str | None, path: str, mode: str | None) -> bytes | None:
    """The bytes a prompt path stands for at `rev`: a file's own, a symlink's target's (inside the repository)."""
    if rev is None:  # the working tree: `git.read_at` follows a link inside the repository, refuses the rest
        data = git.read_at(root, rev, path)
        if data is None and (root / path).is_symlink():
            raise UsageError(
                f"{_shown(path)} is a symlink to nothing readable (a missing file or a directory)"
            )
        return data
    if mode is None:
        mode = git.mode_at(root, rev, path)
    name = path
    for _ in range(MAX_LINKS + 1):
        if mode == git.GITLINK:
            raise UsageError(_submodule(path if name == path else f"{path} (through a symlink to {name})"))
        if mode not in (git.SYMLINK, *git.FILE_MODES):
            raise UsageError(
                f"{_shown(path)} is a symlink to {_shown(name)!r}, which is not a file; commit the prompt itself"
            )
        data = git.read_at(root, rev, name)
        if mode != git.SYMLINK or data is None:
            return data
        target = data.decode("utf-8", "surrogateescape")
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
        if target.startswith("/") or joined == ".." or joined.startswith("../"):
            raise UsageError(
                f"{_shown(path)} is a symlink to {_shown(target)!r}, outside the repository; "
                "commit the prompt itself"
            )
        name, mode = joined, git.mode_at(root, rev, joined)
        if mode is None:
            raise UsageError(
                f"{_shown(path)} is a symlink to {_shown(target)!r}, which does not exist at {rev[:12]}; "
                "commit the prompt itself"
            )
    raise UsageError(
        f"{_shown(path)}: more than {MAX_LINKS} symlinks in a row (or a loop); commit the prompt itself"
    )


def _submodule(what: str) -> str:
    return (
        f"{_shown(what)} is a git submodule (a commit of another repository), which promptreview cannot "
        "read or review; commit the prompt files into this repository"
    )


def _refuse_submodule(config: Config, fc: git.FileChange) -> None:
    """A changed submodule at a prompt path, or where a glob would match files inside it: refused."""
    for path, mode in ((fc.old_path, fc.old_mode), (fc.new_path, fc.new_mode)):
        if path is None or mode != git.GITLINK:
            continue
        if config.entry_for(path) is not None or _globs_reach_inside(config, path):
            raise UsageError(_submodule(path))


def _globs_reach_inside(config: Config, directory: str) -> bool:
    """Whether a prompt glob would match a file inside `directory` (probed with each glob's own file name)."""
    for entry in config.prompts:
        for glob in entry.files:
            leaf = glob.rsplit("/", 1)[-1].replace("**", "x").replace("*", "x").replace("?", "x")
            probes = (f"{directory}/{leaf}", f"{directory}/x/{leaf}", f"{directory}/x/x/{leaf}")
            if any(paths.matches_any(probe, (glob,)) for probe in probes):
                return True
    return False


def _shown(name: str) -> str:
    return _CONTROL.sub(_escaped, name)
