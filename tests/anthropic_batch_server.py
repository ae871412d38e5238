"""A loopback Anthropic Message Batches server for tests, and a checker of its payloads against the SDK's types.

    with AnthropicBatchServer(lambda params: '{"label": "billing"}') as fake:
        ...  # point ANTHROPIC_BASE_URL at fake.url
        assert fake.problems == []            # every payload either side sent kept to the SDK's shapes

It speaks the three exchanges of `promptreview/providers/anthropic_batches.py`: `POST /v1/messages/batches`
(the body read and checked as `BatchCreateParams`: a list of `{custom_id, params}`, ids unique and matching
`^[a-zA-Z0-9_-]{1,64}$`), `GET /v1/messages/batches/{id}` (a `MessageBatch`: `in_progress` for the first
`polls_before_end` polls of a batch, then `ended` with its `request_counts` and `results_url`), and `GET
.../{id}/results` (JSONL of `MessageBatchIndividualResponse`, in reverse order, as the API does not promise
order), and `POST /v1/messages` (a synchronous call). Messages from `answer(params)` in the recorded `POST /v1/messages` response's shape.

Faults:
- `outcome(custom_id, params, attempt)`: what one request gets (`attempt` counts its submissions from 0):
  "succeeded" (None means that too), "errored:<error type>" (an ErrorResponse of that type), "canceled",
  "expired", or "missing" (no line at all);
- `cancel_batches` / `expire_batches`: indexes of batches (in the order they were created) that end cancelled
  (`cancel_initiated_at` set) or expired: their requests past the first `answered_before_end` are canceled or
  expired;
- `extra_lines`: result lines added to the first batch's results (a line naming an id nobody sent);
- `poll_faults`: the replies to the first polls, before the rules answer (a 5xx, `Reply(drop=True)`, a delay);
- the `ScriptedServer` queue (`fake.server.enqueue(503, ...)`, `delay=` for a timeout) answers the next request
  before the rules do: a 5xx or a timeout while polling.

The shapes come from the SDK's own type definitions, copied byte for byte into
tests/fixtures/anthropic/message_batches/ (`sdk_shapes()` reads them with `ast`: fields, which are required,
`Literal` words, nested types, discriminated unions); a payload with a missing or an unknown field, or a word
outside a `Literal`, is a problem.
"""

from __future__ import annotations

import ast
import datetime
import functools
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fixtures_path import FIXTURES
from tests.servers import RecordedRequest, Reply, ScriptedServer, anthropic_error, anthropic_message

SHAPES = FIXTURES / "anthropic" / "message_batches"
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # the API's rule for `custom_id`
CREATED_AT = "2026-12-07T10:00:00Z"
EXPIRES_AT = "2026-12-08T10:00:00Z"
ENDED_AT = "2026-12-07T10:05:00Z"

# -- the SDK's shapes ----------------------------------------------------------------------------------------

# types the copied files name but do not define: a JSON object is all that is checked of them here (the
# message itself is the recorded Messages response, checked by the provider's own tests)
_OPAQUE = {"Message", "MessageCreateParamsNonStreaming"}
_SCALARS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: type(v) is int,
    "float": lambda v: type(v) in (int, float),
    "bool": lambda v: type(v) is bool,
    "datetime": lambda v: isinstance(v, str) and bool(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", v)),
}


@dataclass(frozen=True)
class Shape:
    """One class of the SDK: its fields (name -> annotation) and which of them are required."""

    fields: dict[str, ast.expr]
    required: frozenset[str]


