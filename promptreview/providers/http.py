"""The HTTP side every network provider shares: one JSON call with its failures classified, and `HTTPProvider`,
the base class the OpenAI, Anthropic, Ollama and GitHub Models providers extend.

`send_json` is the single place that turns an HTTP exchange into a decoded body or a classified failure, so
every provider retries the same things the same way:

* retried (`RetryableCallError`): 408, 409, 429, 5xx (incl. Anthropic's 529), timeouts, connection errors, a
  2xx body that is not JSON or cannot be decoded; the wait comes from `retry-after-ms` or `retry-after` when the server sends one;
* not retried (`FatalCallError`, the run stops with exit 3): 400, 401, 403, 404, 413, 422, ..., a URL that
  cannot be used, whatever a provider's `classify` hook says (OpenAI `insufficient_quota`, Anthropic spend
  limits), and a wait longer than `MAX_SERVER_WAIT`: a quota that will not come back during this run.

No httpx exception leaves `send_json`, and every text of the `CallFailure` it raises is scrubbed of the provider's
credentials. A failure keeps the server's own words (`code`, `server_message`) beside ours (`message`): a hook that
looks for hints in a rejection reads the server's (`server_said`), never our wording, which names the server.

`HTTPProvider` owns what the providers share (constructor, credentials check, headers, the JSON calls, error
bodies, the structured-output fallback); a provider overrides only the hooks where it differs:

| hook | default |
|---|---|
| `url`, `build_body(request, structured=)`, `parse_response(data)`, `pin_status`, `pinned_suggestions` | none: every provider says |
| `default_service()` | `service_name` (the class attribute) |
| `key_required()` | the provider's own public API (`official`) needs its key; another base URL may not |
| `missing_key_message()` | `"<service> needs an API key: set <VAR>"`, then `WITHOUT_A_KEY` |
| `extra_headers()`, `auth_headers(key)` | none; `Authorization: Bearer <key>` |
| `classify(response, body)` | None: the shared status rules decide |
| `rejects_structured_output(error, body)` | False: no fallback |
| `complete(request, client)` | credentials check, POST with the fallback, `parse_response` |
"""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import json
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from typing import Any

import httpx

from promptreview import secrets as secrets_
from promptreview.errors import MissingCredentials
from promptreview.notes import Note, note
from promptreview.providers.base import FatalCallError, PinStatus, RetryableCallError
from promptreview.providers.retry import parse_retry_after
from promptreview.records import CallFailure, CompletionRequest, ProviderResponse
from promptreview.vocabulary import ProviderName

RETRYABLE_STATUSES = frozenset({408, 409, 429, 529})  # plus every 5xx
MAX_SERVER_WAIT = 600.0  # seconds: a server asking for longer is out of quota for this run, not busy

CallError = RetryableCallError | FatalCallError
Classifier = Callable[[httpx.Response, Any], "CallError | None"]
# None: the client's own timeout, which the runner sets for the whole run
ClientTimeout = float | httpx.Timeout | None


# -- error bodies and secrets ---------------------------------------------------------------------------


def error_message(body: Any, text: str = "") -> str:
    """The human part of an error body in any of the wire formats we speak (OpenAI, Anthropic, Ollama, GitHub,
    Gemini: Google wraps its error object in a one-element list)."""
    body = _unwrapped(body)
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(message := err.get("message"), str):
            return message
        if isinstance(err, str):
            return err
        if isinstance(message := body.get("message"), str):
            return message
        if isinstance(detail := body.get("detail"), str):  # FastAPI-style servers (vLLM)
            return detail
    snippet = " ".join(text.split())
    return snippet[:300] if snippet else "no error message"


def _unwrapped(body: Any) -> Any:
    """Google's `[{"error": {...}}]`: the error object inside its one-element list."""
    if isinstance(body, list) and len(body) == 1 and isinstance(body[0], dict):
        return body[0]
    return body


