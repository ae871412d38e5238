"""A fake GitHub REST API on 127.0.0.1, held to GitHub's own OpenAPI description.

Every request is matched (method + path) against the operations of `rest-api.full.json`; its path and
query parameters and its JSON body are validated against the operation's schemas, and anything the
description does not allow is rejected (404/405/422) and recorded in `FakeGitHub.rejected`. Answers are
built from the description's own examples, patched with state (ids, urls, bodies), and validated against
the operation's response schema before they are sent; a mismatch there is a bug in the fake and is recorded
in `FakeGitHub.errors`. Tests assert both lists are empty.

State kept: issue comments (with hidden/minimized and deleted ones), check runs with their annotations,
commit statuses, and every request (`FakeGitHub.calls`).
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jsonschema
import pytest
import referencing
from referencing.jsonschema import DRAFT7

from tests.fixtures_path import FIXTURES

SPEC_FILE = FIXTURES / "github" / "rest-api.full.json"
SPEC_URI = "urn:github-rest-api"

BOT_USER = {
    "login": "github-actions[bot]",
    "id": 41898282,
    "node_id": "MDM6Qm90NDE4OTgyODI=",
    "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4",
    "gravatar_id": "",
    "url": "https://api.github.com/users/github-actions%5Bbot%5D",
    "html_url": "https://github.com/apps/github-actions",
    "followers_url": "https://api.github.com/users/github-actions%5Bbot%5D/followers",
    "following_url": "https://api.github.com/users/github-actions%5Bbot%5D/following{/other_user}",
    "gists_url": "https://api.github.com/users/github-actions%5Bbot%5D/gists{/gist_id}",
    "starred_url": "https://api.github.com/users/github-actions%5Bbot%5D/starred{/owner}{/repo}",
    "subscriptions_url": "https://api.github.com/users/github-actions%5Bbot%5D/subscriptions",
    "organizations_url": "https://api.github.com/users/github-actions%5Bbot%5D/orgs",
    "repos_url": "https://api.github.com/users/github-actions%5Bbot%5D/repos",
    "events_url": "https://api.github.com/users/github-actions%5Bbot%5D/events{/privacy}",
    "received_events_url": "https://api.github.com/users/github-actions%5Bbot%5D/received_events",
    "type": "Bot",
    "site_admin": False,
}


def human_user(login: str, user_id: int = 1) -> dict[str, Any]:
    user = {
        k: (v.replace("github-actions%5Bbot%5D", login) if isinstance(v, str) else v)
        for k, v in BOT_USER.items()
    }
    user.update(
        login=login, id=user_id, node_id=f"U_{user_id}", type="User", html_url=f"https://github.com/{login}"
    )
    return user


# -- the description ------------------------------------------------------------------------------------


def _openapi_nullable_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` is not JSON Schema: turn it into a type/enum that admits null."""
    if isinstance(node, list):
        return [_openapi_nullable_to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi_nullable_to_json_schema(v) for k, v in node.items()}
    if out.get("nullable") is True:
        out.pop("nullable")
        if "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        elif any(k in out for k in ("oneOf", "anyOf", "allOf", "$ref", "enum")):
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@dataclass
class Operation:
    method: str
    template: str
    regex: re.Pattern
    pointer: str  # JSON pointer of the operation object in the description
    op: dict
    params: list[dict] = field(default_factory=list)

    @property
    def operation_id(self) -> str:
        return self.op.get("operationId", f"{self.method} {self.template}")


