"""SQLite store of completed model calls, keyed by `CompletionRequest.cache_key()`.

Each completion is written as it finishes (committed in short groups, see `put`), so an interrupted review resumes
where it stopped.
Errors are never stored: a call that failed is made again next time.

Tables: `completions` (one row per answer: its key, model, sample index, the answer's JSON, and the digest of the
request that asked it) and `requests` (each request's scrubbed JSON once, its sample index marked, under its
digest: the K samples of an input share it). `entries` joins them back into (request, answer) pairs. Rows
written before the `requests` table carry their own request JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from promptreview import secrets
from promptreview.records import CompletionRequest, ProviderResponse, ToolCall, Usage, interned
from promptreview.vocabulary import FINISH_REASONS, one_of

_MIGRATIONS = [
    (
        "001_completions",
        """
        CREATE TABLE completions (
            key TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            served_model TEXT,
            sample_index INTEGER NOT NULL,
            response_json TEXT NOT NULL,
            created_at REAL NOT NULL
        )
        """,
    ),
    (
        "002_request_json",
        "ALTER TABLE completions ADD COLUMN request_json TEXT",
    ),
    (
        "003_requests",
        "CREATE TABLE requests (digest TEXT PRIMARY KEY, request_json TEXT NOT NULL)",
    ),
    (
        "004_request_digest",
        "ALTER TABLE completions ADD COLUMN request_digest TEXT",
    ),
    (
        # an answer's provenance as columns, to query by (which answers a fingerprint made, and when); the answer's
        # JSON holds them too, and rows written before are NULL here (their JSON lacks them: read as None)
        "005_provenance",
        """
        ALTER TABLE completions ADD COLUMN system_fingerprint TEXT;
        ALTER TABLE completions ADD COLUMN response_id TEXT;
        ALTER TABLE completions ADD COLUMN provider_created REAL
        """,
    ),
    (
        # provider batches submitted and not collected yet: a later run (or another machine with this cache)
        # polls them instead of sending their requests again; `keys` are the cache keys sent, one per line
        "006_batches",
        """
        CREATE TABLE provider_batches (
            provider TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            batch_id TEXT NOT NULL,
            keys TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (provider, endpoint, batch_id)
        )
        """,
    ),
]


# a write group: this many answers, or this many seconds, whichever comes first
_FLUSH_EVERY = 500
_FLUSH_SECONDS = 0.5
# keys per look-up query (SQLite allows at least 999 bound parameters)
_LOOKUP_BATCH = 900
# read the whole table instead when it holds at most this many answers per answer looked for
_SCAN_FACTOR = 3


def default_cache_path(env: Mapping[str, str]) -> Path:
    if env.get("PROMPTREVIEW_CACHE_DIR"):
        return Path(env["PROMPTREVIEW_CACHE_DIR"]) / "cache.sqlite"
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "promptreview" / "cache.sqlite"


def _response(text: str) -> ProviderResponse:
    data = json.loads(text)
    data["usage"] = Usage(**data.get("usage", {}))
    for name in ("served_model", "system_fingerprint"):  # the same few texts on every row: held once
        if name in data:
            data[name] = interned(data[name])
    # read back from disk: narrowed like a provider's answer (a reason of its own is `other`)
    reason = data.get("finish_reason")
    data["finish_reason"] = one_of(reason, FINISH_REASONS) or ("other" if reason else None)
    # a row stored before tools has no `tool_calls`: the default, no call
    data["tool_calls"] = tuple(ToolCall(**call) for call in data.get("tool_calls") or ())
    return ProviderResponse(**data)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(record: Any) -> Any:
    """`dataclasses.asdict` for these flat records, without its deep copies (it was a hot spot), and with each
    class's field names looked up once."""
    names = _FIELD_NAMES.get(type(record))
    if names is None:
        names = _FIELD_NAMES[type(record)] = tuple(f.name for f in fields(record))
    out = {}
    for name in names:
        value = getattr(record, name)
        if is_dataclass(value):
            value = _plain(value)
        elif type(value) is tuple and value and is_dataclass(value[0]):  # a response's tool calls
            value = [_plain(v) for v in value]
        out[name] = value
    return out


def _request_json(request: CompletionRequest) -> dict[str, Any]:
    """What was asked, kept beside the answer so a cached run can be audited (like `llm logs`): every field that
    decides the answer (the request side of provenance: its digest is the row's key). `sample_index` stays
    last (`_with_sample`)."""
    out: dict[str, Any] = {
        "model": request.model.text,
        "messages": [m.wire for m in request.messages],
        "params": dict(request.params),
        "response_schema": request.response_schema,
    }
    # the response format's settings, only where they differ from the defaults (a request without them is
    # stored as it always was)
    if request.schema_name != "output":
        out["schema_name"] = request.schema_name
    if request.json_object:
        out["json_object"] = True
    if request.schema_strict is not None:
        out["schema_strict"] = request.schema_strict
    if request.tools:  # only when declared: a request without tools is stored as it always was
        out["tools"] = list(request.tools)
        out["tool_choice"] = request.tool_choice
    out["sample_index"] = request.sample_index  # the last key: `_with_sample` finds the mark there
    return out


