"""Which prompt files a review covers: the files changed between two revisions that a config entry's globs
match, each with its contents on both sides.

`git diff -M` says what changed; the config says which of those are prompts. A file renamed out of every
prompt glob is, for the review, removed; one renamed into them, added. A removed prompt and a pure rename
have nothing to run and are only listed. A prompt whose own bytes did not change but that reads a file that
did (a Dotprompt partial `_name.prompt`, a Semantic Kernel `config.json`, a Prompty `${file:...}`) is
reviewed too: each side reads that file at its own commit. A partial is not a prompt of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from promptreview.errors import UsageError
from promptreview.notes import Note, note
from promptreview.sources import git, paths
from promptreview.sources.config import Config, PromptEntry
from promptreview.sources.formats import load_prompts
from promptreview.sources.formats.base import Beside
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
    diff = git.changed_files(root, base_sha, head_sha)
    for fc in diff:
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
        if entry is None or is_partial(fc.new_path or fc.old_path or ""):
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
        head = git.read_at(root, head_sha, new_path)
        if head is None:
            continue
        base = git.read_at(root, base_sha, old_path) if old_path else None
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
    changed = {
        p for fc in git.changed_files(root, base_sha, head_sha) for p in (fc.old_path, fc.new_path) if p
    }
    found += _dependents(root, config, base_sha, head_sha, changed - {c.path for c in found})
    return ChangeSet(base_sha, head_sha, tuple(found))


def is_partial(path: str) -> bool:
    """A Dotprompt partial (`_name.prompt`): part of the prompts that use it, not a prompt of its own."""
    name = path.rsplit("/", 1)[-1]
    return name.startswith("_") and name.endswith(".prompt")


# what a prompt file must contain to read another file: a partial, a `${file:...}`; or be Semantic Kernel's
# `skprompt.txt`, which reads the `config.json` beside it
_READS_FILES = ("{{>", "{{~>", "{{#>", "${file:")


def _recording(files: Callable[[str], bytes | None], into: set[str]) -> Callable[[str], bytes | None]:
    """`files`, noting each path asked for in `into`."""

    def read(name: str) -> bytes | None:
        into.add(name)
        return files(name)

    return read


def _dependents(
    root: Path, config: Config, base_sha: str, head_sha: str | None, changed: set[str]
) -> list[PromptChange]:
    """Prompts whose bytes are the same on both sides but that read a file that changed."""
    if not changed:
        return []
    out: list[PromptChange] = []
    candidates = set(git.files_containing(root, head_sha, _READS_FILES))
    candidates |= {
        c[: -len("config.json")] + "skprompt.txt" for c in changed if c.rsplit("/", 1)[-1] == "config.json"
    }
    for path in sorted(candidates):
        entry = config.entry_for(path)
        if entry is None or is_partial(path) or path in changed:
            continue
        head = git.read_at(root, head_sha, path)
        if head is None:
            continue
        read: set[str] = set()
        try:
            load_prompts(path, head, Beside(_recording(paths.reader(root, head_sha), read), entry.partials))
        except UsageError:
            continue  # a prompt that does not read at the head is reviewed when it changes, not here
        if read & changed:
            base = git.read_at(root, base_sha, path)
            if base is not None:
                out.append(PromptChange("modified", path, path, entry, base, head))
    return out
