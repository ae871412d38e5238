"""Which prompt files a review covers: the files changed between two revisions that a config entry's globs
match, each with its contents on both sides.

`git diff -M` says what changed; the config says which of those are prompts. A file renamed out of every
prompt glob is, for the review, removed; one renamed into them, added. A removed prompt and a pure rename
have nothing to run and are only listed. The base owns the contract: a prompt moved from one entry to another
keeps the strictest of the two (`strictest`), and so does a prompt new to an entry that is a copy of another
entry's (the original may stay as a decoy while production reads the copy); a prompt a copy of which appears
outside the globs leaves the review however git paired the files (a decoy copy left inside them hides
nothing). A copy is found by containment (`similar`): padding around it hides nothing. A prompt whose own
bytes did not change but that reads a file that did (a Dotprompt partial `_name.prompt`, a Semantic Kernel
`config.json`, a Prompty `${file:...}`, a JSON file its own schema's `$ref`s bundle into the request) is
reviewed too: each side reads that file at its own commit. A partial is not a prompt of its own.

What a commit records under a prompt's path is not always a file: a symlink is reviewed as the file it points
to inside the repository (its target's bytes, read at the same commit; a target outside the repository, or
missing, is refused naming the link), never as the text of the link, and only when that target is a prompt of
the link's own entry (`sources.links`); a submodule is a commit of another repository, which nothing here can
read, so a prompt replaced by one, or a submodule or a directory symlink where the globs would match files, is
refused naming it. Nor is a blob always what a checkout writes: a prompt under a `filter` (Git LFS) or a
`working-tree-encoding` is refused too (`sources.links`).
"""

from __future__ import annotations

