"""Loopback HTTP servers that speak the providers' wire formats, for tests. No network: 127.0.0.1 only.

    with ScriptedServer() as server:                 # a real ThreadingHTTPServer on 127.0.0.1:<free port>
        server.enqueue(429, openai_error("slow down", "rate_limit_exceeded"), headers={"retry-after": "0"})
        server.enqueue(200, openai_chat_completion('{"label": "billing"}'))
        ...  # point OPENAI_BASE_URL at f"{server.url}/v1"
        assert server.requests[0].json["model"] == "gpt-4o-mini-2024-07-18"

A reply is chosen, in order, from: a fixed `route(method, path, ...)`, the queue filled by `enqueue(...)`, the
`handler(request)` given to the constructor (computes a reply from the request; for servers that answer many
requests by a rule, see `openai_compatible_handler`), else a 500 that says nothing was scripted.

Also: builders for OpenAI and Anthropic bodies (Anthropic's from the recorded fixture) and validators for OpenAI's
request/response schemas from the official OpenAPI description (loaded once per test session).
"""

from __future__ import annotations

import copy
import functools
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fixtures_path import FIXTURES


@dataclass
class Reply:
    """One scripted HTTP answer."""

    status: int = 200
    json_body: Any = None
    headers: dict[str, str] | None = None
    delay: float = 0.0  # seconds to wait before answering (a client timeout shorter than this sees a timeout)
    body: bytes | str | None = None  # raw body instead of json_body
    drop: bool = False  # close the connection without any answer (a connection error for the client)


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    at: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


Handler = Callable[[RecordedRequest], "Reply | dict | tuple"]


def _as_reply(value: Reply | dict | tuple | None) -> Reply:
    """A handler may return a Reply, a JSON body (status 200), or a tuple (status, body[, headers])."""
    if isinstance(value, Reply):
        return value
    if isinstance(value, tuple):
        status, body, *rest = value
        return Reply(status, body, headers=rest[0] if rest else None)
    return Reply(200, value)


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up (a cancelled or timed-out call) is normal here, not an error worth a traceback."""

    request_queue_size = 128  # the default backlog of 5 refuses connections when a client opens many at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


class ScriptedServer:
    """A scriptable HTTP server on 127.0.0.1 (port 0) in a thread; use as a context manager."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._routes: dict[tuple[str, str], Reply | Handler] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ---------------------------------------------------------------------------------------
    def enqueue(
        self,
        status: int = 200,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        *,
        body: bytes | str | None = None,
        drop: bool = False,
    ) -> ScriptedServer:
        """Queue the reply to the next request that no route answers."""
        with self._lock:
            self._queue.append(Reply(status, json_body, headers, delay, body, drop))
        return self

    def route(self, method: str, path: str, reply: Reply | Handler) -> ScriptedServer:
        """Answer every `method path` with a fixed reply or a function of the request (before the queue)."""
        self._routes[(method.upper(), path)] = reply
        return self

    @property
    def pending(self) -> int:
        """Queued replies not yet used."""
        return len(self._queue)

    @property
    def url(self) -> str:
        assert self._server is not None, "the server is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method.upper())]

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> ScriptedServer:
        owner = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out as two writes: without TCP_NODELAY the second waits for the client's
            # delayed ACK (40 ms a request on a kept-alive connection)
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                request = RecordedRequest(
                    self.command, path, query, {k.lower(): v for k, v in self.headers.items()}, raw
                )
                with owner._lock:
                    owner.requests.append(request)
                reply = owner._reply_for(request)
                if reply.delay:
                    owner._stopping.wait(reply.delay)
                if reply.drop or owner._stopping.is_set():
                    self.close_connection = True
                    return
                if reply.body is not None:
                    payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
                    content_type = "text/plain; charset=utf-8"
                else:
                    payload = b"" if reply.json_body is None else json.dumps(reply.json_body).encode()
                    content_type = "application/json"
                try:
                    headers = {"Content-Type": content_type, **(reply.headers or {})}
                    # a scripted Date replaces the server's own (`send_response` would send both)
                    self.send_response_only(reply.status)
                    self.send_header("Server", self.version_string())
                    if not any(name.lower() == "date" for name in headers):
                        self.send_header("Date", self.date_time_string())
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self._server = _QuietServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _reply_for(self, request: RecordedRequest) -> Reply:
        fixed = self._routes.get((request.method, request.path))
        if fixed is not None:
            return fixed if isinstance(fixed, Reply) else _as_reply(fixed(request))
        with self._lock:
            queued = self._queue.popleft() if self._queue else None
        if queued is not None:
            return queued
        if self.handler is not None:
            try:
                return _as_reply(self.handler(request))
            except Exception as exc:  # surface handler bugs as a readable 500, not a hung test
                return Reply(
                    500, {"error": {"message": f"test handler failed: {exc!r}", "type": "server_error"}}
                )
        return Reply(
            500,
            {"error": {"message": f"ScriptedServer: no response scripted for {request.method} {request.path}",
                       "type": "server_error", "param": None, "code": None}},
        )  # fmt: skip


