"""The provider protocol every backend implements, and the errors it raises.

A provider turns one `CompletionRequest` into one `ProviderResponse` over HTTP (or, for `sim`, in process).
Retries, caching and concurrency live in the runner, not here: a provider raises `RetryableCallError`
for a transient failure and `FatalCallError` for one that should stop the whole run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol

import httpx

from promptreview.records import CompletionRequest, ProviderResponse

PinStatus = Literal["pinned", "floating", "unverifiable"]


class RetryableCallError(Exception):
    """A transient failure (408, 409, 429, 5xx, 529, timeout, connection error): try again later."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait, if it said


class FatalCallError(Exception):
    """A failure retrying cannot fix (bad key, quota, unknown model, malformed request): stop the run, exit 3."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Provider(Protocol):
    name: str  # "openai", "anthropic", ...
    key_env_var: str | None  # the environment variable holding its credential, if it needs one

    def pin_status(self, model_id: str) -> PinStatus:
        """Whether `model_id` names a fixed snapshot (pinned), a moving alias (floating), or can't be told."""
        ...

    def pinned_suggestions(self, model_id: str) -> list[str]:
        """Pinned ids to suggest instead of a floating alias (may be empty)."""
        ...

    async def complete(self, request: CompletionRequest, client: httpx.AsyncClient) -> ProviderResponse:
        """Make one call. Raise RetryableCallError / FatalCallError on failure."""
        ...


ProviderFactory = "Callable[[Mapping[str, str]], Provider]"


def env_get(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name)
    return value if value else default
