"""Keep every path a config names inside the repository (a pull request controls these files), read such a
file at a revision, and match paths against the config's globs."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path, PurePosixPath

from promptreview.errors import MissingFile, RefusedFile, UsageError
from promptreview.sources import git


def repo_relative(root: Path, raw: str, what: str) -> str:
    """Validate a config path and return it as a normalised POSIX path relative to `root`.

    Refuses absolute paths, `..` segments, and paths whose real location (after symlinks) leaves the repo.
    """
    if not raw or "\x00" in raw:
        raise UsageError(f"{what}: empty or invalid path {raw!r}")
    pure = PurePosixPath(raw.replace("\\", "/"))
    if pure.is_absolute() or re.match(r"^[A-Za-z]:", raw):
        raise UsageError(f"{what}: {raw!r} is absolute; paths must be relative to the repository root")
    if ".." in pure.parts:
        raise UsageError(f"{what}: {raw!r} leaves the repository ('..' is not allowed)")
    parts = [p for p in pure.parts if p != "."]
    rel = "/".join(parts)
    real_root = root.resolve()
    real = (real_root / rel).resolve()
    if real != real_root and real_root not in real.parents:
        raise UsageError(f"{what}: {raw!r} resolves outside the repository (through a symlink)")
    return rel


LFS_POINTER = b"version https://git-lfs.github.com/spec/"
CHECKOUT_ATTRIBUTES = ("filter", "working-tree-encoding")  # a checkout's file is not the blob a review reads
_FILTERED: dict[tuple[Path, str, str], str | None] = {}


def crossed_link(root: Path, rev: str | None, path: str) -> str | None:
    """The first symlink among `path`'s folders and `path` itself at `rev` (None: the working tree); None when
    there is none. At a commit, one listing of its symlinks serves every path."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    if rev is None:
        return next((p for p in prefixes if (root / p).is_symlink()), None)
    links = git.tree_links(root, rev)[0]
    return next((p for p in prefixes if p in links), None) if links else None


def _filtered(root: Path, rev: str | None, rel: str) -> str | None:
    """`name=value` of a checkout attribute `.gitattributes` set on `rel` at `rev`, or None."""
    if rev is not None:
        if not git.tree_links(root, rev)[1]:
            return None
        rev = git.resolve_rev(root, rev)
        if (root, rev, rel) in _FILTERED:
            return _FILTERED[(root, rev, rel)]
    found = git.attributes(root, rev, [rel], CHECKOUT_ATTRIBUTES).get(rel)
    value = None if not found else "{}={}".format(*next(iter(found.items())))
    if rev is not None:
        _FILTERED[(root, rev, rel)] = value
    return value


def read_plain(root: Path, rev: str | None, rel: str, what: str) -> bytes | None:
    """The bytes of the file `rel` at `rev` (None: missing), refused naming it when it is not a plain file a
    review can stand for: a symlink or a path through a symlinked folder (production's checkout follows the
    link, the review would read the link's text or nothing), a Git LFS pointer or a file under a checkout
    filter (production reads what the checkout makes of it)."""
    link = crossed_link(root, rev, rel)
    if link is not None:
        how = "is a symlink" if link == rel else f"is reached through the symlink {link!r}"
        raise RefusedFile(
            f"{what} {rel!r} {how}: a review would not read what production reads there; commit the file "
            "itself"
        )
    data = git.read_at(root, rev, rel)
    if data is None:
        return None
    filtered = _filtered(root, rev, rel)
    if data.startswith(LFS_POINTER) or filtered is not None:
        why = f".gitattributes sets {filtered} on it" if filtered else "it is a Git LFS pointer"
        raise RefusedFile(
            f"{what} {rel!r}: {why}, so what a checkout gives production is not the blob a review reads; "
            "keep the files prompts read out of Git LFS and checkout filters"
        )
    return data


def read_inside(root: Path, rev: str | None, raw: str, what: str, plain: bool = False) -> tuple[str, bytes]:
    """(repo-relative path, bytes) of a file the config names, at revision `rev` (None: the working tree);
    `plain`: a file a prompt reads (a schema's `$ref` sibling), refused unless `read_plain` would read it."""
    rel = repo_relative(root, raw, what)
    data = read_plain(root, rev, rel, what) if plain else git.read_at(root, rev, rel)
    if data is None:
        where = f" at {rev[:12]}" if rev else ""
        raise MissingFile(f"{what}: file {raw!r} does not exist{where}", raw, rev)
    return rel, data


def reader(root: Path, rev: str | None) -> Callable[[str], bytes | None]:
    """Files a prompt file names beside it (partials, a `config.json`, `${file:...}`), read at `rev` (None: the
    working tree) and kept inside the repository."""

    def read(raw: str) -> bytes | None:
        what = "a file the prompt file names"
        return read_plain(root, rev, repo_relative(root, raw, what), what)

    return read


def disk_reader(root: Path, prompt: Path) -> Callable[[str], bytes | None]:
    """Files a prompt file names beside it, for `compare` (files on disk, named as on its command line): kept
    inside the repository when the prompt is in it, else inside the prompt file's own folder."""
    real_root = root.resolve()
    inside = prompt.resolve().parent
    fence = real_root if real_root in inside.parents or inside == real_root else inside

    def read(raw: str) -> bytes | None:
        real = Path(raw).resolve()
        if real != fence and fence not in real.parents:
            raise UsageError(f"{raw}: a file the prompt file names is outside {fence}; it is not read")
        data = real.read_bytes() if real.is_file() else None
        if data is not None and data.startswith(LFS_POINTER):
            raise RefusedFile(f"{raw}: a file the prompt file names is a Git LFS pointer; it is not read")
        return data

    return read


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Translate a gitignore-style glob (`**` spans directories, `*` and `?` stay in one segment)."""
    out = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out += re.escape(c)
            else:
                out += "[" + pattern[i + 1 : end].replace("!", "^", 1) + "]"
                i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z")


def matches_any(path: str, globs: tuple[str, ...]) -> bool:
    return any(_glob_regex(g.removeprefix("./")).match(path) for g in globs)


def reaches_inside(directory: str, globs: tuple[str, ...]) -> bool:
    """Whether a glob could match some file inside `directory` (a path with `directory/` as its prefix):
    each of the directory's segments matches the glob's segment at its place, and the glob goes deeper; a
    `**` on the way matches anything below it."""
    parts = directory.strip("/").split("/")
    for glob in globs:
        segments = glob.removeprefix("./").split("/")
        for i, part in enumerate(parts):
            if i >= len(segments):
                break
            if "**" in segments[i]:
                return True
            if not _glob_regex(segments[i]).match(part):
                break
        else:
            if len(segments) > len(parts):
                return True
    return False


def check_globs(root: Path, globs: tuple[str, ...], what: str) -> None:
    for g in globs:
        # the wildcards stand in as a letter for the check, but the message quotes the glob as the user wrote it
        stand_in = g.replace("*", "x").replace("?", "x")
        try:
            repo_relative(root, stand_in, what)
        except UsageError as exc:
            raise UsageError(str(exc).replace(repr(stand_in), repr(g), 1)) from None


def is_partial(path: str) -> bool:
    """A Dotprompt partial (`_name.prompt`): part of the prompts that use it, not a prompt of its own."""
    name = path.rsplit("/", 1)[-1]
    return name.startswith("_") and name.endswith(".prompt")
