"""The leakage guard: suite rows whose inputs or expected answers the prompt under review already holds.

An evaluation set copied into a prompt's few-shot examples measures nothing: the model is shown the answer.
The prompt's text is the head side's templates as written, their variable slots taken out (what every
rendering shares); a suite value is looked for in it two ways, on words (`\\w+`, case folded, as the copy
detection of `sources/changes.py` splits them):
- verbatim: the value's words, in order, are a run of the prompt's words;
- by overlap: of the value's runs of `NGRAM` words, the share the prompt holds is at least `min_overlap`
  (a paraphrase that keeps most of an example's wording).
A value shorter than `MIN_WORDS` words (a label, a number, a name) is never counted: a prompt lists its
labels on purpose. The values looked at are the suite columns the head's templates use (the inputs), those
the entry's expectations compare with (the expected answers), and a conversation row's history (`messages`):
each user and assistant turn the replay sends is an input (`messages[i]`), and a trailing assistant turn the
review re-generates (a prompt without a user turn of its own), the production answer, an expected answer (a few-shot example that is a suite
conversation shows the model the turns it is asked to continue). Its system turns are the old prompt, which
the prompt under review is expected to resemble: they are not looked for. A 10,000-row suite against a 20 kB
prompt is one set of the prompt's word runs and one pass over each value's words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from promptreview.engine.jobs import PromptJob
from promptreview.report.document import LeakedRow
from promptreview.sources import conversations
from promptreview.sources.config import LeakageSpec
from promptreview.vocabulary import LeakKind

NGRAM = 8  # words in a run: long enough that shared phrasing ("please answer in JSON with the") is rare
MIN_WORDS = 5  # shorter values (labels, numbers, names) are never counted as leaked
_WORD = re.compile(r"\w+")
# what varies between renderings: Jinja / Handlebars / Mustache slots and tags, f-string and Prompty slots
_SLOTS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|\{[A-Za-z_][\w.]*\}", re.DOTALL)


def words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def literal_text(sources: Iterable[str]) -> str:
    """The prompt's own text: its templates without their variable slots."""
    return "\n".join(_SLOTS.sub(" ", source) for source in sources)


class PromptText:
    """A prompt's words as the guard looks values up in them: its runs of `NGRAM` words, and the whole as
    one space-joined string for the verbatim test."""

    def __init__(self, text: str) -> None:
        ws = words(text)
        self.joined = " " + " ".join(ws) + " "
        self.runs = set(zip(*(ws[k:] for k in range(NGRAM)), strict=False))
        self.vocabulary = frozenset(ws)

    def _held_runs(self, ws: list[str]) -> int:
        """How many of the runs of `NGRAM` words of `ws` the prompt holds (the runs built by `zip`, in C: a
        slice per run was most of the cost)."""
        return sum(run in self.runs for run in zip(*(ws[k:] for k in range(NGRAM)), strict=False))

    def holds(self, value: Any, min_overlap: float) -> tuple[float, bool] | None:
        """(overlap, verbatim) when the prompt holds `value`; None when it does not."""
        ws = words(value if isinstance(value, str) else str(value))
        if len(ws) < MIN_WORDS:
            return None
        if len(ws) < NGRAM:
            # too short for a run: verbatim or nothing (each word the prompt's first, a cheap refusal)
            return (1.0, True) if self.vocabulary.issuperset(ws) and self._verbatim(ws) else None
        overlap = self._held_runs(ws) / (len(ws) - NGRAM + 1)
        # every run held: the value may still be pieces in another order; the scan of the prompt says
        verbatim = overlap == 1.0 and self._verbatim(ws)
        if verbatim or overlap >= min_overlap:
            return (1.0 if verbatim else overlap, verbatim)
        return None

    def _verbatim(self, ws: list[str]) -> bool:
        return (" " + " ".join(ws) + " ") in self.joined


def _columns(job: PromptJob) -> list[tuple[str, LeakKind]]:
    # (the history is sent whatever the template, and looked at turn by turn: `_turns`)
    inputs = [
        (c, "input") for c in sorted(job.variables & job.suite_sample.columns) if c != conversations.COLUMN
    ]
    expected = [(e.column, "expected") for e in job.entry.expect] if job.entry is not None else []
    seen: set[str] = set()
    out: list[tuple[str, LeakKind]] = []
    for column, kind in [*inputs, *expected]:
        if column not in seen:
            seen.add(column)
            out.append((column, kind))  # type: ignore[arg-type]  # the two literals above
    return out


def leaked_rows(job: PromptJob, spec: LeakageSpec) -> tuple[LeakedRow, ...]:
    """The sampled rows the head prompt holds, one record per row (its most-leaked value)."""
    text = PromptText(literal_text(source for _, source in job.head.template.messages))
    if not text.runs and len(text.joined) < 3:
        return ()
    columns = _columns(job)
    # a prompt with a user turn of its own replays the history whole (`conversations.replayed`)
    own_turn = any(role not in ("system", "developer") for role, _ in job.head.template.messages)
    out = []
    for row in job.suite_sample.rows:
        values, looked = _turns(row.values.get(conversations.COLUMN), row.values, columns, own_turn)
        found = _worst(values, looked, text, spec.min_overlap)
        if found is not None:
            column, kind, (overlap, verbatim) = found
            out.append(LeakedRow(row.input_id, column, kind, round(overlap, 4), verbatim))
    return tuple(out)


def _turns(
    history: Any, values: Mapping[str, Any], columns: list[tuple[str, LeakKind]], own_turn: bool
) -> tuple[Mapping[str, Any], list[tuple[str, LeakKind]]]:
    """The row's values and the columns looked at, with a conversation's turns added as `messages[i]` (its
    index in the row's history): the replayed user and assistant turns as inputs, a trailing assistant turn
    the review re-generates (the prompt has no user turn of its own) as an expected answer."""
    if not history or not isinstance(history, list):
        return values, columns
    turns = conversations.parse_history(history, "row")  # (parsed and checked when the suite was read)
    replayed = len(conversations.replayed(turns, own_turn=own_turn))
    spoken = [i for i, t in enumerate(turns) if t.role in ("user", "assistant")]
    added: dict[str, Any] = {}
    looked = list(columns)
    for n, i in enumerate(spoken):
        column = f"{conversations.COLUMN}[{i}]"
        added[column] = turns[i].content
        looked.append((column, "input" if n < replayed else "expected"))
    return {**values, **added}, looked


def _worst(
    values: Mapping[str, Any], columns: list[tuple[str, LeakKind]], text: PromptText, min_overlap: float
) -> tuple[str, LeakKind, tuple[float, bool]] | None:
    best = None
    for column, kind in columns:
        value = values.get(column)
        if value is None or value == "":
            continue
        held = text.holds(value, min_overlap)
        if held is not None and (best is None or held > best[2]):
            best = (column, kind, held)
    return best
