"""What a review says beside its numbers, as records: a `Note` is a kind, what it is about, and its values.

The stages that notice something (the suite sampler, a prompt format, the planner, a provider, the quality
checks, the gates, ...) emit a `Note`; whatever decides something about one (is a warning inconclusive, is a
note already said by another line, are two the same) reads its `kind` and `data`, never its words. The words
are made in one place, `report/notes.py`, for every format. A leaf: it imports only the vocabulary, so every
stage can import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from promptreview.vocabulary import NoteKind

NoteValue: TypeAlias = "str | int | float | bool | None | tuple[NoteValue, ...]"
"""A value a note carries: a scalar, or a tuple of them (tuples, not lists, so a note can be hashed)."""


@dataclass(frozen=True)
class Note:
    """One note or warning. `subject`: what it is about, where it has one (a file, a side, a metric, a check,
    a model); `data`: the values its words quote (numbers unformatted: the words format them)."""

    kind: NoteKind
    subject: str | None = None
    data: Mapping[str, NoteValue] = field(default_factory=dict)

    def __hash__(self) -> int:  # `data` is a mapping: hashed by its items, so notes dedupe like values
        return hash((self.kind, self.subject, tuple(sorted(self.data.items()))))


def note(kind: NoteKind, subject: str | None = None, **data: NoteValue) -> Note:
    """`Note(kind, subject, data)` with the data as keywords: `note("stratum_short", label, rows=3, quota=5)`."""
    return Note(kind, subject, data)


@dataclass(frozen=True)
class PromptWarning:
    """A review-level warning: one of a prompt's warnings, and the prompt it belongs to."""

    path: str
    note: Note


INCONCLUSIVE: frozenset[NoteKind] = frozenset({"rate_inconclusive", "check_inconclusive"})
"""Warnings that only say a change beyond its margin is not significant: a prompt whose every warning is one
of these is "inconclusive" in the report's words (its JSON verdict stays `warn`)."""
