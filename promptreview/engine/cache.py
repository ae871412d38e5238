"""SQLite store of completed model calls, keyed by `CompletionRequest.cache_key()`.

Each completion is written as it finishes (committed in short groups, see `put`), so an interrupted review resumes
where it stopped.
Errors are never stored: a call that failed is made again next time.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from promptreview import secrets
from promptreview.records import CompletionRequest, ProviderResponse, Usage

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
]


# a write group: this many answers, or this many seconds, whichever comes first
_FLUSH_EVERY = 500
_FLUSH_SECONDS = 0.5
# keys per look-up query (SQLite allows at least 999 bound parameters)
_LOOKUP_BATCH = 900


def default_cache_path(env: Mapping[str, str]) -> Path:
    if env.get("PROMPTREVIEW_CACHE_DIR"):
        return Path(env["PROMPTREVIEW_CACHE_DIR"]) / "cache.sqlite"
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "promptreview" / "cache.sqlite"


def _response(text: str) -> ProviderResponse:
    data = json.loads(text)
    data["usage"] = Usage(**data.get("usage", {}))
    return ProviderResponse(**data)


def _plain(record: Any) -> Any:
    """`dataclasses.asdict` for these flat records, without its deep copies (it was a hot spot)."""
    return {
        f.name: _plain(v) if is_dataclass(v) else v
        for f in fields(record)
        for v in (getattr(record, f.name),)
    }


def _request_json(request: CompletionRequest) -> dict[str, Any]:
    """What was asked, kept beside the answer so a cached run can be audited (like `llm logs`)."""
    return {
        "model": request.model.text,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "params": dict(request.params),
        "response_schema": request.response_schema,
        "sample_index": request.sample_index,
    }


_SAMPLE_MARK = -7_391_004  # stands for the sample index in a request's memoised, scrubbed JSON text


class _RequestText:
    """The scrubbed JSON text of requests, encoded and scrubbed once for the K samples of an input (they differ
    only in their sample index): scrubbing the whole prompt of every answer was a third of storing it."""

    def __init__(self) -> None:
        self._memo: dict[tuple[Any, ...], tuple[CompletionRequest, str]] = {}

    def __call__(self, request: CompletionRequest) -> str:
        key = (id(request.messages), id(request.response_schema), request.model, request.params)
        try:
            known = self._memo.get(key)
        except TypeError:  # a parameter value that is a dict or a list
            return secrets.scrub(json.dumps(_request_json(request), ensure_ascii=False))
        # the memo holds the request, so the ids in its key cannot be reused by other objects meanwhile
        if known is None or known[0].messages is not request.messages:
            template = secrets.scrub(
                json.dumps(_request_json(replace(request, sample_index=_SAMPLE_MARK)), ensure_ascii=False)
            )
            if len(self._memo) > 256:
                self._memo.clear()
            known = self._memo[key] = (request, template)
        before, _, after = known[1].rpartition(f'"sample_index": {_SAMPLE_MARK}}}')  # the last key
        return f'{before}"sample_index": {json.dumps(request.sample_index)}}}{after}'


class ResponseCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        # WAL + NORMAL: no fsync per completed call, and still no corruption on a crash (at worst the last
        # few calls are made again)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()
        self._group_started = 0.0
        self._pending: list[tuple[Any, ...]] = []
        self._request_text = _RequestText()

    def _migrate(self) -> None:
        self._db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL)")
        done = {row[0] for row in self._db.execute("SELECT name FROM _migrations")}
        for name, sql in _MIGRATIONS:
            if name not in done:
                with self._db:
                    self._db.execute(sql)
                    self._db.execute("INSERT INTO _migrations VALUES (?, ?)", (name, time.time()))

    def lookup(self, requests: list[CompletionRequest]) -> dict[str, ProviderResponse]:
        """The stored answers for these requests, by cache key (one look-up each, however often a key repeats)."""
        self.flush()  # answers still held in memory are answers too
        found: dict[str, ProviderResponse] = {}
        keys = list(dict.fromkeys(r.cache_key() for r in requests))
        decoded: dict[
            str, ProviderResponse
        ] = {}  # one decoding per stored text: identical answers are common
        for start in range(0, len(keys), _LOOKUP_BATCH):  # one query per batch, not one per key
            batch = keys[start : start + _LOOKUP_BATCH]
            marks = ",".join("?" * len(batch))
            for key, text in self._db.execute(
                f"SELECT key, response_json FROM completions WHERE key IN ({marks})", batch
            ):
                response = decoded.get(text)
                if response is None:
                    response = decoded[text] = _response(text)
                found[key] = response
        return found

    def put(self, request: CompletionRequest, response: ProviderResponse) -> None:
        """Store one answer. Answers are written in groups (at most _FLUSH_EVERY answers or _FLUSH_SECONDS, one
        `executemany` in one transaction each): a commit per answer made the store the slowest part of a fast
        provider's run. `close` writes the rest, also when the review is interrupted; a killed process loses at
        most the last group."""
        if not self._pending:
            self._group_started = time.monotonic()
        self._pending.append(
            (
                request.cache_key(),
                request.model.provider,
                request.model.model,
                response.served_model,
                request.sample_index,
                secrets.scrub(json.dumps(_plain(response), ensure_ascii=False)),
                time.time(),
                self._request_text(request),
            )
        )
        if len(self._pending) >= _FLUSH_EVERY or time.monotonic() - self._group_started >= _FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write the answers held so far, in one transaction."""
        if not self._pending:
            return
        self._db.execute("BEGIN")  # the connection autocommits: without it, every row is its own transaction
        try:
            self._db.executemany(
                "INSERT OR REPLACE INTO completions (key, provider, model, served_model, sample_index,"
                " response_json, created_at, request_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                self._pending,
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        self._pending.clear()

    def entries(self) -> list[tuple[dict[str, Any], ProviderResponse]]:
        """Every stored (request, response), oldest first."""
        self.flush()
        out = []
        for req, resp in self._db.execute(
            "SELECT request_json, response_json FROM completions ORDER BY rowid"
        ):
            out.append((json.loads(req) if req else {}, _response(resp)))
        return out

    def count(self) -> int:
        self.flush()
        return self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    def close(self) -> None:
        self.flush()
        self._db.close()
