"""The uncached calls of a run as provider batches (OpenAI's Batch API, Anthropic's Message Batches), answered
into the same cache as the synchronous calls: the runner calls `run_provider_batches` before its queue, and
sends what comes back unanswered the synchronous way (docs/providers.md#provider-batches).

One batch holds the requests of one provider and one model (OpenAI's rule: a file names one model), split to
the engine's limits; each line's id is its request's cache key. A submitted batch is written to the cache at
once (`ResponseCache.add_batch`: its id and keys), so a later run, or another machine with the cache, polls it
instead of sending its requests again; it is forgotten once its answers are stored. Each submission carries a
tag (`batch_tag`: a digest of its keys) by which the engine finds the batch a create that got no answer may have
made, before making another (OpenAI: `metadata`; Anthropic: a note names the possible duplicate). Before the
first wait on a set of open batches, `BatchRun.waiting` is told their ids (the CLI says how to resume). Polling starts at once and
backs off (`POLL_FIRST` to `POLL_MAX` seconds, through the run's `RetryPolicy` sleep, so no test waits); each
poll, result read and submission is retried as a call is (5xx, 429, timeouts), and one that exhausts its
retries stops the run with `ProviderError` (exit 3), the batches still running at the provider.

When a batch ends:
- every answer is stored and recorded; a line that names an id the batch was not sent (or names one twice)
  makes the whole batch untrusted: nothing of it is used, it is forgotten, and the run stops (exit 3);
- a line the provider rejected for what it asks (a 4xx: `BatchLine.retryable` False) stops the run as the
  synchronous call's `FatalCallError` would (`BatchRejected`: the runner's rejected-request path);
- lines that failed otherwise (a 5xx or a 429 for that line, no answer) are left to the synchronous path, with
  its retries: a follow-up batch would add up to a day for what is usually a handful of calls;
- an expired or cancelled batch: what it answered is stored, and what it did not goes out in a new batch
  (up to `RESUBMITS` times, then the synchronous way);
- a batch that failed as a whole (the provider refused its file) stops the run with the provider's words.
"""

from __future__ import annotations

import functools
from array import array
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

import httpx

from promptreview.engine.execution.cache import ResponseCache
from promptreview.errors import ProviderError
from promptreview.notes import Note, note
from promptreview.providers import retry
from promptreview.providers.base import FatalCallError, Provider
from promptreview.providers.provider_batches import (
    BatchLine,
    BatchStatus,
    ProviderBatches,
    batch_tag,
    provider_batches,
)
from promptreview.providers.retry import RetriesExhausted, RetryPolicy, call_with_retries
from promptreview.records import CallFailure, CompletionRequest, ProviderResponse
from promptreview.vocabulary import ProviderName

T = TypeVar("T")

POLL_FIRST = 5.0  # seconds before the second poll (the first is at once: a small batch may be done)
POLL_MAX = 300.0  # the longest wait between two polls of a batch expected to take hours
POLL_GROWTH = 1.5
RESUBMITS = 2  # an expired or cancelled batch's missing requests go out again at most this many times


class _Gone(Exception):
    """The server does not know a batch recorded in the cache (HTTP 404 when polled)."""


class BatchRejected(Exception):
    """A batch line the provider rejected for what its request asks: the synchronous path's `FatalCallError`."""

    def __init__(self, error: FatalCallError, request: CompletionRequest) -> None:
        super().__init__(str(error))
        self.error, self.request = error, request


@dataclass
class _Open:
    """A batch submitted (now or by an earlier run) and not collected yet."""

    provider: Provider
    engine: ProviderBatches
    endpoint: str
    batch_id: str
    requests: dict[str, CompletionRequest]  # by cache key: the lines it was sent
    round: int = 0  # 0: sent first; n: the n-th resubmission of what an expired batch left
    finished: int = 0


@dataclass
class BatchRun:
    """What the runner hands the driver: where answers go and what the progress bar shows."""

    answered: Callable[[CompletionRequest, ProviderResponse], None]  # store and record one answer
    progress: Callable[[int], None]  # the calls the provider has finished in the batches still open
    running: set[str] = field(default_factory=set)  # batch ids open now (Ctrl-C names them)
    sleep: Callable[[float], Awaitable[None]] | None = None
    # told, before the first wait on them, the ids of the batches open (and whether the cache records them)
    waiting: Callable[[tuple[str, ...], bool], None] | None = None


def endpoint(provider: Provider) -> str:
    """Where a provider's batches live: its base URL (a batch id means nothing at another server)."""
    base = getattr(provider, "base_url", None)
    return base if isinstance(base, str) else ""


