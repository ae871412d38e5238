"""Which prompt files a review covers: the files changed between two revisions that a config entry's globs
match, each with its contents on both sides.

`git diff -M` says what changed; the config says which of those are prompts. A file renamed out of every
prompt glob is, for the review, removed; one renamed into them, added. A removed prompt and a pure rename
have nothing to run and are only listed. The base owns the contract: a prompt moved from one entry to another
keeps the strictest of the two (`strictest`), and a prompt whose exact copy appears outside the globs leaves
the review however git paired the files (a decoy copy left inside them hides nothing). A prompt whose own
bytes did not change but that reads a file that did (a Dotprompt partial `_name.prompt`, a Semantic Kernel
`config.json`, a Prompty `${file:...}`, a JSON file its own schema's `$ref`s bundle into the request) is
reviewed too: each side reads that file at its own commit. A partial is not a prompt of its own.

What a commit records under a prompt's path is not always a file: a symlink is reviewed as the file it points
to inside the repository (its target's bytes, read at the same commit; a target outside the repository, or
missing, is refused naming the link), never as the text of the link, and only when that target is a prompt of
the link's own entry (`_refuse_links`); a submodule is a commit of another repository, which nothing here can
read, so a prompt replaced by one, or a submodule or a directory symlink where the globs would match files, is
refused naming it. Nor is a blob always what a checkout writes: a prompt under a `filter` (Git LFS) or a
`working-tree-encoding` is refused too (`_refuse_filtered`).
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from promptreview.errors import UsageError
from promptreview.notes import Note, note
from promptreview.sources import git, paths
from promptreview.sources.config import Config, PromptEntry
from promptreview.sources.formats import load_prompts
from promptreview.sources.formats.base import Beside
from promptreview.sources.schemas import bundled_files
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
    # the config's globs that match no file at the base nor at the head: a check that can only ever pass
    unmatched: tuple[str, ...] = ()


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
    at_base, at_head = git.list_files(root, base_sha), git.list_files(root, head_sha)
    names = (*at_base, *at_head)  # every glob is matched against both lists
    unmatched = tuple(
        dict.fromkeys(
            g
            for item in config.prompts
            for g in item.files
            if not any(paths.matches_any(n, (g,)) for n in names)
        )
    )
    _refuse_links(root, config, head_sha)
    _refuse_filtered(root, config, head_sha, at_head)
    found: list[PromptChange] = []
    changes = git.changed_files(root, base_sha, head_sha)
    for fc in changes:
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
        if entry is None or is_partial(fc.new_path or fc.old_path or ""):
            continue
        if entry_old is not None and entry_new is not None and entry_old != entry_new:
            entry = strictest(entry_old, entry_new)  # moved between entries: it keeps the base's contract
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
        _refuse_pointer(new_path, head)
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
    found_so_far = ChangeSet(base_sha, head_sha, tuple(found), unmatched)
    found += _copied_out(root, config, found_so_far, at_base, changes)
    changed = {p for fc in changes for p in (fc.old_path, fc.new_path) if p}
    found = _dependents(root, config, (base_sha, head_sha), changed, found, at_head)
    return ChangeSet(base_sha, head_sha, tuple(found), unmatched)


def is_partial(path: str) -> bool:
    """A Dotprompt partial (`_name.prompt`): part of the prompts that use it, not a prompt of its own."""
    name = path.rsplit("/", 1)[-1]
    return name.startswith("_") and name.endswith(".prompt")


def _recording(files: Callable[[str], bytes | None], into: set[str]) -> Callable[[str], bytes | None]:
    """`files`, noting each path asked for in `into`."""

    def read(name: str) -> bytes | None:
        into.add(name)
        return files(name)

    return read


def _reads(root: Path, head_sha: str | None, entry: PromptEntry, path: str, data: bytes) -> set[str]:
    """Every file the prompt file `path` reads beside it at the head (found or not): what its format reads
    (partials, a `config.json`, `${file:...}`) and what its own schema's `$ref`s bundle into the request. A
    prompt that fails to read still names what it read until then: the review then says why it fails."""
    read: set[str] = set()
    try:
        found = load_prompts(
            path, data, Beside(_recording(paths.reader(root, head_sha), read), entry.partials)
        )
        for template in found:
            if isinstance(template.schema, dict):
                read |= bundled_files(template.schema, root, head_sha, template.path)
    except UsageError:
        pass
    return read


def _dependents(
    root: Path,
    config: Config,
    shas: tuple[str, str | None],
    changed: set[str],
    found: list[PromptChange],
    at_head: list[str],
) -> list[PromptChange]:
    """`found`, where a prompt listed with nothing to run (renamed, or its mode changed) reads a file that
    changed, reviewed; then the prompts whose bytes are the same on both sides but that read a file that
    changed: a file the format reads beside the prompt, or a sibling file its own schema's `$ref`s bundle
    into the request. Every prompt at the head is read, not only those whose text shows such a reference
    (YAML can spell `$ref` or `${file:` with escapes)."""
    if not changed:
        return found
    base_sha, head_sha = shas
    out = [
        replace(c, listed=None)
        if c.listed is not None
        and c.head is not None
        and _reads(root, head_sha, c.entry, c.path, c.head) & changed
        else c
        for c in found
    ]
    skip = changed | {c.path for c in found}
    candidates = [p for p in at_head if p not in skip and not is_partial(p) and config.entry_for(p)]
    contents = git.read_many(root, head_sha, candidates) if head_sha is not None else {}
    for path in candidates:
        entry = config.entry_for(path)
        assert entry is not None  # candidates are prompts
        try:
            head = contents.get(path) if head_sha is not None else git.read_at(root, None, path)
        except UsageError:  # a working-tree symlink out of the repository: reviewed (refused) if it changed
            continue
        if head is not None and _reads(root, head_sha, entry, path, head) & changed:
            base = git.read_at(root, base_sha, path)
            if base is not None:
                out.append(PromptChange("modified", path, path, entry, base, head))
    return out


def strictest(base: PromptEntry, head: PromptEntry) -> PromptEntry:
    """The contract of a prompt moved from the base's entry to another: the base entry's, with what only the
    new entry adds (its schema where the base had none, JSON output, its quality checks and must-refuse
    rows). Moving a prompt to a laxer entry (no schema, `output: text`, no checks) loosens nothing."""
    kept = {e.field for e in base.expect}
    named = {e.name for e in base.evaluators}
    return replace(
        base,
        schema=base.schema or head.schema,
        model=base.model or head.model,
        output="json" if "json" in (base.output, head.output) else base.output,
        expect=(*base.expect, *(e for e in head.expect if e.field not in kept)),
        evaluators=(*base.evaluators, *(e for e in head.evaluators if e.name not in named)),
        must_refuse=base.must_refuse or head.must_refuse,
    )


SIMILAR = 0.5  # the share of words two files have in common for one to be a copy of the other (git's 50 %)
_MAX_COPY_BYTES = 1_000_000  # a larger file new outside the globs is not compared


def similar(a: bytes, b: bytes) -> bool:
    """Whether `b` is a copy of `a`, edited or not: their words at least `SIMILAR` the same. Words, not
    git's 64-byte line chunks: a prompt is often one long line, which one edit makes a stranger to git."""
    if a == b:
        return True
    matcher = difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False)
    return (
        matcher.real_quick_ratio() >= SIMILAR
        and matcher.quick_ratio() >= SIMILAR
        and matcher.ratio() >= SIMILAR
    )