# -- OpenAI wire format -----------------------------------------------------------------------------------


def openai_chat_completion(
    content: str | None,
    *,
    model: str = "gpt-4o-mini-2024-07-18",
    finish_reason: str = "stop",
    refusal: str | None = None,
    prompt_tokens: int = 50,
    completion_tokens: int = 10,
    cached_tokens: int = 0,
) -> dict:
    """A `CreateChatCompletionResponse` body."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1741570283,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_test",
    }


def openai_error(message: str, type: str = "invalid_request_error", code: str | None = None) -> dict:
    """An OpenAI `ErrorResponse` body."""
    return {"error": {"message": message, "type": type, "param": None, "code": code}}


def openai_compatible_handler(
    answer: Callable[[dict], str | Reply],
    *,
    served_model: str | None = None,
    validate: bool = False,
) -> Handler:
    """A handler for `POST .../chat/completions` that answers every request by a rule.

    `answer(request_json)` returns the assistant's text (or a full Reply); the served model is the requested
    one unless `served_model` says otherwise. With `validate=True` a request body that breaks OpenAI's
    `CreateChatCompletionRequest` schema gets a 400 naming the problem.
    """

    def handle(request: RecordedRequest) -> Reply:
        if request.method != "POST" or not request.path.endswith("/chat/completions"):
            return Reply(404, openai_error(f"unknown path {request.path}", code="not_found"))
        body = request.json
        if not isinstance(body, dict):
            return Reply(400, openai_error("body is not a JSON object"))
        if validate:
            problem = openai_schema_problem("CreateChatCompletionRequest", body)
            if problem:
                return Reply(400, openai_error(problem))
        result = answer(body)
        if isinstance(result, Reply):
            return result
        return Reply(200, openai_chat_completion(result, model=served_model or body.get("model", "unknown")))

    return handle


@functools.cache
def _openai_openapi() -> dict:
    import yaml

    path = FIXTURES / "openai" / "openapi.yaml"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, "rb") as handle:
        return yaml.load(handle, Loader=loader)


# functools.cache does not hold a second caller back while the first computes: the server's threads answering
# the first requests at once each parsed the 3 MB description (1.5 s apiece, 12 s for a review's 8 threads)
_openai_lock = threading.Lock()


def openai_validator(name: str):
    """A JSON Schema 2020-12 validator for `#/components/schemas/<name>` of OpenAI's OpenAPI 3.1 description."""
    with _openai_lock:
        return _openai_validator(name)


@functools.cache
def _openai_validator(name: str):
    import jsonschema
    import referencing
    import referencing.jsonschema

    uri = "urn:openai:openapi"
    resource = referencing.Resource.from_contents(
        _openai_openapi(), default_specification=referencing.jsonschema.DRAFT202012
    )
    registry = referencing.Registry().with_resource(uri, resource)
    return jsonschema.Draft202012Validator({"$ref": f"{uri}#/components/schemas/{name}"}, registry=registry)


def openai_schema_problem(name: str, instance: Any) -> str | None:
    """None when `instance` is a valid `<name>`, else the best error as one line."""
    import jsonschema

    error = jsonschema.exceptions.best_match(openai_validator(name).iter_errors(instance))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{name} at {where}: {error.message[:300]}"


def assert_openai_valid(name: str, instance: Any) -> None:
    problem = openai_schema_problem(name, instance)
    assert problem is None, problem


# -- Gemini's OpenAI-compatible endpoint ------------------------------------------------------------------


