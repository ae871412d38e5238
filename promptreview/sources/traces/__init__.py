"""Traces into suites (`promptreview suite import`): logged model calls read by one module per format
(`openai`, `otel`, `langfuse`), turned into suite rows, cleaned and written with their provenance.

A row is the call's last user message as `input`, and the turns before it as `messages` (the chat format; the
review puts the prompt under review's system message first, then this history, then its own user turn). System
messages are left out: the prompt under review replaces them. A call whose messages end after the last user turn
(an assistant or tool turn: a call in the middle of a tool loop) cannot be replayed that way and is skipped
(counted), and so is one whose history holds tool calls or results (the replay sends text turns). Strata come from
what the log says about a call (`metadata.<key>`, or `model`). Rows equal to an earlier one are counted once. A
field whose name says it holds a secret is dropped; a field the user names (`--mask`) is kept as `***`; a value
shaped like a credential is masked by `secrets.scrub`.

The suite is written to a temporary file beside the target and renamed into place, so a failure leaves no
half-written suite; its provenance goes beside it (`SUITE.jsonl.provenance.json`), never into the suite,
which `sources/suites.py` reads as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from promptreview import __version__, secrets
from promptreview.errors import UsageError
from promptreview.sources.traces import langfuse, openai, otel
from promptreview.sources.traces.records import BadTrace, Call

TraceFormat = Literal["openai", "otel", "langfuse"]
FORMATS: dict[str, Any] = {openai.NAME: openai, otel.NAME: otel, langfuse.NAME: langfuse}
PROVENANCE_SUFFIX = ".provenance.json"
# field names that hold a credential, whatever the log: dropped with their values
SECRET_NAME = re.compile(
    r"(?i)(api[_-]?key|authorization|(^|[_.-])auth($|[_.-])|token(?!s|izer|_count)|password|passwd|"
    r"secret(?!ary)|cookie|credential|private[_-]?key|session[_-]?id)"
)  # `tokens`, `max_tokens`, `input_tokens`: counts, not credentials
MASKED = "***"
_OTLP_KEY = re.compile(rb'(?<!\\)"resourceSpans"\s*:')  # the key itself, not the word quoted in a message


@dataclass
class Counts:
    """What an import read and wrote (the provenance's `counts`)."""

    read: int = 0  # records the file held (lines, or spans)
    calls: int = 0  # of them, model calls
    kept: int = 0  # rows written
    duplicates: int = 0  # rows equal to an earlier one
    mid_turn: int = 0  # calls whose messages end after the last user turn
    tool_history: int = 0  # calls whose history holds tool calls or results (the replay sends text turns)
    no_user_message: int = 0  # calls with no user message
    dropped_fields: int = 0  # fields whose name says secret
    masked_fields: int = 0  # fields named by `--mask`
    masked_values: int = 0  # values with a credential in them
    missing_strata: int = 0  # rows without a value for a stratum (given `unknown`)


@dataclass(frozen=True)
class Imported:
    suite: Path
    provenance: Path
    counts: Counts
    fmt: str
    strata: tuple[str, ...] = field(default=())


def detect(path: Path) -> TraceFormat:
    """The format of a trace file from its first bytes: an OTLP export names `resourceSpans`, a Langfuse
    export an observation's `type` beside its trace's id; anything else is read as OpenAI JSONL."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if _OTLP_KEY.search(head):
        return "otel"
    return "langfuse" if langfuse.looks_like(head) else "openai"


def _column(key: str) -> str:
    return key.removeprefix("metadata.")


def _stratum(call: Call, key: str) -> Any:
    if key == "model":
        return call.model
    return call.metadata.get(key.removeprefix("metadata."))


class _Cleaner:
    """Drops, masks and scrubs: the one place a row's values are made safe to write."""

    def __init__(self, mask: tuple[str, ...], counts: Counts) -> None:
        self.mask = {m.removeprefix("metadata.").lower() for m in mask}
        self.counts = counts

    def value(self, value: Any, name: str = "") -> Any:
        if name and SECRET_NAME.search(name):
            return _DROP
        if name and name.lower() in self.mask:
            self.counts.masked_fields += 1
            return MASKED
        if isinstance(value, str):
            clean = secrets.scrub(value)
            if clean != value:
                self.counts.masked_values += 1
            return clean
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                kept = self.value(item, str(key))
                if kept is _DROP:
                    self.counts.dropped_fields += 1
                else:
                    out[key] = kept
            return out
        return value


_DROP = object()


def _row(call: Call, strata: tuple[str, ...], cleaner: _Cleaner, counts: Counts) -> dict[str, Any] | None:
    row: dict[str, Any] = _turns(call, counts) if call.variables is None else dict(call.variables)
    if not row:
        return None
    for key in strata:
        value = _stratum(call, key)
        if value in (None, "") or SECRET_NAME.search(key):
            counts.missing_strata += 1
            value = "unknown"
        row[_column(key)] = value if isinstance(value, (str, int, float, bool)) else json.dumps(value)
    cleaned = cleaner.value(row)
    assert isinstance(cleaned, dict)
    return cleaned


def _turns(call: Call, counts: Counts) -> dict[str, Any]:
    """A call's last user turn (`input`) and the turns before it (`messages`); {} when it has no user turn or
    goes on after it."""
    turns = [m for m in call.messages if m.get("role") not in ("system", "developer")]
    last_user = max((i for i, m in enumerate(turns) if m.get("role") == "user"), default=None)
    if last_user is None:
        counts.no_user_message += 1
        return {}
    if last_user != len(turns) - 1:
        counts.mid_turn += 1
        return {}
    row: dict[str, Any] = {"input": turns[last_user].get("content", "")}
    history = turns[:last_user]
    if any(m.get("role") not in ("user", "assistant") or m.get("tool_calls") for m in history):
        # the conversation replay sends {role, content} turns: a tool call without its result, or a result
        # without its call, is no conversation a provider takes
        counts.tool_history += 1
        return {}
    if history:
        # a history's assistant turns were answered by the model the log says this call asked for (the
        # replay's blind spot: another model's answers in the history)
        row["messages"] = [
            {**m, "model": call.model}
            if m.get("role") == "assistant" and call.model and "model" not in m
            else m
            for m in history
        ]
    return row


def _rows(
    calls: Iterable[Call | None], strata: tuple[str, ...], mask: tuple[str, ...], counts: Counts
) -> Iterator[dict[str, Any]]:
    cleaner = _Cleaner(mask, counts)
    seen: set[bytes] = set()
    ids: set[str] = set()
    for call in calls:
        counts.read += 1
        if call is None:
            continue
        counts.calls += 1
        row = _row(call, strata, cleaner, counts)
        if row is None:
            continue
        digest = hashlib.sha256(json.dumps(row, sort_keys=True, ensure_ascii=False).encode("utf-8")).digest()
        if digest in seen:
            counts.duplicates += 1
            continue
        seen.add(digest)
        rid = secrets.scrub(call.source_id) if call.source_id else f"trace{counts.calls}"
        while rid in ids:
            rid = f"{rid}-{counts.calls}"
        ids.add(rid)
        counts.kept += 1
        yield {"id": rid, **row}


class _Hashing:
    """The lines of a file, hashing its bytes as they are read (the provenance's source digest)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sha256 = hashlib.sha256()

    def __iter__(self) -> Iterator[str]:
        with self.path.open("rb") as fh:
            for number, raw in enumerate(fh, start=1):
                self.sha256.update(raw)
                try:
                    yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    raise BadTrace(f"{self.path}:{number}: not valid UTF-8 (byte {exc.start})") from None


def import_suite(
    source: Path,
    output: Path,
    fmt: TraceFormat | None = None,
    strata: tuple[str, ...] = (),
    mask: tuple[str, ...] = (),
    now: datetime | None = None,
) -> Imported:
    """Read `source` (in `fmt`, or the format its first bytes say), write the suite to `output` and its
    provenance beside it."""
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    if output.suffix.lower() not in (".jsonl", ".ndjson"):
        raise UsageError(f"{output}: the suite written must be .jsonl")
    if output.resolve() == source.resolve():
        raise UsageError(f"{output}: the suite would overwrite the trace it is read from")
    if output.is_dir():
        raise UsageError(f"{output}: is a folder; name the suite file to write")
    try:
        return _import(source, output, fmt, strata, mask, now)
    except OSError as exc:  # a folder that cannot be made or written: the user's to fix, not a crash
        raise UsageError(f"{exc.filename or output}: cannot be written ({exc.strerror or exc})") from None


def _import(
    source: Path,
    output: Path,
    fmt: TraceFormat | None,
    strata: tuple[str, ...],
    mask: tuple[str, ...],
    now: datetime | None,
) -> Imported:
    chosen: str = fmt or detect(source)
    reader = FORMATS[chosen]
    counts = Counts()
    lines = _Hashing(source)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            for row in _rows(reader.read(lines, str(source)), strata, mask, counts):
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        if counts.calls == 0:
            raise BadTrace(f"{source}: no model call found in it as {chosen} (see docs/suites.md#traces)")
        if counts.kept == 0:
            raise BadTrace(
                f"{source}: none of its {counts.calls} model calls ends with a user turn a review can replay"
            )
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    provenance = output.with_name(output.name + PROVENANCE_SUFFIX)
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = {
        "source": source.name,
        "source_sha256": lines.sha256.hexdigest(),
        "format": chosen,
        "strata": [_column(s) for s in strata],
        "masked": sorted({m.removeprefix("metadata.") for m in mask}),
        "counts": vars(counts),
        "imported_at": stamp,
        "promptreview": __version__,
    }
    provenance.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return Imported(output, provenance, counts, chosen, strata)


__all__ = [
    "FORMATS",
    "SECRET_NAME",
    "BadTrace",
    "Call",
    "Counts",
    "Imported",
    "TraceFormat",
    "detect",
    "import_suite",
]