def _copied_out(
    root: Path,
    config: Config,
    changes: ChangeSet,
    at_base: list[str],
    moved: list[git.FileChange],
) -> list[PromptChange]:
    """Base prompts copied or moved (edited or not, `similar`) to a file new at the head outside every glob:
    the prompt leaves the review even when a copy stays inside the globs (a decoy), or git paired its old
    path with that copy. Prompts already listed as leaving are not repeated."""
    leaving = {c.path for c in changes.prompts if c.change == "removed"}
    targets: dict[str, bytes] = {}
    for fc in moved:
        if fc.new_path and fc.change in ("added", "renamed") and config.entry_for(fc.new_path) is None:
            try:
                data = git.read_at(root, changes.head, fc.new_path)
            except UsageError:  # a working-tree symlink out of the repository: not a file of ours to read
                continue
            if data is not None and len(data) <= _MAX_COPY_BYTES:
                targets[fc.new_path] = data
    if not targets:
        return []
    wanted = [p for p in at_base if p not in leaving and config.entry_for(p) is not None]
    sources = git.read_many(root, changes.base, wanted)
    out: list[PromptChange] = []
    for src, text in sources.items():
        entry = config.entry_for(src)
        dst = next((dst for dst, data in targets.items() if text.strip() and similar(text, data)), None)
        if entry is None or dst is None:
            continue
        said = note("prompt_copied_out", src, to=dst)
        out.append(PromptChange("removed", src, src, entry, None, None, listed=said))
    return out


MAX_LINKS = 8  # symlinks followed in a row, as a bound on a chain (and on a loop)


def _follow(root: Path, rev: str | None, path: str, mode: str | None) -> tuple[list[str], str | None]:
    """The names a path leads through at `rev` (itself, then each symlink's target, repository-relative) and
    the last one's mode (None: nothing there). A link out of the repository, or a chain too long, is
    refused naming the path."""
    if mode is None:
        mode = git.mode_at(root, rev, path)
    chain = [path]
    for _ in range(MAX_LINKS + 1):
        if mode != git.SYMLINK:
            return chain, mode
        name = chain[-1]
        target = git.link_text(root, rev, name)
        if target is None:
            return chain, None
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
        if target.startswith("/") or joined == ".." or joined.startswith("../"):
            raise UsageError(
                f"{_shown(path)} is a symlink to {_shown(target)!r}, outside the repository; "
                "commit the prompt itself"
            )
        chain.append(joined)
        mode = git.mode_at(root, rev, joined)
    raise UsageError(
        f"{_shown(path)}: more than {MAX_LINKS} symlinks in a row (or a loop); commit the prompt itself"
    )


