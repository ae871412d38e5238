"""Plain templates (`.txt`, `.md`, `.j2`): the whole file is one user message, rendered as Jinja.

A `.txt` file with lines of just `---` holds several prompts, as promptfoo reads it: each part is a prompt
of its own, reviewed and reported as `file.txt#1`, `file.txt#2`, ... A part that is a JSON list of chat
messages is sent as those messages (their `name` kept), each message's text rendered as a template, as
promptfoo renders the strings of a JSON prompt. The parts of two versions are paired by identity, not position
(`pair_parts`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import replace

from promptreview.errors import UsageError
from promptreview.sources import safe_load
from promptreview.sources.formats import reading
from promptreview.sources.template import PromptTemplate

_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)


def read(path: str, text: str) -> PromptTemplate:
    return PromptTemplate(path=path, messages=(("user", text),))


def read_multi(path: str, text: str) -> tuple[PromptTemplate, ...]:
    parts = [p.strip() for p in _SEPARATOR.split(text)]
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return (read(path, text),)
    return tuple(_part(f"{path}#{i}", part) for i, part in enumerate(parts, start=1))


def _part(path: str, part: str) -> PromptTemplate:
    """One part of a promptfoo file: chat messages when it is a JSON list of them, else one user message."""
    if part.startswith("[") and part.endswith("]"):
        try:
            doc = safe_load.load_json(part, unique_keys=True)
        except safe_load.Unparsable:
            # promptfoo refuses a prompt that looks like JSON but is not: so do we, with its reason
            raise UsageError(
                f"{path}: looks like a JSON list of chat messages but is not valid JSON"
            ) from None
        return PromptTemplate(
            path=path,
            messages=reading.chat_messages(path, doc, "the part"),
            names=reading.message_names(path, doc),
            format="promptfoo",
        )
    return PromptTemplate(path=path, messages=(("user", part),), format="promptfoo")


_SIMILAR = 0.5  # below this, two parts are different prompts (one removed, one added), not one edited


def _text(template: PromptTemplate) -> str:
    return "\n".join(source for _, source in template.messages)


def pair_parts(
    bases: Sequence[PromptTemplate], heads: Sequence[PromptTemplate]
) -> list[tuple[PromptTemplate | None, PromptTemplate | None]]:
    """The two versions' prompts paired by identity, in the head's order, then the removed ones: an unchanged
    part with its twin wherever it moved, then each edited part with its most similar remaining one. A file of
    one prompt on each side is one pair whatever changed."""
    if len(bases) <= 1 and len(heads) <= 1:
        return [(bases[0] if bases else None, heads[0] if heads else None)]
    match: dict[int, int] = {}  # head index -> base index
    free = set(range(len(bases)))
    for h, head in enumerate(heads):  # identical parts first
        for b in sorted(free):
            if replace(bases[b], path=head.path) == head:
                match[h] = b
                free.discard(b)
                break
    scored = sorted(
        (
            (-difflib.SequenceMatcher(None, _text(bases[b]), _text(head), autojunk=False).ratio(), h, b)
            for h, head in enumerate(heads)
            if h not in match
            for b in free
        )
    )
    for score, h, b in scored:
        if -score < _SIMILAR:
            break
        if h not in match and b in free:
            match[h] = b
            free.discard(b)
    pairs: list[tuple[PromptTemplate | None, PromptTemplate | None]] = [
        (bases[match[h]] if h in match else None, head) for h, head in enumerate(heads)
    ]
    return pairs + [(bases[b], None) for b in sorted(free)]


def read_text(path: str, text: str) -> tuple[PromptTemplate, ...]:
    """A text file no front-matter format claimed: one prompt, or a promptfoo `.txt` of several."""
    return read_multi(path, text) if path.lower().endswith(".txt") else (read(path, text),)
