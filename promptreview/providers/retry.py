"""Retry policy shared by every provider: jittered exponential backoff that honours the server's wait."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from promptreview.providers.base import RetryableCallError

T = TypeVar("T")


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
