"""Anthropic's Message Batches as a provider-batches engine (`providers/provider_batches.py`), under the same
base URL, key and headers (`x-api-key`, `anthropic-version`) as the synchronous Messages calls.

Three exchanges (shapes: the SDK's `types/messages/message_batch*.py`, copied in tests/fixtures/anthropic/):
- `POST /v1/messages/batches` `{"requests": [{"custom_id", "params"}, ...]}`: one JSON body (not a file), whose
  `params` are the synchronous call's own body (`AnthropicProvider.build_body`), so every change to what a call
  sends reaches its batch line too. The body is streamed from the encoded lines with its length known in
  advance (each line's final newline becomes the comma between two requests): it is never held in memory whole.
- `GET /v1/messages/batches/{id}`: `processing_status` (`in_progress`, `canceling` are running; `ended` ends
  it), `request_counts` {processing, succeeded, errored, canceled, expired}, `results_url` once it has ended.
- `GET {results_url}`: JSONL, streamed line by line: `{"custom_id", "result": {"type": "succeeded", "message"}
  | {"type": "errored", "error": ErrorResponse} | {"type": "canceled"} | {"type": "expired"}}`. A message is
  parsed by the provider's own `parse_response`; an errored line is judged as the HTTP status its error type
  stands for would be synchronously (a 400 `invalid_request_error` is a rejection of the request itself, a
  500 `api_error`, 529 `overloaded_error` or 429 is asked again); a canceled or expired line is asked again.

The results URL comes from the server and gets the API key: it is used only on the base URL's own origin
(scheme, host and port); one elsewhere (a proxy passing on api.anthropic.com's) is replaced by the API's own
results path under the base URL, so the key goes nowhere else. A batch id goes into a URL path: one that is not
a plain id (`^[A-Za-z0-9_-]+$`) is refused.

A create that got no answer after its whole body went out may have made the batch. Message Batches carry no tag
of ours, so the retry cannot tell that batch from another run's: it makes a new one, and a note names each batch
of the newest `GET /v1/messages/batches` page made since then with as many requests (a possible duplicate).

Every failure of these exchanges maps as a synchronous call's does (`RetryableCallError` / `FatalCallError`).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from promptreview.notes import note
from promptreview.providers.base import FatalCallError, RetryableCallError
from promptreview.providers.http import CallError, HTTPProvider
from promptreview.providers.provider_batches import BatchLimits, BatchLine, BatchStatus
from promptreview.records import CallFailure, CompletionRequest

# "up to 100,000 Message requests or 256 MB in size, whichever is reached first": MB read as 10^6 bytes (the
# smaller reading), less the body's envelope `{"requests":[` ... `]}`
LIMITS = BatchLimits(max_requests=100_000, max_bytes=256_000_000 - 1_000)

_HEAD = b'{"requests":['
_TAIL = b"]}"
_CHUNK = 1 << 20  # the upload goes out in pieces of about 1 MB, made as they are sent

_PROCESSING = ("in_progress", "canceling", "ended")  # MessageBatch.processing_status
_SKEW = datetime.timedelta(minutes=5)  # between our clock and the server's, when naming possible duplicates
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,200}$")

# an errored line's `error.type` -> the HTTP status the same error has on a synchronous call (the SDK's
# `types/shared/*_error.py`; Anthropic's errors page), so a line is judged by the same rules as a call
_ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _counts(data: Mapping[str, Any]) -> dict[str, int]:
    raw = data.get("request_counts")
    return {k: v for k, v in raw.items() if type(v) is int} if isinstance(raw, dict) else {}


def _when(value: Any) -> datetime.datetime | None:
    """An RFC 3339 time (`created_at`), or None."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


