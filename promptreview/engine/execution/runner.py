"""Run the planned calls: asyncio with bounded concurrency, the response cache, and shared retries.

Each answer is written to the cache as it arrives, so an interrupted review resumes; identical
requests share one call. A provider that is down (fatal error, or nothing answered at all) stops the run
with `ProviderError` (exit 3).

Samples in one request: the pending samples of one input (requests that differ only in `sample_index`) go to a
provider that can answer several at once (`SampleBatching`: Chat Completions `n`) as one request. Nobody waits
to find out whether a server honours `n`: a server that ignores it answers one sample per request, like a single
call, and the samples it left out queue up again; one that rejects it is asked again without (the provider
handles that), so at most one request per concurrency slot is turned away, and that costs no tokens. From then
on the provider asks that model for as many as it gave. Each answer is still its own `Completion`, cached under
its own sample's key, so the cache, a re-run and a resumed run are what they are with one request per sample.
The concurrency limit counts HTTP requests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from promptreview import secrets
from promptreview.engine.execution.cache import ResponseCache
from promptreview.engine.execution.provider_batches import BatchRejected, BatchRun, run_provider_batches
from promptreview.engine.jobs import BatchesWaiting, ProgressCallback
from promptreview.engine.planning.batch_mode import wants_batches
from promptreview.errors import BatchesRunning, CacheMiss, ProviderError, RejectedRequest
from promptreview.providers.base import FatalCallError, Provider, SampleBatching, sample_batching
from promptreview.providers.retry import RetriesExhausted, RetryPolicy, call_with_retries
from promptreview.records import (
    CallFailure,
    Completion,
    CompletionRequest,
    ProviderResponse,
    sample_group_key,
)
from promptreview.vocabulary import BatchMode, ProviderName

# A fatal status that refuses the request for what it asks, not for who asks or the server's health (404: the
# model it names is not there; a request only a change or a migration's candidate makes is that change's failure)
REJECTED_STATUSES = frozenset({400, 404, 413, 422})

# Calls that used up their retries before the provider answered a single one: it is down, not flaky. Stop then,
# rather than retry every remaining call (minutes of backoff for a verdict that can only be "error").
UNREACHABLE_AFTER = 5


@dataclass(frozen=True)
class RunSettings:
    concurrency: int = 8
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 120.0  # seconds per HTTP request
    sample_batching: bool = True  # the samples of one input in one request where the provider can (`n`)
    cache_only: bool = False  # --cache-only: a call the cache cannot answer is an error, never made
    # the uncached calls as provider batches: "on", "off", or "auto" (from `AUTO_THRESHOLD` uncached calls up);
    # the review narrows the config's auto to "off" when a pull request waits
    batch: BatchMode = "off"
    # what `auto` weighs against its threshold: the whole review's uncached calls, as `--plan` does (a review
    # runs in several parts: each prompt, each round of `--sequential`); None: this run's own uncached calls
    batch_calls: int | None = None
    batches_waiting: BatchesWaiting | None = None  # told the provider batches the run waits on


class _Unreachable(Exception):
    """The provider answered none of the first `calls` calls, each after its retries: it is down."""

    def __init__(self, calls: int, last: CallFailure) -> None:
        super().__init__(last.message)
        self.calls = calls
        self.last = last


class _Fatal(Exception):
    """A fatal call error and the request it came from (the first of its unit: they differ in sample only)."""

    def __init__(self, error: FatalCallError, request: CompletionRequest) -> None:
        super().__init__(str(error))
        self.error, self.request = error, request


@dataclass(frozen=True)
class _Outcome:
    answers: list[ProviderResponse | None] | None  # None: the request failed after retries
    error: CallFailure | None  # the last attempt's failure, scrubbed
    attempts: int
    latency_ms: float


def _scrubbed(response: ProviderResponse | None) -> ProviderResponse | None:
    # an answer that quotes a credential (a model or a proxy echoing the request) loses it here, before
    # it is scored, cached or reported: the report's Markdown escaping would hide it from a later scrub
    if response is None:
        return None
    return dataclasses.replace(
        response,
        text=secrets.scrub(response.text) if response.text else response.text,
        refusal=secrets.scrub(response.refusal) if response.refusal else response.refusal,
    )


async def _call(
    unit: Sequence[CompletionRequest],
    provider: Provider,
    batching: SampleBatching | None,
    client: httpx.AsyncClient,
    policy: RetryPolicy,
) -> _Outcome:
    """One HTTP request (and its retries) for one sample, or for the samples of one input in `unit`."""

    # providers map every transport failure to RetryableCallError / FatalCallError themselves
    async def attempt() -> list[ProviderResponse | None]:
        if batching is None or len(unit) == 1:
            return [_scrubbed(await provider.complete(unit[0], client))]
        return [_scrubbed(r) for r in await batching.complete_samples(unit[0], len(unit), client)]

    started = time.perf_counter()
    try:
        answers, attempts = await call_with_retries(attempt, policy)
    except RetriesExhausted as exc:
        failure = exc.last.failure.scrubbed(secrets.scrub)
        return _Outcome(None, failure, exc.attempts, (time.perf_counter() - started) * 1000)
    return _Outcome(answers, None, attempts, (time.perf_counter() - started) * 1000)


def _units(
    pending: Sequence[CompletionRequest], providers: Mapping[ProviderName, Provider], enabled: bool
) -> list[list[CompletionRequest]]:
    """The pending requests as units of work: one request each, or the samples of one input together when
    the provider can answer them in one request."""
    can: dict[str, bool] = {}
    units: list[list[CompletionRequest]] = []
    groups: dict[tuple[Any, ...], list[CompletionRequest]] = {}
    for request in pending:
        name = request.model.provider
        if name not in can:
            can[name] = enabled and sample_batching(providers[name]) is not None
        key = sample_group_key(request) if can[name] else None
        if key is None:
            units.append([request])
            continue
        group = groups.get(key)
        if group is None:
            group = groups[key] = []
            units.append(group)
        group.append(request)
    return units


def _chunks(unit: list[CompletionRequest], size: int) -> list[list[CompletionRequest]]:
    size = max(1, size)
    return [unit[i : i + size] for i in range(0, len(unit), size)]


async def _run(
    requests: list[CompletionRequest],
    providers: Mapping[ProviderName, Provider],
    cache: ResponseCache | None,
    settings: RunSettings,
    progress: ProgressCallback | None,
    known: Mapping[str, ProviderResponse] | None,
    running: set[str],
) -> list[Completion]:
    if known is None:
        known = cache.lookup(requests) if cache else {}
    results: dict[str, Completion | None] = {}  # first-seen order; None until answered
    pending: list[CompletionRequest] = []
    for request in requests:
        key = request.cache_key()
        if key in results:  # identical requests share one call
            continue
        cached = known.get(key)
        if cached is not None:
            results[key] = Completion(request, cached, cached=True, attempts=0, requests=0)
        else:
            results[key] = None
            pending.append(request)
    total = len(results)
    done = total - len(pending)
    if progress:
        progress(done, total)
    if not pending:  # a fully cached review opens no HTTP client
        return _in_order(requests, results)
    if settings.cache_only:  # before any client opens: not one call is made
        raise CacheMiss(len(pending), total)
    stopping = asyncio.Event()  # set on a fatal error: units still queued are not started
    answered = exhausted = 0
    # Units wait in a queue for one of `concurrency` workers (each worker is one HTTP request in flight): a
    # task per unit held a coroutine for every call of a large review at once (50 MB at 50,000 calls).
    queue: asyncio.Queue[list[CompletionRequest]] = asyncio.Queue()
    limits = httpx.Limits(
        max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
    )
    verify = _needs_tls({r.model.provider for r in pending}, providers)
    async with httpx.AsyncClient(timeout=settings.timeout, limits=limits, verify=verify) as client:

        def split(unit: list[CompletionRequest], batching: SampleBatching) -> list[CompletionRequest]:
            """The part of `unit` to ask for now, as many samples as the server gives; the rest queue up again."""
            size = batching.samples_per_request(unit[0].model.model, len(unit))
            for chunk in _chunks(unit[size:], size):
                queue.put_nowait(chunk)
            return unit[:size]

        def record(completion: Completion) -> None:
            nonlocal done
            results[completion.request.cache_key()] = completion
            done += 1

        async def work(unit: list[CompletionRequest]) -> None:
            nonlocal answered, exhausted
            provider = providers[unit[0].model.provider]
            batching = sample_batching(provider) if len(unit) > 1 else None
            if batching is not None:  # sized when its turn comes: by then earlier answers may have told more
                unit = split(unit, batching)
            try:
                outcome = await _call(unit, provider, batching, client, settings.retry)
            except FatalCallError as exc:
                stopping.set()
                raise _Fatal(exc, unit[0]) from None
            if outcome.answers is None:
                assert outcome.error is not None  # a request without answers failed
                exhausted += 1
                for i, request in enumerate(unit):
                    record(
                        Completion(
                            request,
                            None,
                            error=outcome.error,
                            attempts=outcome.attempts,
                            latency_ms=outcome.latency_ms,
                            requests=int(i == 0),
                        )
                    )
                if answered == 0 and exhausted >= UNREACHABLE_AFTER and not stopping.is_set():
                    stopping.set()
                    raise _Unreachable(exhausted, outcome.error)
            else:
                answered += 1
                missing: list[CompletionRequest] = []
                first = True
                for request, response in zip(unit, outcome.answers, strict=False):
                    if response is None:
                        missing.append(request)
                        continue
                    if cache is not None:
                        cache.put(request, response)  # stored as it arrives: a re-run resumes from here
                    completion = Completion(
                        request,
                        response,
                        attempts=outcome.attempts,
                        latency_ms=outcome.latency_ms,
                        requests=int(first),
                    )
                    first = False
                    record(completion)
                missing += unit[len(outcome.answers) :]
                if missing:  # the server left samples out: ask again for them, as many at once as it gives
                    size = batching.samples_per_request(unit[0].model.model, len(missing)) if batching else 1
                    for chunk in _chunks(missing, size):
                        queue.put_nowait(chunk)
            if progress:
                progress(done, total)

        async def worker() -> None:
            while True:
                unit = await queue.get()
                try:
                    if not stopping.is_set():
                        await work(unit)
                finally:
                    queue.task_done()

        def batch_answer(request: CompletionRequest, response: ProviderResponse) -> None:
            nonlocal answered  # the provider answers: failed lines sent after the batch are not an outage
            answered += 1
            answer = _scrubbed(response)
            assert answer is not None
            if cache is not None:
                cache.put(request, answer)
            record(Completion(request, answer))

        def batch_progress(finished: int) -> None:
            if progress:
                progress(min(done + finished, total), total)

        workers: list[asyncio.Task[None]] = []
        drained: asyncio.Task[None] | None = None
        try:
            weighed = len(pending) if settings.batch_calls is None else settings.batch_calls
            if wants_batches(settings.batch, weighed):
                run = BatchRun(
                    batch_answer, batch_progress, running, settings.retry.sleep, settings.batches_waiting
                )
                pending = await run_provider_batches(
                    pending, providers, cache, client, settings.retry, run, explicit=settings.batch == "on"
                )
                if progress:
                    progress(done, total)
            for unit in _units(pending, providers, settings.sample_batching):
                queue.put_nowait(unit)
            workers = [asyncio.create_task(worker()) for _ in range(settings.concurrency)]
            drained = asyncio.create_task(queue.join())  # every unit done, and the samples they re-queued
            await asyncio.wait([drained, *workers], return_when=asyncio.FIRST_COMPLETED)
            for task in workers:
                if task.done():  # a worker ends only by raising (a fatal error): raise it here
                    task.result()
        except (_Fatal, BatchRejected) as exc:
            failure = exc.error.failure.scrubbed(secrets.scrub)
            if failure.kind == "http_status" and failure.status in REJECTED_STATUSES:
                raise RejectedRequest(
                    _resumable(failure.message),
                    status=failure.status,
                    reason=failure.message,
                    request=exc.request,
                ) from None
            raise ProviderError(_resumable(failure.message)) from None
        except _Unreachable as exc:
            raise ProviderError(
                _resumable(
                    f"the provider answered none of the first {exc.calls} calls after retries "
                    f"(last: {exc.last.message})"
                )
            ) from None
        finally:
            tasks: list[asyncio.Task[None]] = [*workers, *([drained] if drained is not None else [])]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return _in_order(requests, results)


def _resumable(why: str) -> str:
    return f"{why} (completed calls are cached; re-run to resume)"


_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


def _needs_tls(names: set[ProviderName], providers: Mapping[ProviderName, Provider]) -> bool:
    """False only when no connection of the run can be TLS: every provider it calls has an `http://` base URL
    (a local server) and no proxy is configured. Loading the certificate store then costs 50-90 ms before the
    first request for nothing; anything else keeps full verification."""
    if any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARIABLES):
        return True
    for name in names:
        base = getattr(providers[name], "base_url", None)
        if base is None:  # an in-process provider (`sim`) opens no connection
            continue
        if not isinstance(base, str) or not base.lower().startswith("http://"):
            return True
    return False


def _in_order(
    requests: list[CompletionRequest], results: Mapping[str, Completion | None]
) -> list[Completion]:
    """One completion per request, in the order asked; a duplicate shares its twin's answer."""
    out = []
    for request in requests:
        shared = results[request.cache_key()]
        assert shared is not None  # every pending call finished, or the run raised
        if shared.request is not request:  # a duplicate: answered without a call of its own
            shared = Completion(request, shared.response, shared.error, cached=True, attempts=0, requests=0)
        out.append(shared)
    return out


def run_requests(
    requests: list[CompletionRequest],
    providers: Mapping[ProviderName, Provider],
    cache: ResponseCache | None,
    settings: RunSettings,
    progress: ProgressCallback | None = None,
    known: Mapping[str, ProviderResponse] | None = None,
) -> list[Completion]:
    """Complete every request (in the order given). A fatal provider error raises ProviderError (exit 3).

    `known`: answers the caller already read from the cache, by cache key, so they are not looked up twice.
    """
    running: set[str] = set()  # provider batches open now: Ctrl-C leaves them running and names them
    try:
        return asyncio.run(_run(requests, providers, cache, settings, progress, known, running))
    except KeyboardInterrupt:
        if running:
            raise BatchesRunning(tuple(sorted(running)), recorded=cache is not None) from None
        raise