def _read(root: Path, rev: str | None, path: str, mode: str | None) -> bytes | None:
    """The bytes a prompt path stands for at `rev`: a file's own, a symlink's target's (inside the repository)."""
    chain, mode = _follow(root, rev, path, mode)
    name = chain[-1]
    if name == path:
        if mode == git.GITLINK:
            raise UsageError(_submodule(path))
        return git.read_at(root, rev, path)
    target = git.link_text(root, rev, chain[-2]) or name
    if mode is None:
        if rev is None:
            raise UsageError(
                f"{_shown(path)} is a symlink to nothing readable: {_shown(target)!r} does not exist "
                "in the working tree; commit the prompt itself"
            )
        raise UsageError(
            f"{_shown(path)} is a symlink to {_shown(target)!r}, which does not exist at {rev[:12]}; "
            "commit the prompt itself"
        )
    if mode == git.GITLINK:
        raise UsageError(_submodule(f"{path} (through a symlink to {name})"))
    if mode not in git.FILE_MODES:
        raise UsageError(
            f"{_shown(path)} is a symlink to {_shown(name)!r}, which is not a file; commit the prompt itself"
        )
    return git.read_at(root, rev, name)


def _refuse_links(root: Path, config: Config, rev: str | None) -> None:
    """Every symlink at the head that a glob matches, or inside which a glob would match files.

    A link at a prompt path is reviewed as its target, so the target must be a prompt that its own entry
    reviews: every name along the chain is a prompt file (not a partial) matched by the same
    `prompts[]` entry. Then any later edit of the target, or of a link on the way, is itself a change of
    that entry's prompt, reviewed under the same contract; a link to a file outside the globs (whose later
    edits nobody reviews) or into another entry (a laxer contract) is refused naming the link and its
    target. A link to a directory where the globs would match files is refused too: git records only the
    link, never the prompts production reads through it. Checked over the whole head, changed or not, so a
    link committed before this rule cannot be used later."""
    for link in git.symlinks(root, rev):
        entry = config.entry_for(link)
        if entry is not None:
            _read(root, rev, link, git.SYMLINK)  # a link to nothing readable is refused as such
            chain, _ = _follow(root, rev, link, git.SYMLINK)
            for name in chain[1:]:
                if config.entry_for(name) != entry or is_partial(name):
                    index = config.prompts.index(entry)
                    raise UsageError(
                        f"{_shown(link)} is a symlink to {_shown(name)!r}, which is not a prompt file of its "
                        f"own entry (prompts[{index}].files): a later edit of the target would not be "
                        "reviewed under this prompt's contract; commit the prompt itself, or link to a "
                        "prompt of the same entry"
                    )
        elif _globs_reach_inside(config, link):
            try:
                mode = _follow(root, rev, link, git.SYMLINK)[1]
            except UsageError:
                mode = None  # out of the repository, or a loop: nothing a review could read
            if mode not in git.FILE_MODES:
                target = git.link_text(root, rev, link) or ""
                raise UsageError(
                    f"{_shown(link)} is a symlink to {_shown(target)!r}, a directory (or nothing this "
                    "repository holds) where the prompt globs match files: git records only the link, so "
                    "the prompts production reads through it are never reviewed; commit the files themselves"
                )


LFS_POINTER = b"version https://git-lfs.github.com/spec/"
# attributes that make a checkout's file differ from the blob a review reads
_CHECKOUT_ATTRIBUTES = ("filter", "working-tree-encoding")


def _refuse_filtered(root: Path, config: Config, rev: str | None, names: list[str]) -> None:
    """A prompt file (any path a glob matches at the head) whose `.gitattributes` set a `filter` (Git LFS,
    or any clean/smudge driver) or a `working-tree-encoding`: the blob git stores, which a review reads, is
    not the file a checkout gives production. Refused naming the file and the attribute."""
    prompts = [n for n in names if config.entry_for(n) is not None]
    for path, found in git.attributes(root, rev, prompts, _CHECKOUT_ATTRIBUTES).items():
        name, value = next(iter(found.items()))
        raise UsageError(
            f"{_shown(path)}: .gitattributes sets {name}={value} on it, so what a checkout gives production "
            "is not the blob a review reads; keep prompt files out of Git LFS and checkout filters"
        )


def _refuse_pointer(path: str, data: bytes) -> None:
    if data.startswith(LFS_POINTER):
        raise UsageError(
            f"{_shown(path)} is a Git LFS pointer, not a prompt: a review would read the pointer while "
            "production reads the file it points to; commit the prompt itself"
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
    """Whether a prompt glob would match a file inside `directory`."""
    return any(paths.reaches_inside(directory, entry.files) for entry in config.prompts)


def _shown(name: str) -> str:
    return _CONTROL.sub(_escaped, name)
