"""Provider batches: the interface a provider's own batch engine implements (OpenAI's Batch API, Anthropic's
Message Batches), and the records it hands the driver (`engine/execution/provider_batches.py`).

("Batch" alone means a round of `--sequential`, `engine/sequential.py`; these are *provider* batches.)

A provider batch is a set of requests sent as one job that the provider answers within hours at a lower price.
The driver asks a provider for its engine (`provider_batches(provider)`, None where it has none, as `sim`), then:
`encode` each uncached request as one line under its `custom_id` (the request's cache key, 64 hex characters:
it fits Anthropic's `^[a-zA-Z0-9_-]{1,64}$` as well as OpenAI's free-form id), splits the lines to `limits`,
`submit`s each part (an iterable of lines: the engine streams them to the provider, never holding the whole
file twice), polls `status` until the state is no longer "running", and reads `results` as a stream of
`BatchLine`s. Whether a line's id was one the batch sent is the driver's check (it holds the ids); an engine
hands on every line it reads as it read it.

Errors follow the provider contract (`providers/base.py`): a transient failure of submit, status or results (a
5xx, a timeout, a connection error) raises `RetryableCallError`, one that retrying cannot fix `FatalCallError`.

Stable interface: helpers build engines against it in parallel. Changes are additive (new fields with defaults
at the end of a record).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, cast

import httpx

from promptreview.providers.base import Provider
from promptreview.records import CallFailure, CompletionRequest, ProviderResponse
from promptreview.vocabulary import BatchState


@dataclass(frozen=True)
class BatchLimits:
    """How much one provider batch may hold: requests, and bytes of encoded lines (OpenAI: 50,000 requests and
    a 200 MB input file; Anthropic: 100,000 requests and 256 MB)."""

    max_requests: int
    max_bytes: int


@dataclass(frozen=True)
class BatchStatus:
    """Where a provider batch stands.

    `state`: "running" (validating, in progress, finalizing, cancelling: poll again), "ended" (its results can
    be read), "expired" (its window passed: what it answered can be read, the rest is to be sent again),
    "cancelled" (likewise), "failed" (the provider refused the batch as a whole: `message` says why).
    `counts` are the provider's own counts (e.g. OpenAI's total/completed/failed, Anthropic's processing/
    succeeded/errored/canceled/expired), for the progress bar and nothing else. `handle` is what the engine needs
    later to read the results (OpenAI: the output and error file ids), kept opaque to the driver. `finished`: how
    many of its requests the provider has finished, answered or failed (OpenAI: completed + failed; Anthropic: all
    but processing), which the progress bar adds to the calls done."""

    batch_id: str
    state: BatchState
    counts: Mapping[str, int] = field(default_factory=dict)
    message: str | None = None  # why it failed, in the provider's words (scrubbed)
    handle: Mapping[str, str | None] = field(default_factory=dict)
    finished: int = 0  # requests the provider has finished (answered or failed): the progress bar's count


@dataclass(frozen=True)
class BatchLine:
    """One result line: the answer to the request sent under `custom_id`, or how it failed.

    Exactly one of `response` and `failure` is set. `retryable` says whether sending the request again may
    succeed (a 5xx or a 429 for that line, an expired or cancelled line); False means the provider rejected the
    request itself (a 4xx for what it asks), which the driver treats as the synchronous path treats a
    `FatalCallError` for that request."""

    custom_id: str
    response: ProviderResponse | None
    failure: CallFailure | None
    retryable: bool = True


class ProviderBatches(Protocol):
    """A provider's batch engine."""

    @property
    def limits(self) -> BatchLimits:
        """How much one batch may hold."""
        ...

    def encode(self, custom_id: str, request: CompletionRequest) -> bytes:
        """`request` as one line of the batch's input (UTF-8 JSON, ending in "\\n"), under `custom_id`. The
        body is the one the synchronous call would send (the provider's own `build_body`)."""
        ...

    async def submit(
        self, lines: Iterable[bytes], total_bytes: int, client: httpx.AsyncClient, *, tag: str = ""
    ) -> str:
        """Send a batch made of `lines` (`total_bytes` long in all, within `limits`): return its id. The lines
        are streamed (iterated once, as they are sent). `tag` names the batch's requests (`batch_tag`): the
        same submit tried again after a create that got no answer (a timeout, a dropped connection, a 5xx)
        looks for the batch that create may have made before making one, where the provider can tell."""
        ...

    async def status(self, batch_id: str, client: httpx.AsyncClient) -> BatchStatus:
        """Where the batch stands now."""
        ...

    def results(
        self, batch_id: str, status: BatchStatus, client: httpx.AsyncClient
    ) -> AsyncIterator[BatchLine]:
        """The batch's result lines, streamed as they are read (an async generator), for a batch whose state is
        not "running". Every line the provider returned, successes and failures alike; a request the provider
        did not answer at all has no line (the driver sends it again)."""
        ...


def batch_tag(keys: Iterable[str]) -> str:
    """What names a batch's requests at the provider: the SHA-256 of their cache keys, in order."""
    digest = hashlib.sha256()
    for key in keys:
        digest.update(key.encode() + b"\n")
    return digest.hexdigest()


class HasProviderBatches(Protocol):
    """A provider with a batch engine: it has `provider_batches()`."""

    def provider_batches(self) -> ProviderBatches:
        """The provider's batch engine, sharing its base URL, key and body building."""
        ...


def provider_batches(provider: Provider) -> ProviderBatches | None:
    """`provider`'s batch engine, or None when it has none (`sim`, Ollama, GitHub Models, Gemini)."""
    make = getattr(provider, "provider_batches", None)
    if not callable(make):
        return None
    return cast(HasProviderBatches, provider).provider_batches()