async def run_provider_batches(
    pending: Sequence[CompletionRequest],
    providers: Mapping[ProviderName, Provider],
    cache: ResponseCache | None,
    client: httpx.AsyncClient,
    policy: RetryPolicy,
    run: BatchRun,
    *,
    explicit: bool,
) -> list[CompletionRequest]:
    """Answer what `pending` can be answered through provider batches; return the requests left for the
    synchronous path (those of a provider without a batch engine, and failed lines), in `pending`'s order.

    `explicit`: the run asked for batches (`on`), so a provider without an engine gets a note saying the run
    went the synchronous way."""
    engines: dict[ProviderName, ProviderBatches | None] = {}
    left: list[CompletionRequest] = []
    groups: dict[tuple[ProviderName, str], list[CompletionRequest]] = {}
    for request in pending:
        name = request.model.provider
        if name not in engines:
            engines[name] = provider_batches(providers[name])
            said = note("provider_batches_unavailable", name)
            if engines[name] is None and explicit and said not in providers[name].notes:
                providers[name].notes.append(said)  # once, however many rounds (`--sequential`) ask
        if engines[name] is None:
            left.append(request)
        else:
            groups.setdefault((name, request.model.model), []).append(request)
    if not groups:
        return left
    driver = _Driver(client, cache, policy, run)
    by_key = {r.cache_key(): r for group in groups.values() for r in group}
    adopted: set[str] = set()
    if cache is not None:  # batches an earlier run left running: polled, not sent again
        for name in {name for name, _ in groups}:
            provider, engine = providers[name], engines[name]
            assert engine is not None
            for batch_id, keys in cache.open_batches(name, endpoint(provider)):
                if keys and set(keys) <= by_key.keys() and not adopted.intersection(keys):
                    adopted.update(keys)
                    sent = {k: by_key[k] for k in keys}
                    driver.open.append(_Open(provider, engine, endpoint(provider), batch_id, sent))
                    run.running.add(batch_id)
    for (name, _), group in groups.items():
        engine = engines[name]
        assert engine is not None
        await driver.submit(providers[name], engine, [r for r in group if r.cache_key() not in adopted], 0)
    await driver.wait_all()
    for name, (calls, batches) in driver.answered.items():
        _count(providers[name].notes, name, calls, batches)
    unanswered = {r.cache_key() for r in driver.left}
    return [r for r in pending if r.cache_key() in unanswered or engines[r.model.provider] is None]


def _count(notes: list[Note], name: ProviderName, calls: int, batches: int) -> None:
    """The provider's one `provider_batches` note, with these calls and batches added (a sequential review runs
    the driver once per round)."""
    for i, said in enumerate(notes):
        if said.kind == "provider_batches" and said.subject == name:
            before_calls, before_batches = said.data.get("calls"), said.data.get("batches")
            calls += before_calls if isinstance(before_calls, int) else 0
            batches += before_batches if isinstance(before_batches, int) else 0
            notes[i] = note("provider_batches", name, calls=calls, batches=batches)
            return
    notes.append(note("provider_batches", name, calls=calls, batches=batches))