def error_code(body: Any) -> str | None:
    """`error.code` or `error.type` (OpenAI `insufficient_quota`, Anthropic `overloaded_error`), if any."""
    body = _unwrapped(body)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        for key in ("code", "type"):
            if isinstance(value := err.get(key), str) and value:
                return value
    return None


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Remove credentials from a message before it can reach a log, a report or a PR comment: the provider's
    own, and every one the run holds, in their encodings too (`promptreview.secrets`, the one scrubber)."""
    return secrets_.scrub(text, secrets)


def error_text(body: Any, text: str, secrets: Iterable[str | None]) -> str:
    """`error_message`, scrubbed; the raw text is scrubbed before it is cut, so no part of a key survives."""
    secrets = tuple(secrets)
    return scrub(error_message(body, scrub(text, secrets)), secrets)


# -- one HTTP exchange, classified ----------------------------------------------------------------------


def classify_status(
    response: httpx.Response,
    body: Any,
    *,
    service: str,
    key_env_var: str | None = None,
    secrets: Iterable[str | None] = (),
) -> CallError:
    """The default verdict on a non-2xx response: a RetryableCallError or a FatalCallError (never raised here)."""
    secrets = tuple(secrets)
    status = response.status_code
    code = error_code(body)
    message = error_text(body, response.text, secrets)
    label = f"HTTP {status}" + (f" {code}" if code else "")

    def failure(text: str) -> CallFailure:
        return http_failure(response, body, text, secrets)

    should_retry = (response.headers.get("x-should-retry") or "").strip().lower()
    retryable = status in RETRYABLE_STATUSES or 500 <= status <= 599
    if should_retry == "true":
        retryable = True
    elif should_retry == "false" and status not in (408, 429, 529):
        retryable = False
    if retryable:
        wait = parse_retry_after(response.headers)
        if wait is not None and wait > MAX_SERVER_WAIT:
            return FatalCallError(
                failure(
                    f"{service}: the server asks to wait {_duration(wait)} before the next call ({label}: "
                    f"{message}); that is a quota for longer than this run, try again later"
                )
            )
        return RetryableCallError(failure(f"{service}: {label}: {message}"), retry_after=wait)
    if status == 401:
        where = f"the key in {key_env_var}" if key_env_var else "the credentials"
        return FatalCallError(
            failure(
                f"{service}: {where} was rejected as invalid ({label}); check that it is current and complete"
            )
        )
    if status == 403:
        return FatalCallError(failure(f"{service}: permission denied ({label}): {message}"))
    if status == 404:
        return FatalCallError(
            failure(f"{service}: not found ({label}): {message}; check the model id and the base URL")
        )
    return FatalCallError(failure(f"{service}: request rejected ({label}): {message}"))


def http_failure(
    response: httpx.Response, body: Any, message: str, secrets: Iterable[str | None] = ()
) -> CallFailure:
    """A non-2xx answer as a failure worded `message`, with the server's own code and message beside it (for a
    provider's `classify` hook; `send_json` scrubs it again)."""
    return CallFailure(
        "http_status",
        message,
        status=response.status_code,
        code=error_code(body),
        server_message=error_text(body, response.text, secrets),
    )


def server_said(error: CallError, pattern: re.Pattern[str]) -> bool:
    """Whether the server's own words (its error message or code, never our wording of them) match `pattern`:
    servers word a rejection in many ways, and only what they said can tell which."""
    failure = error.failure
    return any(pattern.search(text) for text in (failure.server_message, failure.code) if text)


