"""Retry policy shared by every provider: jittered exponential backoff that honours the server's wait.

The runner wraps each call in `call_with_retries`: a `RetryableCallError` is retried after `RetryPolicy.delay`
(the server's `retry-after-ms` / `retry-after` when it sent one, read by `parse_retry_after`), a
`FatalCallError` passes straight through. Which failures are retryable is decided where the HTTP exchange is
classified, in `providers/http.py`. The policy also says how to wait (`RetryPolicy.sleep`, else `wait`), so a
caller (the tests) sees every delay a review asks for without sleeping through it.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import TypeVar

import httpx

from promptreview.providers.base import RetryableCallError

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


async def wait(seconds: float) -> None:
    """How a retry waits when its policy names no `sleep`: the one real sleep of a review. Looked up when a retry
    waits, so the test suite replaces it (tests/conftest.py) and no test sleeps through a real backoff."""
    await asyncio.sleep(seconds)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5  # seconds before the first retry
    max_delay: float = 30.0
    jitter: float = 0.5  # +- share of the delay drawn at random
    sleep: Sleep | None = None  # how to wait between attempts; None: `wait` (asyncio.sleep)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        raw = min(self.base_delay * (2.0 ** (attempt - 1)), self.max_delay)
        return raw * (1 + random.uniform(-self.jitter, self.jitter))


class RetriesExhausted(Exception):
    def __init__(self, last: RetryableCallError, attempts: int) -> None:
        super().__init__(f"{last.failure.message} (gave up after {attempts} attempts)")
        self.last = last
        self.attempts = attempts


async def call_with_retries(call: Callable[[], Awaitable[T]], policy: RetryPolicy) -> tuple[T, int]:
    """Run `call` until it succeeds; return (result, attempts). FatalCallError passes straight through."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call(), attempt
        except RetryableCallError as exc:
            if attempt >= policy.max_attempts:
                raise RetriesExhausted(exc, attempt) from exc
            await (policy.sleep or wait)(policy.delay(attempt, exc.retry_after))


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