def gemini_chat_completion(content: str | None, *, model: str = "gemini-2.0-flash-001") -> dict:
    """A body of Gemini's Chat Completions layer: OpenAI's shape without `refusal`, `logprobs`, the
    fingerprint or token details (what `v1beta/openai/chat/completions` returns)."""
    return {
        "choices": [
            {"finish_reason": "stop", "index": 0, "message": {"content": content, "role": "assistant"}}
        ],
        "created": 1741570283,
        "id": "kJ7QZ-test",
        "model": model,
        "object": "chat.completion",
        "usage": {"completion_tokens": 10, "prompt_tokens": 50, "total_tokens": 60},
    }


def gemini_error(code: int, message: str, status: str) -> list:
    """A Gemini API error: Google's error object in a one-element list, as its OpenAI layer returns it."""
    return [{"error": {"code": code, "message": message, "status": status}}]


# -- Anthropic wire format --------------------------------------------------------------------------------


@functools.cache
def anthropic_recorded() -> dict:
    """The recorded `POST /v1/messages` exchange: {"request": {...}, "response": {...}}."""
    with open(FIXTURES / "anthropic" / "messages_create_200.json", encoding="utf-8") as handle:
        return json.load(handle)[0]


def anthropic_message(
    text: str | None,
    *,
    model: str = "claude-sonnet-4-5-20250929",
    stop_reason: str = "end_turn",
    input_tokens: int = 406,
    output_tokens: int = 50,
    cache_read_input_tokens: int = 0,
) -> dict:
    """A Messages API response body: the recorded one with its text, model, stop reason and usage replaced."""
    body = copy.deepcopy(anthropic_recorded()["response"]["body"])
    body["model"] = model
    body["content"] = [] if text is None else [{"type": "text", "text": text}]
    body["stop_reason"] = stop_reason
    body["usage"]["input_tokens"] = input_tokens
    body["usage"]["output_tokens"] = output_tokens
    body["usage"]["cache_read_input_tokens"] = cache_read_input_tokens
    return body


def anthropic_error(type: str, message: str) -> dict:
    """An Anthropic error body (`{"type": "error", "error": {"type", "message"}}`)."""
    return {"type": "error", "error": {"type": type, "message": message}, "request_id": "req_test"}


def anthropic_compatible_handler(
    answer: Callable[[dict], str | Reply], *, served_model: str | None = None
) -> Handler:
    """A handler for `POST /v1/messages` that answers every request by a rule (like `openai_compatible_handler`)."""

    def handle(request: RecordedRequest) -> Reply:
        if request.method != "POST" or not request.path.endswith("/messages"):
            return Reply(404, anthropic_error("not_found_error", f"unknown path {request.path}"))
        body = request.json
        if not isinstance(body, dict):
            return Reply(400, anthropic_error("invalid_request_error", "body is not a JSON object"))
        result = answer(body)
        if isinstance(result, Reply):
            return result
        return Reply(200, anthropic_message(result, model=served_model or body.get("model", "unknown")))

    return handle


# -- calling a provider the way the runner does -------------------------------------------------------------


@dataclass
class Called:
    response: Any  # ProviderResponse
    attempts: int
    sleeps: list[float]  # the waits the retry policy asked for (nothing actually sleeps)


def make_request(
    spec: str = "openai:gpt-4o-mini-2024-07-18",
    *,
    system: str | None = "Classify the ticket. Answer with JSON only.",
    user: str = "My invoice is wrong.",
    schema: dict | None = None,
    params: dict | None = None,
    schema_name: str = "triage",
):
    """A CompletionRequest for `provider:model` with a system and a user message."""
    from promptreview.records import CompletionRequest, Message, ModelSpec

    provider, _, model = spec.partition(":")
    messages = ((Message("system", system),) if system else ()) + (Message("user", user),)
    return CompletionRequest(
        model=ModelSpec(provider, model),
        messages=messages,
        params=tuple(sorted((params or {}).items())),
        response_schema=schema,
        schema_name=schema_name,
    )


def call(provider: Any, request: Any, *, timeout: float = 5.0, max_attempts: int = 4) -> Called:
    """`provider.complete` through `call_with_retries` with a recording sleep; raises what the runner would see."""
    import asyncio

    import httpx

    from promptreview.providers.retry import RetryPolicy, call_with_retries

    sleeps: list[float] = []

    async def no_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def go() -> Called:
        async with httpx.AsyncClient(timeout=timeout) as client:
            policy = RetryPolicy(max_attempts=max_attempts, base_delay=0.01, max_delay=60.0, sleep=no_sleep)
            response, attempts = await call_with_retries(lambda: provider.complete(request, client), policy)
            return Called(response, attempts, sleeps)

    return asyncio.run(go())