_SAMPLE_MARK = -7_391_004  # stands for the sample index in a request's stored, scrubbed JSON text


def _with_sample(template: str, sample_index: int) -> str:
    """A request's JSON text from its stored template: the mark (in the last key) becomes the sample index."""
    before, _, after = template.rpartition(f'"sample_index": {_SAMPLE_MARK}}}')
    return f'{before}"sample_index": {json.dumps(sample_index)}}}{after}'


class _RequestText:
    """The scrubbed JSON text of a request with its sample index marked, and that text's digest, made once for the
    K samples of an input (they differ only in their sample index). The text is stored once under its digest
    (table `requests`), each answer names the digest: scrubbing and storing the whole prompt with every answer
    was most of the cost of storing it."""

    def __init__(self) -> None:
        self._memo: dict[tuple[Any, ...], tuple[CompletionRequest, str, str]] = {}

    def __call__(self, request: CompletionRequest) -> tuple[str, str]:
        key = (
            id(request.messages),
            id(request.response_schema),
            request.model,
            request.params,
            request.schema_name,
            request.json_object,
            request.schema_strict,
            id(request.tools),
        )
        try:
            known = self._memo.get(key)
        except TypeError:  # a parameter value that is a dict or a list
            return self._encode(request)
        # the memo holds the request, so the ids in its key cannot be reused by other objects meanwhile
        if known is None or known[0].messages is not request.messages:
            if len(self._memo) > 256:
                self._memo.clear()
            known = self._memo[key] = (request, *self._encode(request))
        return known[1], known[2]

    @staticmethod
    def _encode(request: CompletionRequest) -> tuple[str, str]:
        marked = replace(request, sample_index=_SAMPLE_MARK)
        template = secrets.scrub(json.dumps(_request_json(marked), ensure_ascii=False))
        return template, hashlib.sha256(template.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout=5000")  # first: another process may hold the file right now
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: no fsync per completed call, and still no corruption on a crash (at worst the last
        # few calls are made again)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()
        self._group_started = 0.0
        self._pending: list[tuple[Any, ...]] = []
        self._request_text = _RequestText()
        self._new_requests: dict[str, str] = {}  # digest -> request text, to write with the pending answers
        self._stored_requests: set[str] = set()  # digests written by this process

    def _migrate(self) -> None:
        """Apply the migrations not applied yet, in one write transaction: two reviews opening the same cache at
        once (two `check` runs sharing ~/.cache) take turns, and the second finds the work done."""
        self._db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL)")
        applied = {row[0] for row in self._db.execute("SELECT name FROM _migrations")}
        if applied >= {name for name, _ in _MIGRATIONS}:
            return
        self._db.execute("BEGIN IMMEDIATE")  # the write lock, before reading what is done
        try:
            done = {row[0] for row in self._db.execute("SELECT name FROM _migrations")}
            for name, sql in _MIGRATIONS:
                if name not in done:
                    for statement in sql.split(
                        ";"
                    ):  # one statement per execute; a migration may hold several
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute("INSERT INTO _migrations VALUES (?, ?)", (name, time.time()))
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def lookup(self, requests: list[CompletionRequest]) -> dict[str, ProviderResponse]:
        """The stored answers for these requests, by cache key (one look-up each, however often a key repeats)."""
        self.flush()  # answers still held in memory are answers too
        found: dict[str, ProviderResponse] = {}
        keys = list(dict.fromkeys(r.cache_key() for r in requests))
        # one decoding per stored text: identical answers are common
        decoded: dict[str, ProviderResponse] = {}
        for key, text in self._stored(keys):
            response = decoded.get(text)
            if response is None:
                response = decoded[text] = _response(text)
            found[key] = response
        return found

    def _stored(self, keys: list[str]) -> Iterator[tuple[str, str]]:
        """(key, answer text) of the stored answers among `keys`. When the cache holds not many more answers
        than are asked for (a re-run of one review), one pass over the table, skipping the others, is three
        times faster than looking each key up; otherwise one query per batch of keys, not one per key."""
        if not keys:
            return
        if self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0] <= _SCAN_FACTOR * len(keys):
            wanted = set(keys)
            for key, text in self._db.execute("SELECT key, response_json FROM completions"):
                if key in wanted:
                    yield key, text
            return
        for start in range(0, len(keys), _LOOKUP_BATCH):
            batch = keys[start : start + _LOOKUP_BATCH]
            marks = ",".join("?" * len(batch))
            yield from self._db.execute(
                f"SELECT key, response_json FROM completions WHERE key IN ({marks})", batch
            )

    def put(self, request: CompletionRequest, response: ProviderResponse) -> None:
        """Store one answer. Answers are written in groups (at most _FLUSH_EVERY answers or _FLUSH_SECONDS, one
        `executemany` in one transaction each): a commit per answer made the store the slowest part of a fast
        provider's run. `close` writes the rest, also when the review is interrupted; a killed process loses at
        most the last group."""
        if not self._pending:
            self._group_started = time.monotonic()
        template, digest = self._request_text(request)
        if digest not in self._stored_requests:
            self._new_requests[digest] = template
        self._pending.append(
            (
                request.cache_key(),
                request.model.provider,
                request.model.model,
                response.served_model,
                request.sample_index,
                secrets.scrub(json.dumps(_plain(response), ensure_ascii=False)),
                time.time(),
                digest,
                response.system_fingerprint,
                response.response_id,
                response.provider_created,
            )
        )
        if len(self._pending) >= _FLUSH_EVERY or time.monotonic() - self._group_started >= _FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write the answers held so far (and the requests they name), in one transaction."""
        if not self._pending:
            return
        self._db.execute("BEGIN")  # the connection autocommits: without it, every row is its own transaction
        try:
            self._db.executemany(
                "INSERT OR IGNORE INTO requests (digest, request_json) VALUES (?, ?)",
                self._new_requests.items(),
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO completions (key, provider, model, served_model, sample_index,"
                " response_json, created_at, request_digest, system_fingerprint, response_id, provider_created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self._pending,
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        self._stored_requests.update(self._new_requests)
        self._new_requests.clear()
        self._pending.clear()

    def entries(self) -> list[tuple[dict[str, Any], ProviderResponse]]:
        """Every stored (request, response), oldest first."""
        self.flush()
        out = []
        for own, shared, sample, resp in self._db.execute(
            "SELECT c.request_json, r.request_json, c.sample_index, c.response_json FROM completions c"
            " LEFT JOIN requests r ON r.digest = c.request_digest ORDER BY c.rowid"
        ):
            # rows written before the requests table carry their own request text
            text = own if own else _with_sample(shared, sample) if shared else None
            out.append((json.loads(text) if text else {}, _response(resp)))
        return out

    def recorded_at(self, keys: list[str]) -> dict[str, float]:
        """When each stored answer among `keys` was written (UNIX seconds), by cache key: `drift` says when the
        answers it compares against were made."""
        self.flush()
        out: dict[str, float] = {}
        wanted = list(dict.fromkeys(keys))
        for start in range(0, len(wanted), _LOOKUP_BATCH):
            batch = wanted[start : start + _LOOKUP_BATCH]
            marks = ",".join("?" * len(batch))
            for key, created in self._db.execute(
                f"SELECT key, created_at FROM completions WHERE key IN ({marks})", batch
            ):
                out[key] = float(created)
        return out

    # -- provider batches still to collect ------------------------------------------------------------
    def add_batch(self, provider: str, endpoint: str, batch_id: str, keys: Sequence[str]) -> None:
        """Remember a submitted provider batch and the cache keys it was sent (committed at once: a run
        interrupted a moment later must still find it)."""
        self._db.execute(
            "INSERT OR REPLACE INTO provider_batches (provider, endpoint, batch_id, keys, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (provider, endpoint, batch_id, "\n".join(keys), time.time()),
        )

    def open_batches(self, provider: str, endpoint: str) -> list[tuple[str, list[str]]]:
        """The provider batches submitted to `endpoint` and not collected yet: (batch id, its keys), oldest
        first."""
        rows = self._db.execute(
            "SELECT batch_id, keys FROM provider_batches WHERE provider = ? AND endpoint = ? ORDER BY rowid",
            (provider, endpoint),
        )
        return [(batch_id, keys.split("\n") if keys else []) for batch_id, keys in rows]

    def forget_batch(self, provider: str, endpoint: str, batch_id: str) -> None:
        """A provider batch is collected (or refused): no run polls it again. Its answers are written first."""
        self.flush()
        self._db.execute(
            "DELETE FROM provider_batches WHERE provider = ? AND endpoint = ? AND batch_id = ?",
            (provider, endpoint, batch_id),
        )

    def count(self) -> int:
        self.flush()
        return int(self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0])

    def close(self) -> None:
        self.flush()
        self._db.close()