import difflib
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from promptreview.errors import UsageError
from promptreview.notes import Note, note
from promptreview.sources import git, links, paths
from promptreview.sources.config import Config, PromptEntry
from promptreview.sources.formats import load_prompts
from promptreview.sources.formats.base import Beside
from promptreview.sources.schemas import bundled_files
from promptreview.vocabulary import ChangeKind


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
    copied_from: str | None = None  # the base prompt of a stricter entry this one is a copy of (`strictest`)

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
    links.refuse_links(root, config, head_sha)
    links.refuse_filtered(root, config, head_sha, at_head)
    found: list[PromptChange] = []
    changes = git.changed_files(root, base_sha, head_sha)
    for fc in changes:
        links.refuse_submodule(config, fc)
        entry_new = config.entry_for(fc.new_path) if fc.new_path else None
        entry_old = config.entry_for(fc.old_path) if fc.old_path else None
        for name in (fc.new_path, fc.old_path):
            if name and links.CONTROL.search(name) and (entry_new or entry_old):
                # a newline in a file name starts a new log line the Actions runner would obey
                raise UsageError(
                    f"prompt file name '{links.CONTROL.sub(links.escaped, name)}' contains control characters; "
                    "rename the file"
                )
        entry = entry_new if entry_new is not None else entry_old
        if entry is None or paths.is_partial(fc.new_path or fc.old_path or ""):
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
        head = links.read_prompt(root, head_sha, new_path, fc.new_mode)
        if head is None:
            continue
        links.refuse_pointer(new_path, head)
        base = (
            links.read_prompt(root, base_sha, old_path, fc.old_mode if old_path == fc.old_path else None)
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
    reviewed = [c for c in found if c.listed is None and c.head is not None]
    outside = [
        fc for fc in changes if fc.new_path and fc.change != "removed" and not config.entry_for(fc.new_path)
    ]
    # a copy is looked for only where one can hide: a file outside the globs, a prompt of another entry
    sources = (
        _base_sources(root, config, base_sha, at_base)
        if outside or (reviewed and len(config.prompts) > 1)
        else []
    )
    found = _copied_across(config, found, sources)
    found += _copied_out(
        root, config, ChangeSet(base_sha, head_sha, tuple(found), unmatched), sources, outside
    )
    changed = {p for fc in changes for p in (fc.old_path, fc.new_path) if p}
    found = _dependents(root, config, (base_sha, head_sha), changed, found, at_head)
    return ChangeSet(base_sha, head_sha, tuple(found), unmatched)


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
    candidates = [p for p in at_head if p not in skip and not paths.is_partial(p) and config.entry_for(p)]
    contents = git.read_many(root, head_sha, candidates) if head_sha is not None else {}
    linked = git.tree_links(root, head_sha)[0] if head_sha is not None else frozenset()
    for path in candidates:
        entry = config.entry_for(path)
        assert entry is not None  # candidates are prompts
        try:
            if head_sha is None or path in linked:  # a symlink stands for its target, as the review reads it
                head = links.read_prompt(root, head_sha, path, None)
            else:
                head = contents.get(path)
        except UsageError:  # a symlink out of the repository or to nothing: refused as such if it changed
            continue
        if head is not None and _reads(root, head_sha, entry, path, head) & changed:
            try:  # a link at the head: the base's prompt as the review reads it, a link's target's too
                base = (
                    links.read_prompt(root, base_sha, path, None)
                    if path in linked
                    else git.read_at(root, base_sha, path)
                )
            except UsageError:
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


SIMILAR = 0.5  # the share of a prompt's words another file must hold for it to be a copy (git's 50 %)
_RUN = 3  # words in a row: containment counts the prompt's runs of three words found in the other file
_MIN_RUNS = 8  # fewer runs than that (a one-line prompt any README may quote): a copy only byte for byte
_RATIO_WORDS = 20_000  # beyond, the in-order ratio (quadratic at worst) is not computed; containment still is
_WORD = re.compile(r"\w+")

Run = tuple[str, ...]


def _words(data: bytes | str) -> Iterator[str]:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    for m in _WORD.finditer(text.casefold()):
        yield m.group()


def _runs(words: Iterable[str]) -> Iterator[Run]:
    window: deque[str] = deque(maxlen=_RUN)
    for word in words:
        window.append(word)
        if len(window) == _RUN:
            yield tuple(window)


@dataclass(frozen=True)
class _Source:
    """A base prompt as a copy of it is looked for: its bytes, and its runs of words: of the whole file, and of
    the text it sends (its messages' templates), which a copy may hold without the rest, e.g. its testData."""

    path: str
    data: bytes
    whole: frozenset[Run]
    sent: frozenset[Run]  # empty: the file does not read alone (or sends under three words)

    @classmethod
    def of(cls, path: str, data: bytes) -> _Source:
        sent: frozenset[Run] = frozenset()
        try:
            sent = frozenset(
                _runs(_words(" ".join(s for t in load_prompts(path, data) for _, s in t.messages)))
            )
        except UsageError:
            pass  # a base prompt that does not read alone: its whole text is what a copy holds
        return cls(path, data, frozenset(_runs(_words(data))), sent)

    def forms(self, sent_only: bool = False) -> tuple[frozenset[Run], ...]:
        if sent_only and self.sent:
            return (self.sent,)
        return tuple(f for f in (self.whole, self.sent) if len(f) >= _MIN_RUNS)

    def copied_in(self, found: set[Run], words: list[bytes] | None, sent_only: bool = False) -> bool:
        """Whether a file holds this prompt: `found`, the runs of words it holds among those asked for;
        `words`, its words as split by whitespace (None: too many for the in-order ratio). `sent_only`: only
        the text it sends counts (for another prompt file, which shares a format's keys, or testData, with
        any prompt of the same format without being its copy)."""
        if any(len(form & found) >= SIMILAR * len(form) for form in self.forms(sent_only)):
            return True
        if len(self.whole) < _MIN_RUNS:  # too short for its words to tell a copy from a quote: `_copies`
            return False
        return not (sent_only and self.sent) and words is not None and _same_words(self.data.split(), words)


def _found(data: bytes, wanted: frozenset[Run] | set[Run]) -> set[Run]:
    """The runs of `wanted` that `data` holds: one pass over it, whatever its size, keeping only those."""
    return {run for run in _runs(_words(data)) if run in wanted}


def _split(data: bytes) -> list[bytes] | None:
    """`data` split by whitespace for the in-order ratio; None past `_RATIO_WORDS` words."""
    if len(data) > 64 * _RATIO_WORDS:  # more words than that, or near enough, without splitting it
        return None
    words = data.split()
    return words if len(words) <= _RATIO_WORDS else None


def _same_words(x: list[bytes], y: list[bytes]) -> bool:
    """Whether two files of about the same length are the same words in the same order, at least `SIMILAR`
    (an edit every third word leaves no run of three, but most words): difflib's ratio, bounded in size."""
    if x == y:
        return True
    if len(x) > _RATIO_WORDS:
        return False
    matcher = difflib.SequenceMatcher(None, x, y, autojunk=False)
    return (
        matcher.real_quick_ratio() >= SIMILAR
        and matcher.quick_ratio() >= SIMILAR
        and matcher.ratio() >= SIMILAR
    )


def similar(a: bytes, b: bytes, path: str = "prompt") -> bool:
    """Whether `b` holds a copy of the prompt `a` (at `path`), edited or not, padded or not: at least `SIMILAR`
    of `a`'s runs of three words (of the whole file, or of the messages it sends) are found in `b`
    (containment: what `b` adds around the copy, a 400-word comment, dilutes nothing), or the two are mostly
    the same words in the same order. A form of under `_MIN_RUNS` runs (a one-line system message a README
    may quote) counts for nothing: a file that short is a copy only when `b` holds its bytes. Words, not git's 64-byte line chunks: a prompt is often one long line,
    which one edit makes a stranger to git."""
    return a == b or bool(_copies([_Source.of(path, a)], b))


def _copies(sources: list[_Source], data: bytes, sent_only: bool = False) -> list[_Source]:
    """The sources `data` holds a copy of (`sent_only`: of the text they send)."""
    if not sources:
        return []
    found = _found(data, frozenset().union(*(f for s in sources for f in s.forms(sent_only))))
    words = None if sent_only else _split(data)
    return [s for s in sources if s.data in data or s.copied_in(found, words, sent_only)]


def _base_sources(root: Path, config: Config, base_sha: str, at_base: list[str]) -> list[_Source]:
    wanted = [p for p in at_base if config.entry_for(p) is not None and not paths.is_partial(p)]
    return [_Source.of(p, text) for p, text in git.read_many(root, base_sha, wanted).items() if text.strip()]


def _copied_across(config: Config, found: list[PromptChange], sources: list[_Source]) -> list[PromptChange]:
    """A prompt new to one entry (added, or an existing file that became the copy) that holds a copy of a base
    prompt of another entry whose contract is stricter: the original may stay untouched as a decoy while
    production reads the copy, so it is a move: the strictest contract of the two (`strictest`). Only the text
    the prompt sends counts here: a new prompt of the same format, or with the same testData, is no copy."""
    out: list[PromptChange] = []
    for change in found:
        if change.listed is not None or change.head is None:
            out.append(change)
            continue
        others = [
            s
            for s in sources
            if s.path not in (change.path, change.base_path)  # a move git paired is `strictest` already
            and (src_entry := config.entry_for(s.path)) is not None
            and _tightens(src_entry, change.entry)
        ]
        copied = [
            s
            for s in _copies(others, change.head, sent_only=True)
            if change.base is None or not _copies([s], change.base, sent_only=True)
        ]
        entry = change.entry
        for s in copied:
            src_entry = config.entry_for(s.path)
            assert src_entry is not None
            entry = strictest(src_entry, entry)
        if copied:
            change = replace(change, entry=entry, copied_from=copied[0].path)
        out.append(change)
    return out


def _tightens(source: PromptEntry, entry: PromptEntry) -> bool:
    """Whether the contract of `source`'s entry holds a prompt to something `entry`'s does not: a schema, JSON
    output (or `auto` against `text`), a quality check, must-refuse rows."""
    return (
        (source.schema is not None and entry.schema is None)
        or (source.output != "text" and entry.output == "text")
        or (source.output == "json" and entry.output != "json")
        or bool({e.field for e in source.expect} - {e.field for e in entry.expect})
        or bool({e.name for e in source.evaluators} - {e.name for e in entry.evaluators})
        or (source.must_refuse is not None and entry.must_refuse is None)
    )


def _copied_out(
    root: Path,
    config: Config,
    changes: ChangeSet,
    sources: list[_Source],
    moved: list[git.FileChange],
) -> list[PromptChange]:
    """Base prompts copied or moved (edited or not, padded or not: `similar`) to a file new at the head outside
    every glob, or to one there that was not their copy at the base: the prompt leaves the review even when a
    copy stays inside the globs (a decoy), or git paired its old path with that copy. Prompts already listed
    as leaving are not repeated. Every such file is read whole, whatever its size (GitHub refuses a file over
    100 MB): the pass over it is linear and keeps only the runs of words the prompts have."""
    leaving = {c.path for c in changes.prompts if c.change == "removed"}
    sources = [s for s in sources if s.path not in leaving]
    out: list[PromptChange] = []
    said: set[str] = set()
    # a working-tree review previews the pull request: a file no commit holds (promptreview's own report
    # written beside the prompts, a scratch backup) is not one production could read instead of the prompt
    scratch = git.untracked(root) if changes.head is None else set()
    for fc in moved:
        if not fc.new_path or fc.change == "removed" or config.entry_for(fc.new_path) is not None:
            continue
        if fc.new_path in scratch:
            continue
        if fc.new_mode == git.GITLINK:  # a submodule: a commit of another repository, no file of ours
            continue
        try:
            data = git.read_at(root, changes.head, fc.new_path)
        except UsageError:  # a working-tree symlink out of the repository: not a file of ours to read
            continue
        if data is None:
            continue
        before = (
            git.read_at(root, changes.base, fc.old_path) if fc.change != "added" and fc.old_path else None
        )
        for src in _copies([s for s in sources if s.path not in said], data):
            if before is not None and _copies([src], before):
                continue  # already its copy at the base: nothing left the review here
            entry = config.entry_for(src.path)
            assert entry is not None
            said.add(src.path)
            told = note("prompt_copied_out", src.path, to=fc.new_path)
            out.append(PromptChange("removed", src.path, src.path, entry, None, None, listed=told))
    return out


# -- a model migration: every prompt file the config covers, as it is now ----------------------------------


def current_prompts(
    root: Path, config: Config, rev: str | None, only: str | None = None
) -> list[PromptChange]:
    """Every prompt file the config covers at `rev` (None: the working tree), with its contents on both sides
    (the same bytes: `migrate` runs one prompt on two models); `only`: a glob (inside the repository) that
    narrows them. The same files are refused as in a pull request's review (a symlink out of its entry, a
    file under Git LFS or a checkout filter). A glob that selects no prompt file is a `UsageError`."""
    for item in config.prompts:
        paths.check_globs(root, item.files, "prompts[].files")
    if only is not None:
        paths.check_globs(root, (only,), "--prompts")
    names = git.list_files(root, rev)
    links.refuse_links(root, config, rev)
    links.refuse_filtered(root, config, rev, names)
    covered = [n for n in names if config.entry_for(n) is not None and not paths.is_partial(n)]
    if only is not None:
        covered = [n for n in covered if paths.matches_any(n, (only,))]
        if not covered:
            raise UsageError(
                f"--prompts {only!r} matches no prompt file the config covers (its globs: "
                f"{', '.join(g for e in config.prompts for g in e.files) or 'none'})"
            )
    elif not covered:
        raise UsageError(
            f"{config.source}: its prompts[].files globs match no prompt file: nothing to migrate"
        )
    found: list[PromptChange] = []
    for name in sorted(covered):
        if links.CONTROL.search(name):
            raise UsageError(
                f"prompt file name '{links.CONTROL.sub(links.escaped, name)}' contains control characters; "
                "rename the file"
            )
        entry = config.entry_for(name)
        assert entry is not None
        data = links.read_prompt(root, rev, name, git.mode_at(root, rev, name))
        if data is None:
            continue
        links.refuse_pointer(name, data)
        found.append(PromptChange("modified", name, name, entry, data, data))
    return found