def _escape_pointer(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


class Spec:
    """GitHub's REST description, loaded once, with compiled path templates and a schema registry."""

    def __init__(self, path: Path = SPEC_FILE) -> None:
        raw = json.loads(path.read_text("utf-8"))
        self.doc = _openapi_nullable_to_json_schema(raw)
        resource = referencing.Resource.from_contents(self.doc, default_specification=DRAFT7)
        self.registry = referencing.Registry().with_resource(SPEC_URI, resource)
        self.operations: list[Operation] = []
        for template, item in self.doc["paths"].items():
            parts = re.split(r"(\{[^}]+\})", template)
            regex = re.compile(
                "^" + "".join("([^/]+)" if p.startswith("{") else re.escape(p) for p in parts) + "$"
            )
            shared = item.get("parameters", [])
            for method, op in item.items():
                if method not in ("get", "post", "put", "patch", "delete", "head"):
                    continue
                pointer = f"/paths/{_escape_pointer(template)}/{method}"
                params = [self.deref(p) for p in [*shared, *op.get("parameters", [])]]
                self.operations.append(Operation(method.upper(), template, regex, pointer, op, params))
        # literal segments win over parameters (`/check-runs/{id}/annotations` before `/{a}/{b}/{c}`)
        self.operations.sort(key=lambda o: (o.template.count("{"), -len(o.template)))
        self._validators: dict[str, jsonschema.protocols.Validator] = {}

    def deref(self, node: dict) -> dict:
        while isinstance(node, dict) and "$ref" in node:
            node = self.resolve(node["$ref"])
        return node

    def resolve(self, ref: str) -> Any:
        node: Any = self.doc
        for part in ref.lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], bool]:
        """(operation, path parameters, path_known): path_known is True when only the method is wrong."""
        path_known = False
        for op in self.operations:
            m = op.regex.match(path)
            if not m:
                continue
            path_known = True
            if op.method != method:
                continue
            names = re.findall(r"\{([^}]+)\}", op.template)
            return op, {n: unquote(v) for n, v in zip(names, m.groups(), strict=True)}, True
        return None, {}, path_known

    def validator(self, pointer: str) -> jsonschema.protocols.Validator:
        if pointer not in self._validators:
            self._validators[pointer] = jsonschema.Draft7Validator(
                {"$ref": f"{SPEC_URI}#{pointer}"}, registry=self.registry
            )
        return self._validators[pointer]

    def errors(self, pointer: str, instance: Any) -> list[str]:
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message[:300]}"
            for e in self.validator(pointer).iter_errors(instance)
        ]

    def request_schema_pointer(self, op: Operation) -> str | None:
        body = op.op.get("requestBody")
        if body is None:
            return None
        body = self.deref(body)
        if "application/json" not in body.get("content", {}):
            return None
        return f"{op.pointer}/requestBody/content/application~1json/schema"

    def response_schema_pointer(self, op: Operation, status: int) -> str | None:
        response = op.op["responses"].get(str(status))
        if response is None:
            return None
        base = f"{op.pointer}/responses/{status}"
        while "$ref" in response:
            base = response["$ref"].lstrip("#")
            response = self.resolve(response["$ref"])
        if "application/json" not in response.get("content", {}):
            return None
        return f"{base}/content/application~1json/schema"

    def example(self, op: Operation, status: int) -> Any:
        response = self.deref(op.op["responses"][str(status)])
        content = response["content"]["application/json"]
        examples = content.get("examples") or {}
        first = next(iter(examples.values()))
        return copy.deepcopy(self.deref(first)["value"])

    def component_example(self, name: str) -> Any:
        return copy.deepcopy(self.doc["components"]["examples"][name]["value"])


@functools.lru_cache(maxsize=1)
def load_spec() -> Spec:
    """The description is 13 MB: load and compile it once per test session."""
    return Spec()


# -- the server -----------------------------------------------------------------------------------------