def http_date(value: str | None) -> float | None:
    """An HTTP `Date` header (RFC 9110: `Sun, 06 Nov 1994 08:49:37 GMT`) in seconds since the epoch; None when
    there is none or it cannot be read."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # RFC 9110 dates are GMT
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def _scrubbed(error: CallError, secrets: tuple[str | None, ...]) -> CallError:
    """`error` with every text of its failure scrubbed: a provider's `classify` hook may quote the server
    verbatim."""
    failure = error.failure.scrubbed(lambda text: scrub(text, secrets))
    if failure == error.failure:
        return error
    if isinstance(error, RetryableCallError):
        return RetryableCallError(failure, retry_after=error.retry_after)
    return FatalCallError(failure)


async def send_json(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    service: str,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    timeout: ClientTimeout = None,
    key_env_var: str | None = None,
    secrets: Iterable[str | None] = (),
    classify: Classifier | None = None,
    content: AsyncIterable[bytes] | None = None,
) -> tuple[Any, httpx.Response]:
    """Make one JSON call; return (decoded body, response) or raise RetryableCallError / FatalCallError.

    `classify(response, body)` may return an error for a provider's special cases (it is consulted first
    for every non-2xx response); returning None falls back to `classify_status`. `content`, instead of `body`:
    a request body streamed as it is made (a provider batch's upload; `headers` then give its type and length).
    """
    secrets = tuple(secrets)
    try:
        response = await client.request(
            method,
            url,
            headers=headers,
            json=body if content is None else None,
            content=content,
            timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
        )
    except httpx.TimeoutException as exc:
        raise RetryableCallError(
            CallFailure("timeout", f"{service}: timed out ({type(exc).__name__})")
        ) from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise FatalCallError(
            CallFailure(
                "invalid_url",
                scrub(f"{service}: {url!r} is not a usable URL ({exc}); check the base URL setting", secrets),
            )
        ) from exc
    except httpx.TransportError as exc:
        detail = scrub(str(exc), secrets) or "no detail"
        raise RetryableCallError(
            CallFailure("connection", f"{service}: connection failed ({type(exc).__name__}: {detail})")
        ) from exc
    except httpx.HTTPError as exc:  # a body that cannot be decoded, too many redirects: after the connection
        detail = scrub(str(exc), secrets) or "no detail"
        raise RetryableCallError(
            CallFailure(
                "unreadable_response",
                f"{service}: the response could not be read ({type(exc).__name__}: {detail})",
            )
        ) from exc
    try:
        decoded = response.json() if response.content else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        decoded = None
    if response.is_success:
        if decoded is None:
            snippet = " ".join(scrub(response.text, secrets).split())[:120]
            raise RetryableCallError(
                CallFailure(
                    "invalid_response",
                    f"{service}: HTTP {response.status_code} with a body that is not JSON ({snippet!r})",
                    status=response.status_code,
                )
            )
        return decoded, response
    verdict = classify(response, decoded) if classify else None
    if verdict is None:
        verdict = classify_status(
            response, decoded, service=service, key_env_var=key_env_var, secrets=secrets
        )
    raise _scrubbed(verdict, secrets)


# -- request helpers shared by body builders ------------------------------------------------------------


def wants_json_object(request: CompletionRequest) -> bool:
    """The prompt asks for JSON without a schema (GitHub `.prompt.yml` `responseFormat: json_object`)."""
    return request.json_object or request.params_dict.get("response_format") == "json_object"


# -- the base class -------------------------------------------------------------------------------------


# A first try often has no key yet: the missing-key error names the two ways to review without one.
WITHOUT_A_KEY = (
    "; or try it without a key: `--model sim:NAME` runs the offline model (e.g. sim:triage-v1, docs/sim.md), "
    "and GitHub Models needs only a GITHUB_TOKEN (`--model github:openai/gpt-4.1-mini`; in CI, "
    "`promptreview init --provider github`: docs/providers.md#github-models)"
)


class HTTPProvider(ABC):
    """A provider over HTTP JSON. Subclasses set `name`, `key_env_var`, `service_name`, `default_base_url` and
    implement the abstract hooks; every other hook has the default in the module docstring."""

    name: ProviderName
    key_env_var: str | None = None
    service_name: str  # how messages name the provider when its base URL does not change that
    default_base_url: str

    def __init__(
        self, *, base_url: str | None = None, api_key: str | None = None, timeout: ClientTimeout = None
    ) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.official = self.base_url == self.default_base_url.rstrip("/")  # the provider's own public API
        self.service = self.default_service()
        self.notes: list[Note] = []  # things the report should mention (e.g. structured output turned off)
        self._plain: set[str] = set()  # models this server rejected structured output for

    def default_service(self) -> str:
        return self.service_name

    # -- what each provider says ----------------------------------------------------------------------
    @property
    @abstractmethod
    def url(self) -> str:
        """The endpoint `complete` posts to."""

    @abstractmethod
    def build_body(self, request: CompletionRequest, *, structured: bool = True) -> dict[str, Any]:
        """The request body; `structured=False` leaves out structured output (the fallback's retry)."""

    @abstractmethod
    def parse_response(self, data: Any) -> ProviderResponse:
        """The decoded 2xx body as a ProviderResponse; FatalCallError (see `malformed`) when it has no answer."""

    @abstractmethod
    def pin_status(self, model_id: str) -> PinStatus:
        """The provider's pinning rule (`providers/pinning.py`), judged on the id alone."""

    @abstractmethod
    def pinned_suggestions(self, model_id: str) -> list[str]:
        """Pinned ids to suggest instead of a floating alias (may be empty)."""

    # -- credentials ----------------------------------------------------------------------------------
    def key_required(self) -> bool:
        """The public API needs a key; a compatible server at another base URL usually does not."""
        return self.official and self.key_env_var is not None

    def missing_key_message(self) -> str:
        return f"{self.service} needs an API key: set {self.key_env_var}{WITHOUT_A_KEY}"

    def require_credentials(self) -> None:
        if self.key_required() and not self.api_key:
            raise MissingCredentials(self.missing_key_message(), self.key_env_var or "")

    # -- headers --------------------------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json", **self.extra_headers()}
        if self.api_key:  # a compatible server without a key gets no credential header at all
            headers.update(self.auth_headers(self.api_key))
        return headers

    def extra_headers(self) -> dict[str, str]:
        return {}

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    # -- errors ---------------------------------------------------------------------------------------
    def secrets(self) -> tuple[str | None, ...]:
        return (self.api_key,)

    def scrubbed(self, text: str) -> str:
        return scrub(text, self.secrets())

    def error_text(self, response: httpx.Response, body: Any) -> str:
        """The server's error message, scrubbed, for a `classify` hook to quote."""
        return error_text(body, response.text, self.secrets())

    def classify(self, response: httpx.Response, body: Any) -> CallError | None:
        """The provider's own verdict on a non-2xx response; None leaves it to the shared status rules."""
        return None

    def verdict(self, response: httpx.Response, body: Any, *, service: str | None = None) -> CallError:
        """The verdict on a non-2xx answer, as a synchronous call would get it: the provider's `classify`, else
        the shared status rules (a provider batch's failed line, or its exchanges, in `service`'s name)."""
        verdict = self.classify(response, body)
        if verdict is None:
            verdict = classify_status(
                response,
                body,
                service=service or self.service,
                key_env_var=self.key_env_var,
                secrets=self.secrets(),
            )
        return _scrubbed(verdict, self.secrets())

    def malformed(self, missing: str, data: Any) -> FatalCallError:
        """A 2xx body without the part that holds the answer."""
        return FatalCallError(
            CallFailure(
                "invalid_response",
                f"{self.service}: the response has no {missing} ({self.scrubbed(error_message(data))})",
            )
        )

    # -- the calls ------------------------------------------------------------------------------------
    async def get_json(self, client: httpx.AsyncClient, url: str) -> Any:
        return await self._send(client, "GET", url, None)

    async def post_json(self, client: httpx.AsyncClient, url: str, body: Mapping[str, Any]) -> Any:
        return await self._send(client, "POST", url, body)

    async def _send(
        self, client: httpx.AsyncClient, method: str, url: str, body: Mapping[str, Any] | None
    ) -> Any:
        data, _ = await self._exchange(client, method, url, body)
        return data

    async def _exchange(
        self, client: httpx.AsyncClient, method: str, url: str, body: Mapping[str, Any] | None
    ) -> tuple[Any, httpx.Response]:
        return await send_json(
            client,
            method,
            url,
            service=self.service,
            headers=self.headers(),
            body=body,
            timeout=self.timeout,
            key_env_var=self.key_env_var,
            secrets=self.secrets(),
            classify=self.classify,
        )

    async def send_stream(
        self,
        client: httpx.AsyncClient,
        url: str,
        content: AsyncIterable[bytes],
        *,
        headers: Mapping[str, str],
        service: str,
    ) -> Any:
        """POST a body streamed as it is made (a provider batch's upload): its JSON answer, every failure
        mapped as a call's (`send_json`). `headers` are the whole set: the provider's, the type and length."""
        data, _ = await send_json(
            client,
            "POST",
            url,
            service=service,
            headers=headers,
            content=content,
            timeout=self.timeout,
            key_env_var=self.key_env_var,
            secrets=self.secrets(),
            classify=self.classify,
        )
        return data

    async def stream_lines(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        service: str,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[str]:
        """The lines of a GET's body, streamed as they arrive (a provider batch's results); every failure
        mapped as a call's: timeouts and dropped connections retried, a non-2xx judged by `verdict`."""
        try:
            async with client.stream("GET", url, headers=headers or self.headers()) as response:
                if not response.is_success:
                    await response.aread()
                    try:
                        body = response.json() if response.content else None
                    except (ValueError, UnicodeDecodeError):
                        body = None
                    raise self.verdict(response, body, service=service)
                async for line in response.aiter_lines():
                    yield line
        except httpx.TimeoutException as exc:
            raise RetryableCallError(
                CallFailure("timeout", f"{service}: timed out reading results ({type(exc).__name__})")
            ) from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise FatalCallError(
                CallFailure("invalid_url", f"{service}: the results URL is not usable; check the base URL")
            ) from exc
        except httpx.TransportError as exc:
            raise RetryableCallError(
                CallFailure(
                    "connection",
                    f"{service}: reading results failed ({type(exc).__name__}: "
                    f"{self.scrubbed(str(exc)) or 'no detail'})",
                )
            ) from exc

    # -- structured output, and its fallback ----------------------------------------------------------
    def rejects_structured_output(self, error: FatalCallError, body: Mapping[str, Any]) -> bool:
        """Whether `error` means this server does not do the structured output `body` asked for."""
        return False

    def structured_output_allowed(self, model: str) -> bool:
        """False once the server rejected structured output for `model`: it is not sent again this run."""
        return model not in self._plain

    async def post_request(
        self, client: httpx.AsyncClient, request: CompletionRequest, extra: Mapping[str, Any] | None = None
    ) -> Any:
        """POST the request's body (plus `extra` fields, e.g. `n`) to `url`; a server that rejects JSON mode
        (`json_object`, no schema) gets the instruction alone, for this call and every later one with the same
        model, and the report says so once.

        A schema is never dropped: a server that refuses one refuses that request (a `FatalCallError`, which
        the review charges to the side whose request it was). Falling back would review the head's prompt
        without the schema production sends, and a pull request could bring a schema the server refuses
        precisely to be reviewed without one."""
        data, _ = await self.post_exchange(client, request, extra)
        return data

    async def post_exchange(
        self, client: httpx.AsyncClient, request: CompletionRequest, extra: Mapping[str, Any] | None = None
    ) -> tuple[Any, httpx.Headers]:
        """`post_request`, with the response's headers: where a provider says what its body does not (the
        time an answer was made, the request id: `provenance`)."""
        body = {**self.build_body(request), **(extra or {})}
        try:
            data, response = await self._exchange(client, "POST", self.url, body)
            return data, response.headers
        except FatalCallError as exc:
            if request.response_schema is not None or not self.rejects_structured_output(exc, body):
                raise
            model = request.model.model
            if model not in self._plain:
                self._plain.add(model)
                self.notes.append(
                    note("structured_output_rejected", model, service=self.service, error=str(exc))
                )
            plain = {**self.build_body(request, structured=False), **(extra or {})}
            data, response = await self._exchange(client, "POST", self.url, plain)
            return data, response.headers

    def provenance(self, response: ProviderResponse, headers: httpx.Headers) -> ProviderResponse:
        """`response` with what the response headers say of its provenance and its body did not: the request id
        (`request-id`, `x-request-id`) and, without a time of its own, the `date` the server answered at."""
        request_id = response.request_id or headers.get("request-id") or headers.get("x-request-id")
        created = response.provider_created
        if created is None:
            created = http_date(headers.get("date"))
        if request_id == response.request_id and created == response.provider_created:
            return response
        return dataclasses.replace(response, request_id=request_id, provider_created=created)

    async def complete(self, request: CompletionRequest, client: httpx.AsyncClient) -> ProviderResponse:
        self.require_credentials()
        data, headers = await self.post_exchange(client, request)
        return self.provenance(self.parse_response(data), headers)
