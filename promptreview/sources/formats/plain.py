"""Plain templates (`.txt`, `.md`, `.j2`): the whole file is one user message, rendered as Jinja.

A `.txt` file with lines of just `---` holds several prompts, as promptfoo reads it: each part is a prompt
of its own, reviewed and reported as `file.txt#1`, `file.txt#2`, ...
"""

from __future__ import annotations

import re

from promptreview.sources.template import PromptTemplate

_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)


def read(path: str, text: str) -> PromptTemplate:
    return PromptTemplate(path=path, messages=(("user", text),))


def read_multi(path: str, text: str) -> tuple[PromptTemplate, ...]:
    parts = [p.strip() for p in _SEPARATOR.split(text)]
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return (read(path, text),)
    return tuple(
        PromptTemplate(path=f"{path}#{i}", messages=(("user", part),), format="promptfoo")
        for i, part in enumerate(parts, start=1)
    )


def read_text(path: str, text: str) -> tuple[PromptTemplate, ...]:
    """A text file no front-matter format claimed: one prompt, or a promptfoo `.txt` of several."""
    return read_multi(path, text) if path.lower().endswith(".txt") else (read(path, text),)
