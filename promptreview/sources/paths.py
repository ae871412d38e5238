"""Keep every path a config names inside the repository (a pull request controls these files), read such a
file at a revision, and match paths against the config's globs."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path, PurePosixPath

from promptreview.errors import MissingFile, UsageError
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


def read_inside(root: Path, rev: str | None, raw: str, what: str) -> tuple[str, bytes]:
    """(repo-relative path, bytes) of a file the config names, at revision `rev` (None: the working tree)."""
    rel = repo_relative(root, raw, what)
    data = git.read_at(root, rev, rel)
    if data is None:
        where = f" at {rev[:12]}" if rev else ""
        raise MissingFile(f"{what}: file {raw!r} does not exist{where}", raw, rev)
    return rel, data


def reader(root: Path, rev: str | None) -> Callable[[str], bytes | None]:
    """Files a prompt file names beside it (partials, a `config.json`, `${file:...}`), read at `rev` (None: the
    working tree) and kept inside the repository."""

    def read(raw: str) -> bytes | None:
        return git.read_at(root, rev, repo_relative(root, raw, "a file the prompt file names"))

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
        return real.read_bytes() if real.is_file() else None

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
        repo_relative(root, g.replace("*", "x").replace("?", "x"), what)


def is_partial(path: str) -> bool:
    """A Dotprompt partial (`_name.prompt`): part of the prompts that use it, not a prompt of its own."""
    name = path.rsplit("/", 1)[-1]
    return name.startswith("_") and name.endswith(".prompt")
