"""OpenAI's Batch API as a provider-batches engine (`providers/provider_batches.py`), for `openai` and every
server that speaks it under the same base URL (Azure OpenAI's v1 API, vLLM's batch server, ...).

Four exchanges, all under `OPENAI_BASE_URL`:
- `POST /files` (multipart/form-data, `purpose=batch`): the JSONL input, one `{custom_id, method, url, body}`
  line per request, whose body is the synchronous call's own (`ChatCompletionsProvider.build_body`), so every
  change to what a call sends reaches its batch line too. The multipart body is streamed from the lines with its
  length known in advance: the file is never held in memory, let alone twice.
- `POST /batches` `{input_file_id, endpoint: "/v1/chat/completions", completion_window: "24h", metadata:
  {promptreview_batch: <tag>}}`: the batch id. A create that got no answer (a timeout, a dropped connection, a
  5xx) may have made the batch: the retry first looks for its tag in the newest `GET /batches` pages and takes
  that batch, else makes it from the file already uploaded.
- `GET /batches/{id}`: its status (`validating`, `in_progress`, `finalizing`, `cancelling` are running;
  `completed`, `expired`, `cancelled`, `failed` end it), its `request_counts`, its output and error file ids.
- `GET /files/{id}/content` of the output file and of the error file, each streamed line by line: a line's
  `response.body` is a Chat Completions response, parsed by the provider's own `parse_response`; a line whose
  `response.status_code` is not 2xx is judged as that status would be synchronously (the provider's `classify`,
  then the shared status rules), so a 4xx for what the request asks is a rejection and a 5xx or 429 is retried;
  a line with an `error` and no response (`batch_expired`, `batch_cancelled`) is sent again.

Every failure of these exchanges maps as a synchronous call's does (`RetryableCallError` / `FatalCallError`).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx

from promptreview.providers.base import FatalCallError, RetryableCallError
from promptreview.providers.chat_completions import ChatCompletionsProvider
from promptreview.providers.http import CallError
from promptreview.providers.provider_batches import BatchLimits, BatchLine, BatchStatus
from promptreview.records import CallFailure, CompletionRequest
from promptreview.vocabulary import BatchState

ENDPOINT = "/v1/chat/completions"
# CreateBatchRequest.input_file_id: "up to 50,000 requests, and can be up to 200 MB in size" (MB read as 10^6
# bytes, the smaller reading, with room for the multipart envelope)
LIMITS = BatchLimits(max_requests=50_000, max_bytes=200_000_000 - 64_000)

_STATES: dict[str, BatchState] = {
    "validating": "running",
    "in_progress": "running",
    "finalizing": "running",
    "cancelling": "running",
    "completed": "ended",
    "expired": "expired",
    "cancelled": "cancelled",
    "failed": "failed",
}


# the metadata key a batch is tagged with: a digest of its requests' cache keys, so the batch an unanswered
# create may have made is found (`GET /batches`) instead of made twice and billed twice
TAG = "promptreview_batch"
FIND_PAGES = 3  # pages of 100 batches, newest first, looked through for it

# what a batch id or a file id may look like before it goes into a URL path (OpenAI's are `batch_...` and
# `file-...`): an id from a server or a restored cache never adds a path segment, a query or another host
_ID = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class OpenAIBatches:
    """The Batch API of the server `provider` calls, with its key, base URL, bodies and parsing."""

    limits = LIMITS

    def __init__(self, provider: ChatCompletionsProvider) -> None:
        self.provider = provider
        self.base_url = provider.base_url
        self.service = f"{provider.service} (Batch API)"
        self._uploaded: dict[str, str] = {}  # tag -> the input file an attempt uploaded, its batch not made
        self._unsure: set[str] = set()  # tags whose batch create got no answer: it may exist

    # -- the input ------------------------------------------------------------------------------------
    def encode(self, custom_id: str, request: CompletionRequest) -> bytes:
        body = self.provider.build_body(request)
        line = {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}
        return (_dumps(line) + "\n").encode("utf-8")

    async def submit(
        self, lines: Iterable[bytes], total_bytes: int, client: httpx.AsyncClient, *, tag: str = ""
    ) -> str:
        self.provider.require_credentials()
        if tag in self._unsure:
            # an earlier attempt's create got no answer: it may have made the batch. Found, it is the batch;
            # otherwise the file that attempt uploaded is used again
            found = await self._find(client, tag)
            if found is not None:
                self._unsure.discard(tag)
                return found
        file_id = self._uploaded.get(tag) if tag else None
        if file_id is None:
            file_id = await self._upload(lines, total_bytes, client)
            if tag:
                self._uploaded[tag] = file_id
        create: dict[str, Any] = {"input_file_id": file_id, "endpoint": ENDPOINT, "completion_window": "24h"}
        if tag:
            create["metadata"] = {TAG: tag}
        try:
            created = await self.provider.post_json(client, f"{self.base_url}/batches", create)
        except RetryableCallError:
            if tag:  # a timeout, a dropped connection, a 5xx: the batch may exist all the same
                self._unsure.add(tag)
            raise
        self._uploaded.pop(tag, None)
        self._unsure.discard(tag)
        batch_id = created.get("id") if isinstance(created, dict) else None
        if not isinstance(batch_id, str) or not batch_id:
            raise self.provider.malformed("batch id", created)
        return self._id(batch_id, "batch id")

    async def _find(self, client: httpx.AsyncClient, tag: str) -> str | None:
        """The batch tagged `tag` (`metadata`), looked for in the newest `FIND_PAGES` pages of `GET /batches`;
        None when none is there, or the server does not list batches (a compatible server may not)."""
        after: str | None = None
        for _ in range(FIND_PAGES):
            url = f"{self.base_url}/batches?limit=100" + (f"&after={after}" if after else "")
            try:
                page = await self.provider.get_json(client, url)
            except FatalCallError:  # no list here (404, 405): nothing can be found, a new batch is made
                return None
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                return None
            for batch in data:
                if not isinstance(batch, dict):
                    continue
                metadata = batch.get("metadata")
                if (
                    isinstance(metadata, dict)
                    and metadata.get(TAG) == tag
                    and batch.get("status") not in ("failed", "expired", "cancelling", "cancelled")
                ):
                    return self._id(batch.get("id"), "batch id")
            last = data[-1].get("id") if data and isinstance(data[-1], dict) else None
            if not (isinstance(page, dict) and page.get("has_more") is True and isinstance(last, str)):
                return None
            after = self._id(last, "batch id")
        return None

    async def _upload(self, lines: Iterable[bytes], total_bytes: int, client: httpx.AsyncClient) -> str:
        """`POST /files`: the batch's input file, streamed; its id."""
        boundary = f"promptreview-{secrets.token_hex(16)}"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="promptreview-batch.jsonl"\r\n'
            "Content-Type: application/jsonl\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        async def body() -> AsyncIterator[bytes]:
            yield head
            chunk: list[bytes] = []
            size = 0
            for line in lines:  # sent in pieces of about 1 MB: the lines are made as they are sent
                chunk.append(line)
                size += len(line)
                if size >= 1 << 20:
                    yield b"".join(chunk)
                    chunk, size = [], 0
            if chunk:
                yield b"".join(chunk)
            yield tail

        headers = {
            **self.provider.headers(),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + total_bytes + len(tail)),
        }
        uploaded = await self.provider.send_stream(
            client, f"{self.base_url}/files", body(), headers=headers, service=self.service
        )
        file_id = uploaded.get("id") if isinstance(uploaded, dict) else None
        if not isinstance(file_id, str) or not file_id:
            raise self.provider.malformed("file id", uploaded)
        return self._id(file_id, "file id")

    # -- the batch ------------------------------------------------------------------------------------
    async def status(self, batch_id: str, client: httpx.AsyncClient) -> BatchStatus:
        self.provider.require_credentials()
        data = await self.provider.get_json(
            client, f"{self.base_url}/batches/{self._id(batch_id, 'batch id')}"
        )
        if not isinstance(data, dict) or data.get("status") not in _STATES:
            raise self.provider.malformed("batch status", data)
        raw_counts = data.get("request_counts")
        counts = (
            {k: v for k, v in raw_counts.items() if type(v) is int} if isinstance(raw_counts, dict) else {}
        )
        state = _STATES[data["status"]]
        message = None
        if state == "failed":
            errors = (data.get("errors") or {}).get("data") if isinstance(data.get("errors"), dict) else None
            words = [
                f"{e.get('code') or 'error'}: {e.get('message') or ''}".strip()
                + (f" (line {e['line']})" if type(e.get("line")) is int else "")
                for e in (errors or [])
                if isinstance(e, dict)
            ]
            message = self.provider.scrubbed("; ".join(words[:3]) or "no reason given")
        handle = {
            name: data.get(name) if isinstance(data.get(name), str) else None
            for name in ("output_file_id", "error_file_id")
        }
        return BatchStatus(
            batch_id,
            state,
            counts,
            message,
            handle,
            finished=counts.get("completed", 0) + counts.get("failed", 0),
        )

    async def results(
        self, batch_id: str, status: BatchStatus, client: httpx.AsyncClient
    ) -> AsyncIterator[BatchLine]:
        for name in ("output_file_id", "error_file_id"):
            file_id = status.handle.get(name)
            if not file_id:
                continue
            url = f"{self.base_url}/files/{self._id(file_id, 'file id')}/content"
            async for text in self.provider.stream_lines(client, url, service=self.service):
                if text.strip():
                    yield self._line(text)

    # -- helpers --------------------------------------------------------------------------------------
    def _id(self, value: Any, what: str) -> str:
        """`value` as an id fit for a URL path, else the batch cannot be trusted: `FatalCallError`."""
        if isinstance(value, str) and _ID.fullmatch(value):
            return value
        raise FatalCallError(
            CallFailure(
                "invalid_response",
                f"{self.service}: the {what} {self.provider.scrubbed(str(value))[:80]!r} is not an id this "
                "API gives (letters, digits, _ and -)",
            )
        )

    def _line(self, text: str) -> BatchLine:
        """One line of an output or error file (BatchRequestOutput)."""
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        custom_id = data.get("custom_id") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(custom_id, str):
            # the file is not what the Batch API writes: nothing in it can be matched to a request
            raise FatalCallError(
                CallFailure(
                    "invalid_response",
                    f"{self.service}: a result line is not a batch output line "
                    f"({self.provider.scrubbed(text[:120])!r})",
                )
            )
        response = data.get("response") if isinstance(data.get("response"), dict) else None
        error = data.get("error") if isinstance(data.get("error"), dict) else None
        if response is None:
            code = str((error or {}).get("code") or "no_response")
            words = self.provider.scrubbed(str((error or {}).get("message") or "the batch ended first"))
            failure = CallFailure(
                "timeout",
                f"{self.service}: the request was not answered in its batch ({code}: {words})",
                code=code,
                server_message=words,
            )
            return BatchLine(custom_id, None, failure, retryable=True)
        status = response.get("status_code")
        body = response.get("body")
        if type(status) is int and 200 <= status < 300:
            try:
                return BatchLine(custom_id, self.provider.parse_response(body), None)
            except FatalCallError as exc:  # a 2xx without the answer: asked again
                return BatchLine(custom_id, None, exc.failure, retryable=True)
        verdict = self._judge(status if type(status) is int else 500, body)
        return BatchLine(custom_id, None, verdict.failure, retryable=isinstance(verdict, RetryableCallError))

    def _judge(self, status: int, body: Any) -> CallError:
        """A line's non-2xx status, judged as the same answer to a synchronous call would be."""
        return self.provider.verdict(httpx.Response(status, json=body), body)
