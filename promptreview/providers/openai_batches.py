"""OpenAI's Batch API as a provider-batches engine (`providers/provider_batches.py`), for `openai` and every
server that speaks it under the same base URL (Azure OpenAI's v1 API, vLLM's batch server, ...).

Four exchanges, all under `OPENAI_BASE_URL`:
- `POST /files` (multipart/form-data, `purpose=batch`): the JSONL input, one `{custom_id, method, url, body}`
  line per request, whose body is the synchronous call's own (`ChatCompletionsProvider.build_body`), so every
  change to what a call sends reaches its batch line too. The multipart body is streamed from the lines with its
  length known in advance: the file is never held in memory, let alone twice.
- `POST /batches` `{input_file_id, endpoint: "/v1/chat/completions", completion_window: "24h"}`: the batch id.
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
from promptreview.providers.http import CallError, classify_status
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

    # -- the input ------------------------------------------------------------------------------------
    def encode(self, custom_id: str, request: CompletionRequest) -> bytes:
        body = self.provider.build_body(request)
        line = {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}
        return (_dumps(line) + "\n").encode("utf-8")

    async def submit(self, lines: Iterable[bytes], total_bytes: int, client: httpx.AsyncClient) -> str:
        self.provider.require_credentials()
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
        uploaded = await self._exchange(
            client, "POST", f"{self.base_url}/files", headers=headers, content=body()
        )
        file_id = uploaded.get("id") if isinstance(uploaded, dict) else None
        if not isinstance(file_id, str) or not file_id:
            raise self.provider.malformed("file id", uploaded)
        file_id = self._id(file_id, "file id")
        created = await self.provider.post_json(
            client,
            f"{self.base_url}/batches",
            {"input_file_id": file_id, "endpoint": ENDPOINT, "completion_window": "24h"},
        )
        batch_id = created.get("id") if isinstance(created, dict) else None
        if not isinstance(batch_id, str) or not batch_id:
            raise self.provider.malformed("batch id", created)
        return self._id(batch_id, "batch id")

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
            async for text in self._lines(client, url):
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
        response = httpx.Response(status, json=body)
        verdict = self.provider.classify(response, body)
        if verdict is None:
            verdict = classify_status(
                response,
                body,
                service=self.provider.service,
                key_env_var=self.provider.key_env_var,
                secrets=self.provider.secrets(),
            )
        return verdict

    async def _lines(self, client: httpx.AsyncClient, url: str) -> AsyncIterator[str]:
        """The lines of a file's content, streamed; every failure mapped as a call's."""
        try:
            async with client.stream("GET", url, headers=self.provider.headers()) as response:
                if not response.is_success:
                    await response.aread()
                    raise self._failed(response)
                async for line in response.aiter_lines():
                    yield line
        except httpx.TimeoutException as exc:
            raise RetryableCallError(
                CallFailure("timeout", f"{self.service}: timed out reading results ({type(exc).__name__})")
            ) from exc
        except httpx.TransportError as exc:
            raise RetryableCallError(
                CallFailure(
                    "connection",
                    f"{self.service}: reading results failed ({type(exc).__name__}: "
                    f"{self.provider.scrubbed(str(exc)) or 'no detail'})",
                )
            ) from exc

    def _failed(self, response: httpx.Response) -> CallError:
        try:
            body = response.json() if response.content else None
        except (ValueError, UnicodeDecodeError):
            body = None
        verdict = self.provider.classify(response, body)
        if verdict is None:
            verdict = classify_status(
                response,
                body,
                service=self.service,
                key_env_var=self.provider.key_env_var,
                secrets=self.provider.secrets(),
            )
        return verdict

    async def _exchange(
        self, client: httpx.AsyncClient, method: str, url: str, *, headers: dict[str, str], content: Any
    ) -> Any:
        """One request with a streamed body (the upload): its JSON answer, every failure mapped as a call's."""
        try:
            response = await client.request(method, url, headers=headers, content=content)
        except httpx.TimeoutException as exc:
            raise RetryableCallError(
                CallFailure("timeout", f"{self.service}: the upload timed out ({type(exc).__name__})")
            ) from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise FatalCallError(
                CallFailure("invalid_url", f"{self.service}: {url!r} is not a usable URL; check the base URL")
            ) from exc
        except httpx.TransportError as exc:
            raise RetryableCallError(
                CallFailure(
                    "connection",
                    f"{self.service}: the upload failed ({type(exc).__name__}: "
                    f"{self.provider.scrubbed(str(exc)) or 'no detail'})",
                )
            ) from exc
        if not response.is_success:
            raise self._failed(response)
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError):
            snippet = " ".join(self.provider.scrubbed(response.text).split())[:120]
            raise RetryableCallError(
                CallFailure(
                    "invalid_response",
                    f"{self.service}: HTTP {response.status_code} with a body that is not JSON ({snippet!r})",
                    status=response.status_code,
                )
            ) from None