class Reply(Exception):
    """Raised by a handler to answer with a status (and a body that validates against the description)."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


@dataclass
class Call:
    method: str
    path: str
    operation_id: str | None
    query: dict[str, list[str]]
    body: Any
    status: int = 0


def _now(clock: itertools.count) -> str:
    return f"2024-05-01T12:{next(clock) % 60:02d}:00Z"


class FakeGitHub:
    """State + handlers. Run with `serve()`; `url` is what goes into GITHUB_API_URL."""

    def __init__(
        self,
        prefix: str = "",
        token: str = "ghs_faketoken",
        user: dict | None = None,
        foreign_urls: bool = False,
    ) -> None:
        self.spec = load_spec()
        self.foreign_urls = (
            foreign_urls  # answers' `url` fields name api.github.com, as the spec's examples do
        )
        self.prefix = prefix.rstrip("/")
        self.token = token
        self.user = user or BOT_USER
        self.calls: list[Call] = []
        self.rejected: list[str] = []
        self.errors: list[str] = []
        self.comments: dict[int, dict] = {}  # id -> comment (with "_issue", "_deleted", "_minimized")
        self.check_runs: dict[int, dict] = {}
        self.statuses: list[dict] = []
        self.issue_events: dict[int, list[dict]] = {}
        self.permissions: dict[
            str, str
        ] = {}  # login -> admin | write | read | none (absent: not a collaborator)
        self.deny: dict[str, tuple[int, str]] = {}  # operationId -> (status, message)
        self.edits = 0
        self._ids = itertools.count(1001)
        self._clock = itertools.count(1)
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # -- lifecycle
    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{self.prefix}"

    def serve(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall a request (see tests/servers.py)

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                fake.dispatch(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _handle  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        return self

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # -- views for tests
    def live_comments(self, issue: int | None = None) -> list[dict]:
        return [
            c for c in self.comments.values() if not c["_deleted"] and (issue is None or c["_issue"] == issue)
        ]

    def calls_to(self, operation_id: str) -> list[Call]:
        return [c for c in self.calls if c.operation_id == operation_id and 200 <= c.status < 300]

    def add_comment(self, owner_repo: str, issue: int, body: str, user: dict | None = None) -> dict:
        with self._lock:
            return self._new_comment(owner_repo, issue, body, user or self.user)

    def hide_comment(self, comment_id: int, reason: str = "outdated") -> None:
        self.comments[comment_id]["_minimized"] = reason

    def delete_comment(self, comment_id: int) -> None:
        self.comments[comment_id]["_deleted"] = True

    # -- dispatch
    def dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        path = split.path  # matched raw; parameter values are unquoted after the match
        query = parse_qs(split.query, keep_blank_values=True)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        call = Call(handler.command, split.path, None, query, None)
        with self._lock:
            self.calls.append(call)
        try:
            status, body, headers = self._process(handler, call, path, query, raw)
        except Exception as exc:  # a bug in the fake: answer 500 and make the test fail
            self.errors.append(f"{handler.command} {handler.path}: {type(exc).__name__}: {exc}")
            status, body, headers = 500, {"message": "fake server error"}, {}
        call.status = status
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        handler.send_response(status)
        if body is not None:
            handler.send_header("Content-Type", "application/json; charset=utf-8")
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)

    def _reject(self, call: Call, status: int, why: str) -> tuple[int, Any, dict]:
        self.rejected.append(f"{call.method} {call.path}: {why}")
        if status == 422:
            body = {
                "message": "Validation Failed",
                "documentation_url": "https://docs.github.com/rest",
                "errors": [why],
            }
        else:
            body = {"message": why, "documentation_url": "https://docs.github.com/rest"}
        return status, body, {}

    def _process(
        self, handler: BaseHTTPRequestHandler, call: Call, path: str, query: dict, raw: bytes
    ) -> tuple[int, Any, dict]:
        if self.prefix:
            if not path.startswith(self.prefix + "/") and path != self.prefix:
                return self._reject(call, 404, f"outside the API prefix {self.prefix}")
            path = path[len(self.prefix) :] or "/"
        op, params, path_known = self.spec.match(call.method, path)
        if op is None:
            return self._reject(
                call, 405 if path_known else 404, "no such operation in GitHub's REST description"
            )
        call.operation_id = op.operation_id
        auth = handler.headers.get("Authorization", "")
        if auth not in (f"token {self.token}", f"Bearer {self.token}"):
            self.rejected.append(f"{call.method} {call.path}: bad or missing Authorization")
            return (
                401,
                {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
                {},
            )
        problem = self._check_parameters(op, params, query)
        if problem:
            return self._reject(call, 422, problem)
        body: Any = None
        pointer = self.spec.request_schema_pointer(op)
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return self._reject(call, 400, "body is not JSON")
            if pointer is None:
                return self._reject(call, 422, "this operation takes no JSON body")
        elif pointer is not None and self.spec.deref(op.op["requestBody"]).get("required"):
            return self._reject(call, 422, "a JSON body is required")
        call.body = body
        if pointer is not None and body is not None:
            problems = self.spec.errors(pointer, body)
            if problems:
                return self._reject(call, 422, "; ".join(problems))
        if op.operation_id in self.deny:
            status, message = self.deny[op.operation_id]
            return status, {"message": message, "documentation_url": "https://docs.github.com/rest"}, {}
        handler_fn = getattr(self, "op_" + op.operation_id.replace("/", "__").replace("-", "_"), None)
        if handler_fn is None:
            return self._reject(
                call, 501, f"{op.operation_id} is allowed by GitHub but not implemented by the fake"
            )
        try:
            with self._lock:
                status, out, headers = handler_fn(params, query, body)
        except Reply as reply:
            status, out, headers = reply.status, reply.body, reply.headers
        if out is not None:
            response_pointer = self.spec.response_schema_pointer(op, status)
            if response_pointer is None:
                self.errors.append(f"{op.operation_id}: no JSON response {status} in the description")
            else:
                problems = self.spec.errors(response_pointer, out)
                if problems:
                    self.errors.append(f"{op.operation_id} {status} answer breaks its schema: {problems[:3]}")
        return status, out, headers

    def _check_parameters(
        self, op: Operation, params: dict[str, str], query: dict[str, list[str]]
    ) -> str | None:
        declared = {(p["in"], p["name"]): p for p in op.params}
        for name, value in params.items():
            spec = declared.get(("path", name))
            if spec is None:
                return f"undeclared path parameter {name}"
            problem = self._check_value(spec, value)
            if problem:
                return f"path parameter {name}: {problem}"
        for name, values in query.items():
            spec = declared.get(("query", name))
            if spec is None:
                return f"query parameter {name!r} is not allowed by {op.operation_id}"
            problem = self._check_value(spec, values[-1])
            if problem:
                return f"query parameter {name}: {problem}"
        for (where, name), spec in declared.items():
            if where == "query" and spec.get("required") and name not in query:
                return f"missing required query parameter {name}"
        return None

    def _check_value(self, param: dict, text: str) -> str | None:
        schema = self.spec.deref(param.get("schema", {}))
        kind = schema.get("type")
        value: Any = text
        if kind == "integer":
            if not re.fullmatch(r"-?\d+", text):
                return f"{text!r} is not an integer"
            value = int(text)
        elif kind == "boolean":
            if text not in ("true", "false"):
                return f"{text!r} is not a boolean"
            value = text == "true"
        try:
            jsonschema.Draft7Validator(schema, registry=self.spec.registry).validate(value)
        except jsonschema.ValidationError as exc:
            return exc.message
        return None

    # -- objects
    def _repo_url(self, owner: str, repo: str) -> str:
        base = "https://api.github.com" if self.foreign_urls else self.url
        return f"{base}/repos/{owner}/{repo}"

    def _comment_view(self, c: dict) -> dict:
        out = {k: v for k, v in c.items() if not k.startswith("_")}
        out["minimized"] = {"reason": c["_minimized"]} if c["_minimized"] else None
        return out

    def _new_comment(self, owner_repo: str, issue: int, body: str, user: dict) -> dict:
        owner, repo = owner_repo.split("/")
        comment = self.spec.component_example("issue-comment")
        cid = next(self._ids)
        now = _now(self._clock)
        comment.update(
            id=cid,
            node_id=f"IC_{cid}",
            url=f"{self._repo_url(owner, repo)}/issues/comments/{cid}",
            html_url=f"https://github.com/{owner}/{repo}/pull/{issue}#issuecomment-{cid}",
            body=body,
            user=copy.deepcopy(user),
            created_at=now,
            updated_at=now,
            issue_url=f"{self._repo_url(owner, repo)}/issues/{issue}",
            author_association="NONE" if user.get("type") == "Bot" else "MEMBER",
        )
        comment.pop("performed_via_github_app", None)
        comment.pop("reactions", None)
        comment.update(_issue=issue, _repo=owner_repo, _deleted=False, _minimized=None)
        self.comments[cid] = comment
        return comment

    def _comment(self, params: dict, comment_id: str) -> dict:
        c = self.comments.get(int(comment_id))
        if c is None or c["_deleted"] or c["_repo"] != f"{params['owner']}/{params['repo']}":
            raise Reply(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
        return c

    # -- operation handlers: op_<operationId with / -> __ and - -> _>
    def op_issues__list_comments(self, params: dict, query: dict, body: Any) -> tuple[int, Any, dict]:
        issue = int(params["issue_number"])
        items = [
            self._comment_view(c)
            for c in self.comments.values()
            if not c["_deleted"]
            and c["_issue"] == issue
            and c["_repo"] == f"{params['owner']}/{params['repo']}"
        ]
        per_page = int(query.get("per_page", ["30"])[-1])
        page = int(query.get("page", ["1"])[-1])
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        headers = {}
        if page < last:
            base = f"{self.url}/repos/{params['owner']}/{params['repo']}/issues/{issue}/comments"
            headers["Link"] = (
                f'<{base}?per_page={per_page}&page={page + 1}>; rel="next", '
                f'<{base}?per_page={per_page}&page={last}>; rel="last"'
            )
        return 200, chunk, headers

    def op_issues__create_comment(self, params: dict, query: dict, body: Any) -> tuple[int, Any, dict]:
        c = self._new_comment(
            f"{params['owner']}/{params['repo']}", int(params["issue_number"]), body["body"], self.user
        )
        return 201, self._comment_view(c), {"Location": c["url"]}

    def op_issues__get_comment(self, params: dict, query: dict, body: Any) -> tuple[int, Any, dict]:
        return 200, self._comment_view(self._comment(params, params["comment_id"])), {}

    def op_issues__update_comment(self, params: dict, query: dict, body: Any) -> tuple[int, Any, dict]:
        c = self._comment(params, params["comment_id"])
        c["body"] = body["body"]
        c["updated_at"] = _now(self._clock)
        self.edits += 1
        return 200, self._comment_view(c), {}

    def op_issues__delete_comment(self, params: dict, query: dict, body: Any) -> tuple[int, Any, dict]:
        self._comment(params, params["comment_id"])["_deleted"] = True
        return 204, None, {}

    def op_checks__create(self, params: dict, query: dict, body: Any) -> tuple[int, Any, dict]:
        owner, repo = params["owner"], params["repo"]
        run = self.spec.component_example("check-run")
        rid = next(self._ids)
        output = body.get("output") or {}
        annotations = list(output.get("annotations", []))
        if len(annotations) > 50:
            raise Reply(
                422,
                {
                    "message": "Validation Failed",
                    "documentation_url": "https://docs.github.com/rest",
                    "errors": ["at most 50 annotations per request"],
                },
            )
        conclusion = body.get("conclusion")
        status = "completed" if conclusion else body.get("status", "queued")
        run.update(
            id=rid,
            node_id=f"CR_{rid}",
            head_sha=body["head_sha"],
            name=body["name"],
            external_id=body.get("external_id", ""),
            url=f"{self._repo_url(owner, repo)}/check-runs/{rid}",
            html_url=f"https://github.com/{owner}/{repo}/runs/{rid}",
            details_url=body.get("details_url", "https://github.com"),
            status=status,
            conclusion=conclusion,
            started_at=body.get("started_at", _now(self._clock)),
            completed_at=body.get("completed_at", _now(self._clock)) if conclusion else None,
            pull_requests=[],
        )
        run["_annotations"] = annotations
        run["_output"] = output
        run["_repo"] = f"{owner}/{repo}"
        self.check_runs[rid] = run
        return 201, self._run_view(run), {}

    def _run_view(self, run: dict) -> dict:
        out = {k: v for k, v in run.items() if not k.startswith("_")}
        output = run["_output"]
        out["output"] = {
            "title": output.get("title"),
            "summary": output.get("summary"),
            "text": output.get("text"),
            "annotations_count": len(run["_annotations"]),
            "annotations_url": f"{run['url']}/annotations",
        }
        return out

    def op_checks__update(self, params: dict, query: dict, body: Any) -> tuple[int, Any, dict]:
        run = self.check_runs.get(int(params["check_run_id"]))
        if run is None or run["_repo"] != f"{params['owner']}/{params['repo']}":
            raise Reply(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
        output = body.get("output")
        if output:
            extra = output.get("annotations", [])
            if len(extra) > 50:
                raise Reply(
                    422,
                    {
                        "message": "Validation Failed",
                        "documentation_url": "https://docs.github.com/rest",
                        "errors": ["at most 50 annotations per request"],
                    },
                )
            run["_annotations"].extend(extra)  # GitHub appends annotations on update
            run["_output"] = {**run["_output"], **{k: v for k, v in output.items() if k != "annotations"}}
        for key in ("name", "details_url", "external_id", "status", "conclusion", "completed_at"):
            if key in body:
                run[key] = body[key]
        if body.get("conclusion"):
            run["status"] = "completed"
        return 200, self._run_view(run), {}

    def op_checks__get(self, params: dict, query: dict, body: Any) -> tuple[int, Any, dict]:
        run = self.check_runs.get(int(params["check_run_id"]))
        if run is None:
            raise Reply(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
        return 200, self._run_view(run), {}

    def op_repos__create_commit_status(self, params: dict, query: dict, body: Any) -> tuple[int, Any, dict]:
        status = self.spec.component_example("status")
        sid = next(self._ids)
        owner, repo = params["owner"], params["repo"]
        now = _now(self._clock)
        status.update(
            id=sid,
            node_id=f"ST_{sid}",
            url=f"{self._repo_url(owner, repo)}/statuses/{params['sha']}",
            state=body["state"],
            description=body.get("description"),
            target_url=body.get("target_url"),
            context=body.get("context", "default"),
            created_at=now,
            updated_at=now,
            creator=copy.deepcopy(self.user),
        )
        status["_sha"] = params["sha"]
        self.statuses.append(status)
        return 201, {k: v for k, v in status.items() if not k.startswith("_")}, {}

    def add_label_event(self, issue: int, label: str, actor: str, at: str, event: str = "labeled") -> None:
        """A `labeled` / `unlabeled` entry in the issue's timeline (GET .../issues/{n}/events)."""
        item = self.spec.component_example("issue-event-for-issue-items")[0]
        eid = next(self._ids)
        item.update(
            id=eid,
            node_id=f"LE_{eid}",
            url=f"{self.url}/repos/o/r/issues/events/{eid}",
            actor=human_user(actor, eid),
            event=event,
            commit_id=None,
            commit_url=None,
            created_at=at,
            label={"name": label, "color": "0e8a16"},
        )
        self.issue_events.setdefault(issue, []).append(item)

    def op_repos__get_collaborator_permission_level(
        self, params: dict, query: dict, body: Any
    ) -> tuple[int, Any, dict]:
        login = params["username"]
        if login not in self.permissions:
            raise Reply(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
        op, _, _ = self.spec.match("GET", "/repos/o/r/collaborators/x/permission")
        assert op is not None
        answer = self.spec.example(op, 200)
        level = self.permissions[login]
        answer.update(permission=level, role_name={"write": "write"}.get(level, level))
        # the description's own example lacks `user.role_name`, which its schema requires
        answer["user"].update(login=login, id=sum(map(ord, login)), role_name=answer["role_name"])
        return 200, answer, {}

    def op_issues__list_events(self, params: dict, query: dict, body: Any) -> tuple[int, Any, dict]:
        return 200, list(self.issue_events.get(int(params["issue_number"]), [])), {}


@pytest.fixture
def fake_github():
    fake = FakeGitHub().serve()
    try:
        yield fake
    finally:
        fake.close()