class _Driver:
    def __init__(
        self, client: httpx.AsyncClient, cache: ResponseCache | None, policy: RetryPolicy, run: BatchRun
    ) -> None:
        self.client, self.cache, self.policy, self.run = client, cache, policy, run
        self.open: list[_Open] = []
        self.left: list[CompletionRequest] = []
        self.answered: dict[ProviderName, tuple[int, int]] = {}  # provider -> (calls answered, batches)
        self._said: tuple[str, ...] = ()  # the batch ids `run.waiting` was last told

    async def _retrying(
        self,
        call: Callable[[], Awaitable[T]],
        what: str,
        service: str,
        *,
        gone: bool = False,
        unsure: str = "",
    ) -> T:
        """`call` under the retry policy; exhausted or fatal, the run stops (exit 3). `gone`: a 404 raises
        `_Gone` instead (a recorded batch the server does not know). `unsure`: said when the retries are used up
        (what an attempt whose answer was lost may have left at the provider)."""
        try:
            result, _ = await call_with_retries(call, self.policy)
        except RetriesExhausted as exc:
            raise ProviderError(
                f"{service}: {what} failed after {exc.attempts} attempts ({exc.last.failure.message}); "
                f"{_RESUME}{unsure}"
            ) from None
        except FatalCallError as exc:
            if gone and exc.failure.status == 404:
                raise _Gone from None
            raise ProviderError(f"{service}: {what} failed ({exc.failure.message}); {_RESUME}") from None
        return result

    # -- sending ------------------------------------------------------------------------------------
    async def submit(
        self, provider: Provider, engine: ProviderBatches, requests: Sequence[CompletionRequest], round: int
    ) -> None:
        """`requests` as batches within the engine's limits, each recorded in the cache once it is sent."""
        limits = engine.limits
        chunk: list[CompletionRequest] = []
        # the encoded lines of the batch end to end in one buffer, and where each ends: one allocation the
        # size of the batch (91.5 MB for Anthropic's 100,000 lines), handed back whole once it is sent,
        # instead of a small object per line whose freed memory the process keeps (decision 83)
        encoded = bytearray()
        ends = array("q")
        for request in requests:
            line = engine.encode(request.cache_key(), request)
            if chunk and (len(chunk) >= limits.max_requests or len(encoded) + len(line) > limits.max_bytes):
                await self._send(provider, engine, chunk, encoded, ends, round)
                chunk, encoded, ends = [], bytearray(), array("q")
            chunk.append(request)
            encoded += line
            ends.append(len(encoded))
        if chunk:
            await self._send(provider, engine, chunk, encoded, ends, round)

    async def _send(
        self,
        provider: Provider,
        engine: ProviderBatches,
        chunk: list[CompletionRequest],
        encoded: bytearray,
        ends: array[int],
        round: int,
    ) -> None:
        size = len(encoded)

        def lines() -> Iterator[bytes]:  # made again for each attempt: an upload reads them once
            start = 0
            for end in ends:
                yield bytes(encoded[start:end])
                start = end

        tag = batch_tag(r.cache_key() for r in chunk)
        batch_id = await self._retrying(
            lambda: engine.submit(lines(), size, self.client, tag=tag),
            "submitting a provider batch",
            provider.name,
            unsure=(
                f"; an attempt whose answer was lost may have made a batch of these {len(chunk)} calls that "
                f"no run tracks (OpenAI's carries the metadata promptreview_batch={tag}): cancel it at the "
                "provider if it is listed there"
            ),
        )
        where = endpoint(provider)
        requests = {r.cache_key(): r for r in chunk}
        if self.cache is not None:
            self.cache.add_batch(provider.name, where, batch_id, list(requests))
        self.run.running.add(batch_id)
        self.open.append(_Open(provider, engine, where, batch_id, requests, round))

    # -- waiting ------------------------------------------------------------------------------------
    async def wait_all(self) -> None:
        delay = POLL_FIRST
        while self.open:
            polling, self.open = self.open, []
            for batch in polling:
                try:
                    status = await self._retrying(
                        functools.partial(batch.engine.status, batch.batch_id, self.client),
                        f"polling provider batch {batch.batch_id}",
                        batch.provider.name,
                        gone=True,
                    )
                except _Gone:  # recorded, but unknown to this server (deleted, another account's): sent again
                    self._forget(batch)
                    await self.submit(
                        batch.provider, batch.engine, list(batch.requests.values()), batch.round
                    )
                    continue
                if status.state == "running":
                    batch.finished = status.finished
                    self.open.append(batch)
                else:
                    await self._collect(batch, status)
            self.run.progress(sum(b.finished for b in self.open))
            if self.open:
                ids = tuple(b.batch_id for b in self.open)
                if self.run.waiting is not None and ids != self._said:
                    self._said = ids  # said again only when the set changes (a resubmission)
                    self.run.waiting(ids, self.cache is not None)
                # looked up when it waits: `retry.wait` is what the test suite replaces
                await (self.run.sleep or self.policy.sleep or retry.wait)(delay)
                delay = min(delay * POLL_GROWTH, POLL_MAX)

    # -- collecting ---------------------------------------------------------------------------------
    def _forget(self, batch: _Open) -> None:
        if self.cache is not None:
            self.cache.forget_batch(batch.provider.name, batch.endpoint, batch.batch_id)
        self.run.running.discard(batch.batch_id)

    async def _collect(self, batch: _Open, status: BatchStatus) -> None:
        name = batch.provider.name
        if status.state == "failed":
            self._forget(batch)
            raise ProviderError(
                f"{name}: provider batch {batch.batch_id} failed as a whole "
                f"({status.message or 'no reason given'}); none of its {len(batch.requests)} calls were "
                "answered, and a re-run sends them again"
            )

        async def read() -> list[BatchLine]:
            return [line async for line in batch.engine.results(batch.batch_id, status, self.client)]

        # read whole before anything is stored: a line naming a request the batch was not sent makes every
        # line of it untrusted
        lines = await self._retrying(read, f"reading the results of provider batch {batch.batch_id}", name)
        seen: set[str] = set()
        for line in lines:
            if line.custom_id not in batch.requests or line.custom_id in seen:
                self._forget(batch)
                raise ProviderError(
                    f"{name}: provider batch {batch.batch_id} returned a result for "
                    f"{'a request id it was not sent' if line.custom_id not in batch.requests else 'one request id twice'}"
                    f" ({line.custom_id[:80]!r}); none of its results are used, and a re-run sends its "
                    f"{len(batch.requests)} calls again"
                )
            seen.add(line.custom_id)
        again: list[CompletionRequest] = []
        rejected: tuple[CallFailure, CompletionRequest] | None = None
        calls, batches = self.answered.get(name, (0, 0))
        for line in lines:
            request = batch.requests[line.custom_id]
            if line.response is not None:
                self.run.answered(request, replace(line.response, batched=True))
                calls += 1
            elif line.retryable or line.failure is None:
                again.append(request)
            elif rejected is None:
                rejected = (line.failure, request)
        self.answered[name] = (calls, batches + 1)
        again += [r for key, r in batch.requests.items() if key not in seen]
        self._forget(batch)
        if rejected is not None:
            raise BatchRejected(FatalCallError(rejected[0]), rejected[1])
        if not again:
            return
        if status.state in ("expired", "cancelled") and batch.round < RESUBMITS:
            await self.submit(batch.provider, batch.engine, again, batch.round + 1)
        else:
            self.left += again


_RESUME = "the provider batches already sent keep running, and a re-run of the same command collects them"
