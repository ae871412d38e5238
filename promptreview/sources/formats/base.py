"""What the registry asks of a prompt format: each format module implements `PromptFormat` with module-level
names (as pre-commit's languages implement its `Language`), imports only the leaf modules (`sources.template`,
`formats.reading`) and never the registry; `sources.formats` alone lists the formats and dispatches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from promptreview.sources.template import PromptTemplate

Files = Callable[[str], "bytes | None"]
"""Another file of the same side of the review, by its path in the prompt file's own namespace (repo-relative in
a review), or None when that side has no such file. A format that reads files beside the prompt (Semantic
Kernel's `config.json`, Dotprompt's partials, Prompty's `${file:...}`) asks through it, so each side reads its
own commit; the caller keeps it inside the repository."""


@dataclass(frozen=True)
class Beside:
    """Files beside a prompt (a `Files`), and what the config says about them: a folder of Dotprompt partials."""

    read: Callable[[str], bytes | None]
    partials: str | None = (
        None  # the entry's `partials:` folder, a path in the same namespace as the prompt's
    )

    def __call__(self, path: str) -> bytes | None:
        return self.read(path)


def no_files(path: str) -> bytes | None:
    """A prompt read on its own: there are no files beside it."""
    return None


class PromptFormat(Protocol):
    NAME: str
    """The format's name, as docs/formats.md lists it."""

    SUFFIXES: tuple[str, ...]
    """File names the format claims by their name alone (lower case); the longest match among formats wins."""

    def read_named(self, path: str, text: str, files: Files) -> tuple[PromptTemplate, ...] | None:
        """A file whose name the format claims; None when it is not the format's after all (then it is read
        like any other file with its suffix). `files` reads the files beside it, at the same revision."""
        ...

    def read_document(self, path: str, doc: Any) -> PromptTemplate | None:
        """A parsed JSON or YAML document, when it is this format's (None: another format's, or none)."""
        ...

    def read_front_matter(self, path: str, meta: Any, body: str) -> PromptTemplate | None:
        """A text file with front matter, when the front matter and body are this format's."""
        ...
