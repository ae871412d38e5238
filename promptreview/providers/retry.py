"""Retry policy shared by every provider: jittered exponential backoff that honours the server's wait.

Also the one place that turns an HTTP exchange into a result or a classified failure, so every provider
retries the same things the same way:

* retried (`RetryableCallError`): 408, 409, 429, 5xx (incl. Anthropic's 529), timeouts, connection errors;
  the wait comes from `retry-after-ms` or `retry-after` (seconds or an HTTP date) when the server sends one;
* not retried (`FatalCallError`, the run stops with exit 3): 400, 401, 403, 404, 413, 422, ... and whatever a
  provider's own `classify` hook says (OpenAI `insufficient_quota`, Anthropic spend limits); also a wait
  longer than `MAX_SERVER_WAIT`, which means a quota that will not come back during this run.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import Any, TypeVar

import httpx

from promptreview.providers.base import FatalCallError, RetryableCallError

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 409, 429, 529})  # plus every 5xx
MAX_SERVER_WAIT = 600.0  # seconds: a server asking for longer is out of quota for this run, not busy


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5  # seconds before the first retry
    max_delay: float = 30.0
    jitter: float = 0.5  # +- share of the delay drawn at random

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        raw = min(self.base_delay * (2 ** (attempt - 1)), self.max_delay)
        return raw * (1 + random.uniform(-self.jitter, self.jitter))


class RetriesExhausted(Exception):
    def __init__(self, last: RetryableCallError, attempts: int) -> None:
        super().__init__(f"{last} (gave up after {attempts} attempts)")
        self.last = last
        self.attempts = attempts


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> tuple[T, int]:
    """Run `call` until it succeeds; return (result, attempts). FatalCallError passes straight through."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call(), attempt
        except RetryableCallError as exc:
            if attempt >= policy.max_attempts:
                raise RetriesExhausted(exc, attempt) from exc
            await sleep(policy.delay(attempt, exc.retry_after))


# -- what the server asked for ---------------------------------------------------------------------------


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asks us to wait, from `retry-after-ms` or `retry-after`; None when it did not say.

    `retry-after-ms` (OpenAI, Anthropic) is a number of milliseconds; `retry-after` is a number of seconds
    or an HTTP date (RFC 9110). A date in the past, or a negative number, means "now" (0.0).
    `headers` is any case-insensitive mapping (httpx.Headers) or a plain dict with lower-case names.
    """
    ms = _header(headers, "retry-after-ms")
    if ms is not None:
        try:
            value = float(ms)
        except ValueError:
            value = None
        if value is not None and value == value and value not in (float("inf"), float("-inf")):
            return max(value / 1000.0, 0.0)
    raw = _header(headers, "retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        seconds = None
    if seconds is not None:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            return None
        return max(seconds, 0.0)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # an HTTP date is GMT even when it forgets to say so
        when = when.replace(tzinfo=timezone.utc)
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None and not isinstance(headers, httpx.Headers):
        for key, item in headers.items():
            if key.lower() == name:
                return item
    return value


# -- one HTTP exchange, classified ----------------------------------------------------------------------

Classifier = Callable[[httpx.Response, Any], "Exception | None"]


def error_message(body: Any, text: str = "") -> str:
    """The human part of an error body in any of the wire formats we speak (OpenAI, Anthropic, Ollama, GitHub)."""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return err["message"]
        if isinstance(err, str):
            return err
        if isinstance(body.get("message"), str):
            return body["message"]
        if isinstance(body.get("detail"), str):  # FastAPI-style servers (vLLM)
            return body["detail"]
    snippet = " ".join(text.split())
    return snippet[:300] if snippet else "no error message"


def error_code(body: Any) -> str | None:
    """`error.code` or `error.type` (OpenAI `insufficient_quota`, Anthropic `overloaded_error`), if any."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        for key in ("code", "type"):
            if isinstance(err.get(key), str) and err[key]:
                return err[key]
    return None


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Remove credentials from a message before it can reach a log, a report or a PR comment."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    # OpenAI echoes a masked key in its 401 message; drop even the masked form.
    return re.sub(r"\b(sk-|sk-ant-|ghp_|gho_|ghs_|github_pat_)[A-Za-z0-9_*\-]{4,}", r"\1***", text)


def classify_status(
    response: httpx.Response,
    body: Any,
    *,
    service: str,
    key_env_var: str | None = None,
    secrets: Iterable[str | None] = (),
) -> Exception:
    """The default verdict on a non-2xx response: a RetryableCallError or a FatalCallError (never raised here)."""
    status = response.status_code
    code = error_code(body)
    message = scrub(error_message(body, response.text), secrets)
    label = f"HTTP {status}" + (f" {code}" if code else "")
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
                f"{service}: the server asks to wait {_duration(wait)} before the next call ({label}: {message}); "
                "that is a quota for longer than this run, try again later",
                status=status,
            )
        return RetryableCallError(f"{service}: {label}: {message}", status=status, retry_after=wait)
    if status == 401:
        where = f"the key in {key_env_var}" if key_env_var else "the credentials"
        return FatalCallError(
            f"{service}: {where} was rejected as invalid ({label}); check that it is current and complete",
            status=status,
        )
    if status == 403:
        return FatalCallError(
            f"{service}: permission denied ({label}): {message}",
            status=status,
        )
    if status == 404:
        return FatalCallError(
            f"{service}: not found ({label}): {message}; check the model id and the base URL",
            status=status,
        )
    return FatalCallError(f"{service}: request rejected ({label}): {message}", status=status)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


async def send_json(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    service: str,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    timeout: Any = httpx.USE_CLIENT_DEFAULT,
    key_env_var: str | None = None,
    secrets: Iterable[str | None] = (),
    classify: Classifier | None = None,
) -> tuple[Any, httpx.Response]:
    """Make one JSON call; return (decoded body, response) or raise RetryableCallError / FatalCallError.

    `classify(response, body)` may return an exception for a provider's special cases (it is consulted first
    for every non-2xx response); returning None falls back to `classify_status`.
    """
    secrets = tuple(secrets)
    try:
        response = await client.request(method, url, headers=headers, json=body, timeout=timeout)
    except httpx.TimeoutException as exc:
        raise RetryableCallError(f"{service}: timed out ({type(exc).__name__})") from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise FatalCallError(
            f"{service}: {url!r} is not a usable URL ({exc}); check the base URL setting"
        ) from exc
    except httpx.TransportError as exc:
        raise RetryableCallError(
            f"{service}: connection failed ({type(exc).__name__}: {scrub(str(exc), secrets) or 'no detail'})"
        ) from exc
    try:
        decoded = response.json() if response.content else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        decoded = None
    if response.is_success:
        if decoded is None:
            raise RetryableCallError(
                f"{service}: HTTP {response.status_code} with a body that is not JSON "
                f"({' '.join(response.text.split())[:120]!r})",
                status=response.status_code,
            )
        return decoded, response
    special = classify(response, decoded) if classify else None
    if special is None:
        special = classify_status(
            response, decoded, service=service, key_env_var=key_env_var, secrets=secrets
        )
    raise special