class AnthropicBatches:
    """The Message Batches API of the server `provider` calls, with its key, base URL, bodies and parsing."""

    limits = LIMITS

    def __init__(self, provider: HTTPProvider) -> None:
        self.provider = provider
        base = provider.base_url
        self.url = f"{base}/messages/batches" if base.endswith("/v1") else f"{base}/v1/messages/batches"
        self.service = f"{provider.service} (Message Batches)"
        # tag -> (when, how many requests): creates whose whole body went out and got no answer
        self._unsure: dict[str, tuple[datetime.datetime, int]] = {}

    # -- the input ------------------------------------------------------------------------------------
    def encode(self, custom_id: str, request: CompletionRequest) -> bytes:
        line = {"custom_id": custom_id, "params": self.provider.build_body(request)}
        return (_dumps(line) + "\n").encode("utf-8")

    async def submit(
        self, lines: Iterable[bytes], total_bytes: int, client: httpx.AsyncClient, *, tag: str = ""
    ) -> str:
        self.provider.require_credentials()
        if tag in self._unsure:
            # an earlier attempt's create got no answer after its whole body went out: it may have made the
            # batch. Message Batches carry no tag of ours, so a batch made since then with as many requests
            # cannot be told from another's: it is named (a note) and a new batch is made
            since, count = self._unsure.pop(tag)
            await self._name_possible_duplicates(client, since, count)
        sent = [0, False]  # requests streamed, the whole body streamed

        async def body() -> AsyncIterator[bytes]:
            yield _HEAD
            chunk: list[bytes] = []
            size = 0
            first = True
            for line in lines:
                # the line's own "\n" becomes the "," before the next one: the length stays what was counted
                chunk.append(line[:-1] if first else b"," + line[:-1])
                first = False
                size += len(line)
                sent[0] += 1
                if size >= _CHUNK:
                    yield b"".join(chunk)
                    chunk, size = [], 0
            if chunk:
                yield b"".join(chunk)
            yield _TAIL
            sent[1] = True

        if total_bytes <= 0:
            raise ValueError("a provider batch needs at least one request")
        headers = {
            **self.provider.headers(),
            "Content-Length": str(len(_HEAD) + total_bytes - 1 + len(_TAIL)),
        }
        started = datetime.datetime.now(datetime.timezone.utc)
        try:
            created = await self.provider.send_stream(
                client, self.url, body(), headers=headers, service=self.service
            )
        except RetryableCallError:
            if tag and sent[1]:  # a timeout, a dropped connection, a 5xx after the whole body: it may exist
                self._unsure[tag] = (started, int(sent[0]))
            raise
        return self._batch_id(created)

    async def _name_possible_duplicates(
        self, client: httpx.AsyncClient, since: datetime.datetime, count: int
    ) -> None:
        """Note each batch of the newest `GET /v1/messages/batches` page made since `since` (less `_SKEW` for
        the clocks) with `count` requests: what the unanswered create may have made. A server that does not
        list batches (or fails to) leaves nothing to say: the docs say a duplicate may exist."""
        try:
            page = await self.provider.get_json(client, f"{self.url}?limit=100")
        except (FatalCallError, RetryableCallError):
            return
        data = page.get("data") if isinstance(page, dict) else None
        found: list[str] = []
        for batch in data if isinstance(data, list) else []:
            if not isinstance(batch, dict) or not isinstance(batch.get("id"), str):
                continue
            made = _when(batch.get("created_at"))
            if made is None or made < since - _SKEW or sum(_counts(batch).values()) != count:
                continue
            if _BATCH_ID.match(batch["id"]):
                found.append(batch["id"])
        if found:
            self.provider.notes.append(
                note(
                    "provider_batch_maybe_duplicate",
                    self.provider.name,
                    service=self.service,
                    batches=", ".join(found[:5]),
                    requests=count,
                )
            )

    # -- the batch ------------------------------------------------------------------------------------
    async def status(self, batch_id: str, client: httpx.AsyncClient) -> BatchStatus:
        self.provider.require_credentials()
        data = await self.provider.get_json(client, f"{self.url}/{self._checked_id(batch_id)}")
        if not isinstance(data, dict) or data.get("processing_status") not in _PROCESSING:
            raise self.provider.malformed("processing_status", data)
        counts = _counts(data)
        finished = sum(counts.get(k, 0) for k in ("succeeded", "errored", "canceled", "expired"))
        results_url = data.get("results_url") if isinstance(data.get("results_url"), str) else None
        handle = {"results_url": results_url}
        if data["processing_status"] != "ended":
            return BatchStatus(batch_id, "running", counts, None, handle, finished=finished)
        if results_url is None:
            # ended, and its results are gone (archived, 29 days after it was made): nothing can be read, and
            # every request is to be sent again
            when = data.get("archived_at") if isinstance(data.get("archived_at"), str) else None
            message = (
                f"its results are no longer available (archived {when})" if when else "it has no results"
            )
            return BatchStatus(batch_id, "expired", counts, message, handle, finished=finished)
        if counts.get("expired", 0):
            return BatchStatus(batch_id, "expired", counts, None, handle, finished=finished)
        if counts.get("canceled", 0) or data.get("cancel_initiated_at"):
            return BatchStatus(batch_id, "cancelled", counts, None, handle, finished=finished)
        return BatchStatus(batch_id, "ended", counts, None, handle, finished=finished)

    async def results(
        self, batch_id: str, status: BatchStatus, client: httpx.AsyncClient
    ) -> AsyncIterator[BatchLine]:
        url = status.handle.get("results_url")
        if not url:
            return
        if _origin(url) != _origin(self.url):
            # never the key to another host: the same results from the API's own path under the base URL
            # (`GET /v1/messages/batches/{id}/results`, what `results_url` names on api.anthropic.com)
            url = f"{self.url}/{self._checked_id(batch_id)}/results"
        # the SDK asks for the results with `Accept: application/binary`
        headers = {**self.provider.headers(), "Accept": "application/binary"}
        async for text in self.provider.stream_lines(client, url, service=self.service, headers=headers):
            if text.strip():
                yield self._line(text)

    # -- helpers --------------------------------------------------------------------------------------
    def _checked_id(self, batch_id: str) -> str:
        if not _BATCH_ID.match(batch_id):
            raise FatalCallError(
                CallFailure(
                    "invalid_response",
                    f"{self.service}: {self.provider.scrubbed(batch_id)[:100]!r} is not a batch id",
                )
            )
        return batch_id

    def _batch_id(self, created: Any) -> str:
        batch_id = created.get("id") if isinstance(created, dict) else None
        if not isinstance(batch_id, str) or not batch_id:
            raise self.provider.malformed("batch id", created)
        return self._checked_id(batch_id)

    def _line(self, text: str) -> BatchLine:
        """One line of the results (MessageBatchIndividualResponse)."""
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        custom_id = data.get("custom_id") if isinstance(data, dict) else None
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(custom_id, str) or not isinstance(result, dict):
            # not what Message Batches write: nothing in it can be matched to a request
            raise FatalCallError(
                CallFailure(
                    "invalid_response",
                    f"{self.service}: a result line is not a batch result "
                    f"({self.provider.scrubbed(text[:120])!r})",
                )
            )
        kind = result.get("type")
        if kind == "succeeded":
            try:
                return BatchLine(custom_id, self.provider.parse_response(result.get("message")), None)
            except FatalCallError as exc:  # a success without the answer: asked again
                return BatchLine(custom_id, None, exc.failure, retryable=True)
        if kind == "errored":
            verdict = self._judge(result.get("error"))
            return BatchLine(
                custom_id, None, verdict.failure, retryable=isinstance(verdict, RetryableCallError)
            )
        word = kind if kind in ("canceled", "expired") else "no result"
        failure = CallFailure(
            "timeout",
            f"{self.service}: the request was not answered in its batch ({word})",
            code=word if isinstance(kind, str) else None,
        )
        return BatchLine(custom_id, None, failure, retryable=True)

    def _judge(self, body: Any) -> CallError:
        """An errored line's ErrorResponse, judged as the same error on a synchronous call would be."""
        error = body.get("error") if isinstance(body, dict) else None
        kind = error.get("type") if isinstance(error, dict) else None
        status = _ERROR_STATUS.get(kind, 500) if isinstance(kind, str) else 500
        return self.provider.verdict(httpx.Response(status, json=body), body)
