"""What a path in a commit stands for, when a prompt glob matches it: a file's bytes, or a symlink's target's
when the target is itself a prompt of the link's own entry (so a later edit of the target is reviewed under the
same contract); anything else is refused naming it: a link leading elsewhere, out of the repository or nowhere,
a submodule (a commit of another repository) or a directory symlink where the globs would match files, a file
under a checkout `filter` (Git LFS) or a `working-tree-encoding`, an LFS pointer."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from promptreview.errors import UsageError
from promptreview.sources import git, paths
from promptreview.sources.config import Config

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def escaped(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


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
        crossed = _crossed(root, rev, posixpath.dirname(name), target)
        if crossed is not None:
            raise UsageError(
                f"{shown(path)} is a symlink to {shown(target)!r}, a path through the symlinked folder "
                f"{shown(crossed)!r}: production follows that link, the review would not; link to the "
                "prompt by a path without symlinked folders"
            )
        if target.startswith("/") or joined == ".." or joined.startswith("../"):
            raise UsageError(
                f"{shown(path)} is a symlink to {shown(target)!r}, outside the repository; "
                "commit the prompt itself"
            )
        chain.append(joined)
        mode = git.mode_at(root, rev, joined)
    raise UsageError(
        f"{shown(path)}: more than {MAX_LINKS} symlinks in a row (or a loop); commit the prompt itself"
    )


def _crossed(root: Path, rev: str | None, folder: str, target: str) -> str | None:
    """The first symlinked folder a link's `target` text passes through, from the link's `folder`, step by
    step as the OS resolves it (`x/..` enters `x` first), or None. The link's own folder holds a path of the
    commit, so no symlink is on it."""
    parts = [p for p in folder.split("/") if p]
    steps = [p for p in target.split("/") if p not in ("", ".")]
    for step in steps[:-1]:
        if step == "..":
            if parts:
                parts.pop()
            continue
        parts.append(step)
        link = paths.crossed_link(root, rev, "/".join(parts))
        if link is not None:
            return link
    return None


def read_prompt(root: Path, rev: str | None, path: str, mode: str | None) -> bytes | None:
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
                f"{shown(path)} is a symlink to nothing readable: {shown(target)!r} does not exist "
                "in the working tree; commit the prompt itself"
            )
        raise UsageError(
            f"{shown(path)} is a symlink to {shown(target)!r}, which does not exist at {rev[:12]}; "
            "commit the prompt itself"
        )
    if mode == git.GITLINK:
        raise UsageError(_submodule(f"{path} (through a symlink to {name})"))
    if mode not in git.FILE_MODES:
        raise UsageError(
            f"{shown(path)} is a symlink to {shown(name)!r}, which is not a file; commit the prompt itself"
        )
    return git.read_at(root, rev, name)


def refuse_links(root: Path, config: Config, rev: str | None) -> None:
    """Every symlink at the head that a glob matches, or inside which a glob would match files.

    A link at a prompt path is reviewed as its target, so the target must be a prompt that its own entry
    reviews: every name along the chain is a prompt file (not a partial) matched by the same
    `prompts[]` entry. Then any later edit of the target, or of a link on the way, is itself a change of
    that entry's prompt, reviewed under the same contract; a link to a file outside the globs (whose later
    edits nobody reviews) or into another entry (a laxer contract) is refused naming the link and its
    target. A link to a directory where the globs would match files is refused too (one out of the
    repository, or to a folder holding a file a glob matches through the link): git records only the link,
    never the prompts production reads through it. Checked over the whole head, changed or not, so a
    link committed before this rule cannot be used later."""
    for link in git.symlinks(root, rev):
        entry = config.entry_for(link)
        if entry is not None:
            read_prompt(root, rev, link, git.SYMLINK)  # a link to nothing readable is refused as such
            chain, _ = _follow(root, rev, link, git.SYMLINK)
            for name in chain[1:]:
                if config.entry_for(name) != entry or paths.is_partial(name):
                    index = config.prompts.index(entry)
                    raise UsageError(
                        f"{shown(link)} is a symlink to {shown(name)!r}, which is not a prompt file of its "
                        f"own entry (prompts[{index}].files): a later edit of the target would not be "
                        "reviewed under this prompt's contract; commit the prompt itself, or link to a "
                        "prompt of the same entry"
                    )
        elif _globs_reach_inside(config, link):
            try:
                chain, mode = _follow(root, rev, link, git.SYMLINK)
            except UsageError:
                chain, mode = [link], None  # out of the repository, or a loop: nothing a review could read
            if mode == git.TREE and not _matched_through(root, config, rev, link, chain[-1]):
                continue  # a folder of this repository in which no glob matches a file through the link
            if mode not in git.FILE_MODES:
                target = git.link_text(root, rev, link) or ""
                raise UsageError(
                    f"{shown(link)} is a symlink to {shown(target)!r}, a directory (or nothing this "
                    "repository holds) where the prompt globs match files: git records only the link, so "
                    "the prompts production reads through it are never reviewed; commit the files themselves"
                )


def _matched_through(root: Path, config: Config, rev: str | None, link: str, target: str) -> bool:
    """Whether a prompt glob matches a file of the folder `target` as seen through `link` (or, for a symlink
    or a submodule in it, any file inside one), at `rev`."""
    for rel, mode in git.modes_under(root, rev, target).items():
        seen = f"{link}/{rel}"
        if config.entry_for(seen) is not None:
            return True
        if mode in (git.SYMLINK, git.GITLINK) and _globs_reach_inside(config, seen):
            return True
    return False


def refuse_filtered(root: Path, config: Config, rev: str | None, names: list[str]) -> None:
    """A prompt file (any path a glob matches at the head) whose `.gitattributes` set a `filter` (Git LFS,
    or any clean/smudge driver) or a `working-tree-encoding`: the blob git stores, which a review reads, is
    not the file a checkout gives production. Refused naming the file and the attribute."""
    prompts = [n for n in names if config.entry_for(n) is not None]
    for path, found in git.attributes(root, rev, prompts, paths.CHECKOUT_ATTRIBUTES).items():
        name, value = next(iter(found.items()))
        raise UsageError(
            f"{shown(path)}: .gitattributes sets {name}={value} on it, so what a checkout gives production "
            "is not the blob a review reads; keep prompt files out of Git LFS and checkout filters"
        )


def refuse_pointer(path: str, data: bytes) -> None:
    if data.startswith(paths.LFS_POINTER):
        raise UsageError(
            f"{shown(path)} is a Git LFS pointer, not a prompt: a review would read the pointer while "
            "production reads the file it points to; commit the prompt itself"
        )


def _submodule(what: str) -> str:
    return (
        f"{shown(what)} is a git submodule (a commit of another repository), which promptreview cannot "
        "read or review; commit the prompt files into this repository"
    )


def refuse_submodule(config: Config, fc: git.FileChange) -> None:
    """A changed submodule at a prompt path, or where a glob would match files inside it: refused."""
    for path, mode in ((fc.old_path, fc.old_mode), (fc.new_path, fc.new_mode)):
        if path is None or mode != git.GITLINK:
            continue
        if config.entry_for(path) is not None or _globs_reach_inside(config, path):
            raise UsageError(_submodule(path))


def _globs_reach_inside(config: Config, directory: str) -> bool:
    """Whether a prompt glob would match a file inside `directory`."""
    return any(paths.reaches_inside(directory, entry.files) for entry in config.prompts)


def shown(name: str) -> str:
    return CONTROL.sub(escaped, name)
