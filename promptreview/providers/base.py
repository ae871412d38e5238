"""The provider protocol every backend implements, and the errors it raises.

A provider turns one `CompletionRequest` into one `ProviderResponse` over HTTP (or, for `sim`, in process).
Retries, caching and concurrency live in the runner, not here: a provider raises `RetryableCallError`
for a transient failure and `FatalCallError` for one that should stop the whole run; each carries the failure as
a `records.CallFailure` (kind, status, the server's own code and message, and our message). Every failure of the
HTTP client reaches the runner already as one of the two (`providers/http.py` maps them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol, cast

import httpx

from promptreview.notes import Note
from promptreview.records import CallFailure, CompletionRequest, ProviderResponse
from promptreview.vocabulary import ProviderName

PinStatus = Literal["pinned", "floating", "unverifiable"]


class _FailedCall(Exception):
    """A failed call, carrying its record: code reads `failure`'s fields, `str()` is its message."""

    def __init__(self, failure: CallFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure

    @property
    def status(self) -> int | None:
        return self.failure.status


class RetryableCallError(_FailedCall):
    """A transient failure (408, 409, 429, 5xx, 529, timeout, connection error): try again later."""

    def __init__(self, failure: CallFailure, *, retry_after: float | None = None) -> None:
        super().__init__(failure)
        self.retry_after = retry_after  # seconds the server asked us to wait, if it said


class FatalCallError(_FailedCall):
    """A failure retrying cannot fix (bad key, quota, unknown model, malformed request): stop the run, exit 3."""


class Provider(Protocol):
    """What the engine calls on a provider. The data members are read-only here, so a class attribute, an
    instance attribute or a property all satisfy them."""

    @property
    def name(self) -> ProviderName:
        """The registry name: "openai", "anthropic", "ollama", "github", "sim"."""
        ...

    @property
    def key_env_var(self) -> str | None:
        """The environment variable holding its credential; None when it needs none."""
        ...

    @property
    def notes(self) -> list[Note]:
        """Things the report should mention (e.g. structured output turned off for a model); grows during a run."""
        ...

    def require_credentials(self) -> None:
        """Raise `errors.MissingCredentials` when a needed key is missing; a no-op where none is needed."""
        ...

    def pin_status(self, model_id: str) -> PinStatus:
        """Whether `model_id` names a fixed snapshot (pinned), a moving alias (floating), or can't be told."""
        ...

    def pinned_suggestions(self, model_id: str) -> list[str]:
        """Pinned ids to suggest instead of a floating alias (may be empty)."""
        ...

    async def complete(self, request: CompletionRequest, client: httpx.AsyncClient) -> ProviderResponse:
        """Make one call. Raise RetryableCallError / FatalCallError on failure."""
        ...


class SampleBatching(Provider, Protocol):
    """A provider that can answer several samples of one input with one request (Chat Completions `n`). The
    runner uses it when a provider has `complete_samples`; every other provider gets one call per sample."""

    def samples_per_request(self, model: str, wanted: int) -> int:
        """How many samples of one input to ask for in one request (1 to `wanted`)."""
        ...

    async def complete_samples(
        self, request: CompletionRequest, n: int, client: httpx.AsyncClient
    ) -> list[ProviderResponse | None]:
        """One request for `n` samples: the answer for sample i at [i], None for those the server left out."""
        ...


def sample_batching(provider: Provider) -> SampleBatching | None:
    """`provider` as a `SampleBatching` one, or None when it sends one request per sample."""
    if callable(getattr(provider, "complete_samples", None)) and callable(
        getattr(provider, "samples_per_request", None)
    ):
        return cast(SampleBatching, provider)
    return None


def env_get(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    """`env[name]`, treating an empty value as unset (CI systems export empty variables for missing secrets)."""
    value = env.get(name)
    return value if value else default