@dataclass(frozen=True)
class Shapes:
    classes: dict[str, Shape]
    aliases: dict[str, ast.expr]  # `X: TypeAlias = Annotated[Union[...], ...]`

    def problem(self, name: str, value: Any, where: str = "") -> str | None:
        """None when `value` is a valid `name`, else where and why not."""
        return self._check(ast.Name(id=name), value, where or name)

    def _check(self, node: ast.expr, value: Any, where: str) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a forward reference
            node = ast.parse(node.value, mode="eval").body
        if isinstance(node, ast.Name):
            name = node.id
            if name in _SCALARS:
                return None if _SCALARS[name](value) else f"{where}: {value!r} is not a {name}"
            if name in self.aliases:
                return self._check(self.aliases[name], value, where)
            if name in self.classes:
                return self._object(self.classes[name], value, where)
            if name in _OPAQUE:
                return None if isinstance(value, dict) else f"{where}: not an object"
            raise KeyError(f"the copied SDK types do not define {name}")
        if isinstance(node, ast.Subscript):
            outer = node.value.id if isinstance(node.value, ast.Name) else ast.unparse(node.value)
            args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
            if outer == "Literal":
                words = [a.value for a in args if isinstance(a, ast.Constant)]
                return None if value in words else f"{where}: {value!r} is not one of {words}"
            if outer == "Optional":
                return None if value is None else self._check(args[0], value, where)
            if outer in ("Required", "Annotated"):
                return self._check(args[0], value, where)
            if outer in ("Iterable", "List"):
                if not isinstance(value, list):
                    return f"{where}: not a list"
                for i, item in enumerate(value):
                    if problem := self._check(args[0], item, f"{where}[{i}]"):
                        return problem
                return None
            if outer == "Union":
                problems = [self._check(a, value, where) for a in args]
                if all(problems):
                    return f"{where}: none of {[ast.unparse(a) for a in args]} ({problems[0]})"
                return None
        raise KeyError(f"unsupported annotation {ast.unparse(node)}")

    def _object(self, shape: Shape, value: Any, where: str) -> str | None:
        if not isinstance(value, dict):
            return f"{where}: not an object"
        if missing := sorted(shape.required - value.keys()):
            return f"{where}: missing {missing}"
        if unknown := sorted(value.keys() - shape.fields.keys()):
            return f"{where}: fields the SDK does not know {unknown}"
        for name, item in value.items():
            if problem := self._check(shape.fields[name], item, f"{where}.{name}"):
                return problem
        return None


