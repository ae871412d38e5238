"""Conversations as suite rows: a row's `messages` (the chat format: a JSON list in a JSONL row, a JSON string
in a CSV cell) is the history the final assistant turn is re-generated after.

The history is data, never a template: it is sent as written, not rendered. Its system messages are dropped
(the prompt under review replaces the old system prompt), and a trailing assistant turn too: that is the turn
the review re-generates. Each row gets an automatic `depth` column (its history's user turns, bucketed: 1, 2,
3-4, 5-8, 9+) that `strata:` may name, unless the suite has a `depth` column of its own. An assistant turn may
say who wrote it (`model`, `prompt_version`): the replay's blind spot is the rows whose history holds
assistant turns the prompt under review did not write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from promptreview.errors import UsageError
from promptreview.records import Message
from promptreview.vocabulary import Role, one_of

COLUMN = "messages"  # the suite column that holds a row's history
DEPTH = "depth"  # the automatic stratum column
ROLES: tuple[Role, ...] = get_args(Role)
_BUCKETS = ((1, "1"), (2, "2"), (4, "3-4"), (8, "5-8"))

Origin = Literal["other", "unknown", "none"]
"""Who wrote a history's assistant turns: another model or a recorded prompt version (`other`), nobody said
(`unknown`), or there are none (`none`)."""


@dataclass(frozen=True)
class Turn:
    role: Role
    content: str
    model: str | None = None  # who wrote an assistant turn, when the row says
    prompt_version: str | None = None


def parse_history(value: Any, where: str) -> tuple[Turn, ...]:
    """A row's `messages` as turns; a CSV's JSON string is parsed first. Anything but a list of `{role,
    content}` (content a string) is a `UsageError` naming the row."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: '{COLUMN}' is not a JSON list ({exc.msg})") from None
    if not isinstance(value, list):
        raise UsageError(f"{where}: '{COLUMN}' must be a list of {{role, content}} messages")
    turns = []
    for i, item in enumerate(value):
        role = one_of(item.get("role"), ROLES) if isinstance(item, Mapping) else None
        content = item.get("content") if isinstance(item, Mapping) else None
        if role is None or not isinstance(content, str):
            raise UsageError(
                f"{where}: {COLUMN}[{i}] must have a role ({', '.join(ROLES)}) and a string 'content'"
            )
        model, version = item.get("model"), item.get("prompt_version")
        turns.append(
            Turn(
                role,
                content,
                str(model) if model not in (None, "") else None,
                str(version) if version not in (None, "") else None,
            )
        )
    return tuple(turns)


def replayed(turns: Sequence[Turn], *, own_turn: bool = False) -> tuple[Turn, ...]:
    """What is replayed: the history without its system messages, and without a trailing assistant turn unless
    the prompt brings a user turn of its own (`own_turn`). With no turn of its own, the history's last answer is
    the one re-generated; with one (a `{{input}}` message: what `suite import` writes, the current user turn
    apart from the history), the history's last answer is one that user turn replies to, and stays."""
    kept = [t for t in turns if t.role not in ("system", "developer")]
    while not own_turn and kept and kept[-1].role == "assistant":
        kept.pop()
    return tuple(kept)


def depth(turns: Sequence[Turn]) -> str:
    """The depth bucket: the replayed history's user turns (0 counts as 1: the prompt's own user turn)."""
    users = max(sum(t.role == "user" for t in replayed(turns)), 1)
    return next((label for top, label in _BUCKETS if users <= top), "9+")


def with_history(path: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with `messages` parsed (a CSV's string too) and the automatic `depth` column added (unless the
    suite has its own); rows as they are when no row has `messages`."""
    if not any(COLUMN in r for r in rows):
        return rows
    own_depth = any(DEPTH in r for r in rows)
    out = []
    for i, row in enumerate(rows):
        if row.get(COLUMN) in (None, ""):
            turns: tuple[Turn, ...] = ()
        else:
            turns = parse_history(row[COLUMN], f"{path}: row {i + 1}")
        row = {**row, COLUMN: [_plain(t) for t in turns]}
        if not own_depth:
            row[DEPTH] = depth(turns)
        out.append(row)
    return out


def _plain(turn: Turn) -> dict[str, str]:
    out = {"role": turn.role, "content": turn.content}
    if turn.model is not None:
        out["model"] = turn.model
    if turn.prompt_version is not None:
        out["prompt_version"] = turn.prompt_version
    return out


def compose(prompt: Sequence[Message], history: Any) -> tuple[Message, ...]:
    """A conversation row's request: the prompt's system and developer messages first, then the replayed
    history (as data, never rendered), then the prompt's own other messages (its user turn), if it has any."""
    head = [m for m in prompt if m.role in ("system", "developer")]
    tail = [m for m in prompt if m.role not in ("system", "developer")]
    turns = replayed(parse_history(history, "row"), own_turn=bool(tail))
    return (*head, *(Message(t.role, t.content) for t in turns), *tail)


def origin(history: Any, model: str, served: Sequence[str] = (), *, own_turn: bool = False) -> Origin:
    """Who wrote a row's replayed assistant turns, as the review sees it: `other` when a turn names another
    model than `model` (the spec or its id, or one `served` names) or any prompt version (no recorded version
    is the head's: the head never ran in production), else `unknown` when there are assistant turns, else
    `none`. `own_turn`: the prompt has a user turn of its own (`replayed`)."""
    turns = [t for t in replayed(parse_history(history, "row"), own_turn=own_turn) if t.role == "assistant"]
    if not turns:
        return "none"
    ours = {model, model.split(":", 1)[-1], *served}
    if any(t.prompt_version is not None or (t.model is not None and t.model not in ours) for t in turns):
        return "other"
    return "unknown"
