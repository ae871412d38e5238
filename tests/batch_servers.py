"""A loopback server that speaks OpenAI's Batch API (files, batches, file content), for tests and the benchmark.

    with OpenAIBatchServer(answer=lambda body: '{"label": "billing"}') as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test"}
        ...
        assert len(server.batch_posts) == 1

It keeps real state: an uploaded file (multipart/form-data, `purpose=batch`) is parsed and its lines checked;
`POST /v1/batches` makes a batch "validating"; each `GET /v1/batches/{id}` is a poll, and after `polls` polls
the batch ends (`completed` by default, or the state `end_states` names for that batch, in order of creation)
with an output file (2xx lines) and an error file (the others), answered line by line by `answer(body)`: the
assistant's text, or a `LineFault` (an error status for that line, or no response at all: expired). Faults at
the HTTP level go through the `ScriptedServer` queue (`server.http.enqueue(503, ...)`), which answers before
the state does. With `validate=True` every body we send and every object the server answers is checked against
OpenAI's API description (`tests/servers.py`), and the JSONL lines against the Batch API's line shapes below.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.servers import (
    RecordedRequest,
    Reply,
    ScriptedServer,
    assert_openai_valid,
    openai_chat_completion,
    openai_error,
)

# The Batch API's line shapes (OpenAI's API reference, "The request input object" and "The request output
# object"; the BatchRequestInput/BatchRequestOutput schemas of earlier versions of its OpenAPI description).
BATCH_REQUEST_INPUT = {
    "type": "object",
    "required": ["custom_id", "method", "url", "body"],
    "additionalProperties": False,
    "properties": {
        "custom_id": {"type": "string"},
        "method": {"type": "string", "enum": ["POST"]},
        "url": {"type": "string"},
        "body": {"type": "object"},
    },
}
BATCH_REQUEST_OUTPUT = {
    "type": "object",
    "required": ["id", "custom_id", "response", "error"],
    "properties": {
        "id": {"type": "string"},
        "custom_id": {"type": "string"},
        "response": {
            "type": ["object", "null"],
            "required": ["status_code", "request_id", "body"],
            "properties": {
                "status_code": {"type": "integer"},
                "request_id": {"type": "string"},
                "body": {"type": "object"},
            },
        },
        "error": {
            "type": ["object", "null"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}


@dataclass(frozen=True)
class LineFault:
    """How one line fails: `status` with an error body, or (status None) no response at all (`code`)."""

    status: int | None = 500
    code: str = "server_error"
    message: str = "the line failed"


Answer = Callable[[dict[str, Any]], "str | LineFault"]


@dataclass
class _Batch:
    id: str
    input_file_id: str
    created_at: int
    end_state: str
    polls: int = 0
    status: str = "validating"
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"total": 0, "completed": 0, "failed": 0})
    metadata: dict[str, str] | None = None


def _check(schema: dict[str, Any], instance: Any) -> None:
    import jsonschema

    jsonschema.validate(instance, schema)


class OpenAIBatchServer:
    """The Batch API on 127.0.0.1; use as a context manager. `server.http` is the underlying ScriptedServer."""

    def __init__(
        self,
        answer: Answer | None = None,
        *,
        polls: int = 0,
        end_states: list[str] | None = None,
        validate: bool = False,
        extra_ids: list[str] | None = None,
        create_drops: int = 0,
        create_errors: int = 0,
    ) -> None:
        self.answer: Answer = answer or (lambda body: '{"label": "billing"}')
        self.polls = polls  # polls that still find a batch running
        self.end_states = list(end_states or [])  # the end state of the 1st, 2nd, ... batch (else completed)
        self.validate = validate
        self.extra_ids = list(extra_ids or [])  # custom ids the first batch's output adds (never sent)
        # batch creations that make the batch and then close the connection unanswered (the client sees a
        # dropped connection, as after a timeout: the batch exists all the same)
        self.create_drops = create_drops
        self.create_errors = create_errors  # batch creations answered 503 before any batch is made
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, _Batch] = {}
        self.lines_seen: list[dict[str, Any]] = []  # every input line, in upload order
        self._lock = threading.Lock()
        self._count = 0
        self.http = ScriptedServer(self._handle)

    # -- lifecycle -----------------------------------------------------------------------------------
    def __enter__(self) -> OpenAIBatchServer:
        self.http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.stop()

    @property
    def url(self) -> str:
        return self.http.url

    @property
    def batch_posts(self) -> list[RecordedRequest]:
        return self.http.requests_to("/v1/batches", "POST")

    @property
    def uploads(self) -> list[RecordedRequest]:
        return self.http.requests_to("/v1/files", "POST")

    def inputs(self, batch_id: str) -> list[dict[str, Any]]:
        """The lines of a batch's input file."""
        raw = self.files[self.batches[batch_id].input_file_id]
        return [json.loads(line) for line in raw.splitlines() if line.strip()]

    # -- the API -------------------------------------------------------------------------------------
    def _next(self, prefix: str) -> str:
        with self._lock:
            self._count += 1
            return f"{prefix}-{self._count:04d}"

    def _handle(self, request: RecordedRequest) -> Reply:
        path, method = request.path, request.method
        if request.headers.get("authorization") != "Bearer sk-test":
            return Reply(401, openai_error("Incorrect API key provided", code="invalid_api_key"))
        if method == "POST" and path == "/v1/files":
            return self._upload(request)
        if method == "POST" and path == "/v1/batches":
            return self._create(request)
        if method == "GET" and path == "/v1/batches":
            return self._list(request)
        if method == "GET" and (m := re.fullmatch(r"/v1/batches/([\w-]+)", path)):
            return self._poll(m.group(1))
        if method == "GET" and (m := re.fullmatch(r"/v1/files/([\w-]+)/content", path)):
            content = self.files.get(m.group(1))
            if content is None:
                return Reply(404, openai_error("No such File object", code="not_found"))
            return Reply(200, body=content, headers={"Content-Type": "application/octet-stream"})
        return Reply(404, openai_error(f"unknown path {method} {path}", code="not_found"))

    def _upload(self, request: RecordedRequest) -> Reply:
        kind = request.headers.get("content-type", "")
        m = re.search(r"boundary=([^;]+)", kind)
        if not kind.startswith("multipart/form-data") or not m:
            return Reply(400, openai_error("expected multipart/form-data"))
        boundary = m.group(1).strip('"').encode()
        parts: dict[str, bytes] = {}
        filename = None
        for part in request.body.split(b"--" + boundary)[1:]:
            if part.startswith(b"--"):
                break
            head, _, value = part.partition(b"\r\n\r\n")
            value = value[:-2] if value.endswith(b"\r\n") else value
            name = re.search(rb'name="([^"]+)"', head)
            if name:
                parts[name.group(1).decode()] = value
                if fn := re.search(rb'filename="([^"]+)"', head):
                    filename = fn.group(1).decode()
        if parts.get("purpose") != b"batch" or "file" not in parts or not filename:
            return Reply(400, openai_error(f"bad upload: fields {sorted(parts)}, filename {filename}"))
        content = parts["file"]
        lines = [json.loads(line) for line in content.splitlines() if line.strip()]
        for line in lines:
            if self.validate:
                _check(BATCH_REQUEST_INPUT, line)
                assert_openai_valid("CreateChatCompletionRequest", line["body"])
            if line.get("url") != "/v1/chat/completions":
                return Reply(400, openai_error(f"line url {line.get('url')!r}"))
        with self._lock:
            self.lines_seen.extend(lines)
        file_id = self._next("file")
        self.files[file_id] = content
        uploaded = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": 1_765_000_000,
            "filename": filename,
            "purpose": "batch",
            "status": "processed",
        }
        if self.validate:
            assert_openai_valid("OpenAIFile", uploaded)
        return Reply(200, uploaded)

    def _create(self, request: RecordedRequest) -> Reply:
        body = request.json
        if self.validate:
            assert_openai_valid("CreateBatchRequest", body)
        if not isinstance(body, dict) or body.get("input_file_id") not in self.files:
            return Reply(400, openai_error("unknown input_file_id"))
        with self._lock:
            refuse, self.create_errors = self.create_errors > 0, max(0, self.create_errors - 1)
        if refuse:
            return Reply(503, openai_error("The server is overloaded", type="server_error"))
        with self._lock:
            end = self.end_states.pop(0) if self.end_states else "completed"
        batch = _Batch(self._next("batch"), body["input_file_id"], 1_765_000_000, end)
        batch.metadata = body.get("metadata")
        batch.counts["total"] = len(self.files[batch.input_file_id].splitlines())
        self.batches[batch.id] = batch
        with self._lock:
            drop, self.create_drops = self.create_drops > 0, max(0, self.create_drops - 1)
        if drop:
            return Reply(drop=True)
        return Reply(200, self._object(batch))

    def _list(self, request: RecordedRequest) -> Reply:
        """`GET /v1/batches?limit=&after=`: newest first (ListBatchesResponse)."""
        query = dict(p.partition("=")[::2] for p in request.query.split("&") if p)
        newest = list(reversed(self.batches.values()))
        if "after" in query:
            ids = [b.id for b in newest]
            newest = newest[ids.index(query["after"]) + 1 :] if query["after"] in ids else []
        limit = int(query.get("limit", "20"))
        page = newest[:limit]
        data = {"object": "list", "data": [self._object(b) for b in page], "has_more": len(newest) > limit}
        if page:
            data.update(first_id=page[0].id, last_id=page[-1].id)
        if self.validate:  # as in `_object`: a batch still running leaves its file ids out
            listed = [{k: v for k, v in b.items() if v is not None} for b in data["data"]]
            assert_openai_valid("ListBatchesResponse", {**data, "data": listed})
        return Reply(200, data)

    def _poll(self, batch_id: str) -> Reply:
        batch = self.batches.get(batch_id)
        if batch is None:
            return Reply(404, openai_error("No such batch", code="not_found"))
        batch.polls += 1
        if batch.status in ("validating", "in_progress"):
            if batch.polls <= self.polls:
                batch.status = "in_progress"
                batch.counts["completed"] = min(batch.counts["total"], batch.polls)
            else:
                self._finish(batch)
        return Reply(200, self._object(batch))

    def _finish(self, batch: _Batch) -> None:
        out: list[bytes] = []
        err: list[bytes] = []
        answered = failed = 0
        lines = self.inputs(batch.id)
        if batch.end_state in ("expired", "cancelled"):  # the first half answered, the rest not
            lines_answered, lines_left = lines[: len(lines) // 2], lines[len(lines) // 2 :]
        elif batch.end_state == "failed":
            lines_answered, lines_left = [], []
        else:
            lines_answered, lines_left = lines, []
        for n, line in enumerate(lines_answered):
            result = self.answer(line["body"])
            request_id = f"req_{batch.id}_{n}"
            if isinstance(result, LineFault) and result.status is None:
                row = {"id": f"batch_req_{n}", "custom_id": line["custom_id"], "response": None,
                       "error": {"code": result.code, "message": result.message}}  # fmt: skip
                err.append(self._row(row))
                failed += 1
            elif isinstance(result, LineFault):
                body = openai_error(result.message, code=result.code)
                row = {"id": f"batch_req_{n}", "custom_id": line["custom_id"],
                       "response": {"status_code": result.status, "request_id": request_id, "body": body},
                       "error": None}  # fmt: skip
                err.append(self._row(row))
                failed += 1
            else:
                body = openai_chat_completion(result, model=line["body"]["model"])
                if self.validate:
                    assert_openai_valid("CreateChatCompletionResponse", body)
                row = {"id": f"batch_req_{n}", "custom_id": line["custom_id"],
                       "response": {"status_code": 200, "request_id": request_id, "body": body},
                       "error": None}  # fmt: skip
                out.append(self._row(row))
                answered += 1
        for n, line in enumerate(lines_left):
            code = "batch_expired" if batch.end_state == "expired" else "batch_cancelled"
            row = {"id": f"batch_req_x{n}", "custom_id": line["custom_id"], "response": None,
                   "error": {"code": code, "message": "This request could not be executed before the batch ended."}}  # fmt: skip
            err.append(self._row(row))
            failed += 1
        with self._lock:
            extra, self.extra_ids = self.extra_ids, []
        for custom_id in extra:
            body = openai_chat_completion('{"label": "injected"}')
            row = {"id": "batch_req_extra", "custom_id": custom_id,
                   "response": {"status_code": 200, "request_id": "req_extra", "body": body}, "error": None}  # fmt: skip
            out.append(self._row(row))
        batch.status = batch.end_state
        batch.counts.update(completed=answered, failed=failed)
        if batch.end_state == "failed":
            return
        if out:
            batch.output_file_id = self._next("file-out")
            self.files[batch.output_file_id] = b"".join(out)
        if err:
            batch.error_file_id = self._next("file-err")
            self.files[batch.error_file_id] = b"".join(err)

    def _row(self, row: dict[str, Any]) -> bytes:
        if self.validate:
            _check(BATCH_REQUEST_OUTPUT, row)
        return (json.dumps(row) + "\n").encode()

    def _object(self, batch: _Batch) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": batch.id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "errors": None,
            "input_file_id": batch.input_file_id,
            "completion_window": "24h",
            "status": batch.status,
            "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "created_at": batch.created_at,
            "request_counts": dict(batch.counts),
            "metadata": batch.metadata,
        }
        if batch.status == "failed":
            data["errors"] = {
                "object": "list",
                "data": [{"code": "token_limit_exceeded", "message": "Enqueued token limit reached.",
                          "param": None, "line": None}],
            }  # fmt: skip
        if self.validate:
            # the description types the file ids as strings: a batch still running leaves them out
            assert_openai_valid("Batch", {k: v for k, v in data.items() if v is not None})
        return data