@functools.cache
def sdk_shapes() -> Shapes:
    """The classes and unions of the copied SDK type files."""
    classes: dict[str, Shape] = {}
    aliases: dict[str, ast.expr] = {}
    for path in sorted(SHAPES.glob("*.py.txt")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                typed_dict = any(isinstance(b, ast.Name) and b.id == "TypedDict" for b in node.bases)
                total = not any(
                    k.arg == "total" and isinstance(k.value, ast.Constant) and k.value.value is False
                    for k in node.keywords
                )
                fields: dict[str, ast.expr] = {}
                required: set[str] = set()
                for item in node.body:
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        name = item.target.id
                        fields[name] = item.annotation
                        if typed_dict:
                            marked = ast.unparse(item.annotation).startswith("Required[")
                            if total or marked:
                                required.add(name)
                        elif item.value is None:
                            required.add(name)
                classes[node.name] = Shape(fields, frozenset(required))
            elif (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and ast.unparse(node.annotation) == "TypeAlias"
                and node.value is not None
            ):
                aliases[node.target.id] = node.value
    return Shapes(classes, aliases)


def assert_sdk_shape(name: str, value: Any) -> None:
    problem = sdk_shapes().problem(name, value)
    assert problem is None, problem


# -- the server ----------------------------------------------------------------------------------------------


Outcome = Callable[[str, dict, int], "str | None"]


def _succeeds(custom_id: str, params: dict, attempt: int) -> str | None:
    return None


def anthropic_error_response(type: str, message: str) -> dict:
    """An ErrorResponse (the `error` of an errored line)."""
    return {"type": "error", "error": {"type": type, "message": message}, "request_id": None}


@dataclass
class _Batch:
    id: str
    index: int
    requests: list[tuple[str, dict, int]]  # custom_id, params, attempt
    polls: int = 0
    end: str = "ended"  # "ended", "canceled" or "expired"
    lines: list[dict] = field(default_factory=list)  # the results, made when it ends
    created_at: str = CREATED_AT


class AnthropicBatchServer:
    """Message Batches on a `ScriptedServer` (see the module docstring)."""

    def __init__(
        self,
        answer: Callable[[dict], str] = lambda params: '{"label": "billing"}',
        *,
        outcome: Outcome = _succeeds,
        polls_before_end: int = 0,
        cancel_batches: tuple[int, ...] = (),
        expire_batches: tuple[int, ...] = (),
        answered_before_end: int = 0,
        extra_lines: tuple[dict, ...] = (),
        poll_faults: tuple[Reply, ...] = (),
        check_shapes: bool = True,
        create_drops: int = 0,
    ) -> None:
        self.answer = answer
        self.outcome = outcome
        self.polls_before_end = polls_before_end
        self.cancel_batches = cancel_batches
        self.expire_batches = expire_batches
        self.answered_before_end = answered_before_end
        self.extra_lines = extra_lines
        self.poll_faults = list(poll_faults)
        self.check_shapes = check_shapes
        self.create_drops = (
            create_drops  # creations that make the batch, then close the connection unanswered
        )
        self.batches: dict[str, _Batch] = {}
        self.attempts: dict[str, int] = {}  # custom_id -> submissions so far
        self.problems: list[str] = []  # every payload off the SDK's shapes, either way
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.server = ScriptedServer(handler=self._handle)

    # -- lifecycle -------------------------------------------------------------------------------------
    def __enter__(self) -> AnthropicBatchServer:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.server.requests

    def submitted(self) -> list[list[str]]:
        """The custom ids of each batch, in the order the batches were made."""
        return [[c for c, _, _ in b.requests] for b in self.batches.values()]

    # -- the exchanges ---------------------------------------------------------------------------------
    def _handle(self, request: RecordedRequest) -> Reply:
        path = request.path.rstrip("/")
        if request.method == "POST" and path == "/v1/messages/batches":
            return self._create(request)
        if request.method == "GET" and path == "/v1/messages/batches":
            return self._list(request)
        if request.method == "POST" and path == "/v1/messages":  # a synchronous call (a failed line's retry)
            params = request.json if isinstance(request.json, dict) else {}
            return Reply(200, anthropic_message(self.answer(params), model=params.get("model", "unknown")))
        match = re.fullmatch(r"/v1/messages/batches/([^/]+)(/results)?", path)
        if request.method == "GET" and match:
            batch = self.batches.get(match.group(1))
            if batch is None:
                return Reply(404, anthropic_error("not_found_error", f"no batch {match.group(1)}"))
            return self._results(batch) if match.group(2) else self._retrieve(batch)
        return Reply(404, anthropic_error("not_found_error", f"unknown path {request.path}"))

    def _problem(self, name: str, value: Any) -> None:
        if self.check_shapes and (problem := sdk_shapes().problem(name, value)):
            with self._lock:
                self.problems.append(problem)

    def _create(self, request: RecordedRequest) -> Reply:
        if request.headers.get("anthropic-version") != "2023-06-01":
            self.problems.append(f"POST without anthropic-version: {request.headers}")
        body = request.json
        self._problem("BatchCreateParams", body)
        if not isinstance(body, dict) or not isinstance(body.get("requests"), list) or not body["requests"]:
            return Reply(
                400, anthropic_error("invalid_request_error", "requests: a non-empty list is required")
            )
        ids = [r.get("custom_id") for r in body["requests"] if isinstance(r, dict)]
        bad = [i for i in ids if not isinstance(i, str) or not CUSTOM_ID.match(i)]
        if bad or len(set(ids)) != len(ids) or len(ids) != len(body["requests"]):
            self.problems.append(f"custom ids not unique or not valid: {bad[:3]}")
            return Reply(400, anthropic_error("invalid_request_error", "custom_id must be unique and valid"))
        with self._lock:
            index = len(self.batches)
            batch_id = f"msgbatch_{next(self._ids):04d}test"
            entries = []
            for r in body["requests"]:
                attempt = self.attempts.get(r["custom_id"], 0)
                self.attempts[r["custom_id"]] = attempt + 1
                entries.append((r["custom_id"], r.get("params") or {}, attempt))
            end = "ended"
            if index in self.cancel_batches or index in self.expire_batches:
                end = "canceled" if index in self.cancel_batches else "expired"
            self.batches[batch_id] = batch = _Batch(batch_id, index, entries, end=end)
            batch.created_at = datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
            drop, self.create_drops = self.create_drops > 0, max(0, self.create_drops - 1)
        if drop:
            return Reply(drop=True)
        return Reply(200, self._batch_object(batch, ended=False))

    def _list(self, request: RecordedRequest) -> Reply:
        """`GET /v1/messages/batches?limit=`: the newest first, one page (the SDK's `SyncPage[MessageBatch]`)."""
        query = dict(p.partition("=")[::2] for p in request.query.split("&") if p)
        with self._lock:
            newest = list(reversed(self.batches.values()))[: int(query.get("limit", "20"))]
            data = [self._batch_object(b, ended=bool(b.lines)) for b in newest]
        page = {
            "data": data,
            "has_more": len(self.batches) > len(data),
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
        return Reply(200, page)

    def _retrieve(self, batch: _Batch) -> Reply:
        with self._lock:
            if self.poll_faults:
                return self.poll_faults.pop(0)
            batch.polls += 1
            ended = batch.polls > self.polls_before_end
            if ended and not batch.lines:
                batch.lines = self._make_lines(batch)
        return Reply(200, self._batch_object(batch, ended=ended))

    def _results(self, batch: _Batch) -> Reply:
        if not batch.lines:
            return Reply(400, anthropic_error("invalid_request_error", "the batch has not ended"))
        lines = list(reversed(batch.lines))  # the API keeps no order
        if batch.index == 0:
            lines += list(self.extra_lines)
        for line in lines:
            self._problem("MessageBatchIndividualResponse", line)
        return Reply(200, body="".join(json.dumps(line) + "\n" for line in lines))

    # -- what the batch answers ----------------------------------------------------------------------
    def _make_lines(self, batch: _Batch) -> list[dict]:
        lines = []
        for position, (custom_id, params, attempt) in enumerate(batch.requests):
            kind = self.outcome(custom_id, params, attempt) or "succeeded"
            if batch.end != "ended" and position >= self.answered_before_end:
                kind = batch.end
            if kind == "missing":
                continue
            if kind == "succeeded":
                message = anthropic_message(self.answer(params), model=params.get("model", "unknown"))
                message["id"] = f"msg_{batch.id}_{position}"
                result: dict[str, Any] = {"type": "succeeded", "message": message}
            elif kind.startswith("errored:"):
                error_type = kind.partition(":")[2]
                result = {
                    "type": "errored",
                    "error": anthropic_error_response(error_type, f"{error_type} for {custom_id}"),
                }
            else:
                result = {"type": kind}
            lines.append({"custom_id": custom_id, "result": result})
        return lines

    def _batch_object(self, batch: _Batch, *, ended: bool) -> dict:
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended:
            for line in batch.lines:
                counts[line["result"]["type"]] += 1
        else:
            counts["processing"] = len(batch.requests)
        processing = "in_progress"
        if ended:
            processing = "ended"
        elif batch.end == "canceled" and batch.polls:
            processing = "canceling"
        body = {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": processing,
            "request_counts": counts,
            "created_at": batch.created_at,
            "expires_at": EXPIRES_AT,
            "ended_at": ENDED_AT if ended else None,
            "cancel_initiated_at": CREATED_AT if batch.end == "canceled" else None,
            "archived_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }
        self._problem("MessageBatch", body)
        return body
