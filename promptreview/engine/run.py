"""Run the planned calls: asyncio with bounded concurrency, the response cache, and shared retries.

Each answer is written to the cache as it arrives, so an interrupted review resumes; identical
requests share one call. A provider that is down (fatal error, or nothing answered at all) stops the run
with `ProviderError` (exit 3).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from promptreview import secrets
from promptreview.engine.cache import ResponseCache
from promptreview.engine.plan import ProgressCallback
from promptreview.errors import ProviderError
from promptreview.providers.base import FatalCallError, Provider
from promptreview.providers.retry import RetriesExhausted, RetryPolicy, call_with_retries
from promptreview.records import Completion, CompletionRequest, ProviderResponse

# Calls that used up their retries before the provider answered a single one: it is down, not flaky. Stop then,
# rather than retry every remaining call (minutes of backoff for a verdict that can only be "error").
UNREACHABLE_AFTER = 5


@dataclass(frozen=True)
class RunSettings:
    concurrency: int = 8
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 120.0  # seconds per HTTP request


async def _one(
    request: CompletionRequest,
    provider: Provider,
    client: httpx.AsyncClient,
    policy: RetryPolicy,
) -> Completion:
    # providers map every transport failure to RetryableCallError / FatalCallError themselves
    async def attempt() -> ProviderResponse:
        response = await provider.complete(request, client)
        # an answer that quotes a credential (a model or a proxy echoing the request) loses it here, before
        # it is scored, cached or reported: the report's Markdown escaping would hide it from a later scrub
        return dataclasses.replace(
            response,
            text=secrets.scrub(response.text) if response.text else response.text,
            refusal=secrets.scrub(response.refusal) if response.refusal else response.refusal,
        )

    started = time.perf_counter()
    try:
        response, attempts = await call_with_retries(attempt, policy)
    except RetriesExhausted as exc:
        return Completion(
            request,
            None,
            error=secrets.scrub(str(exc.last)),
            attempts=exc.attempts,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
    return Completion(request, response, attempts=attempts, latency_ms=(time.perf_counter() - started) * 1000)


async def _run(
    requests: list[CompletionRequest],
    providers: Mapping[str, Provider],
    cache: ResponseCache | None,
    settings: RunSettings,
    progress: ProgressCallback | None,
    known: Mapping[str, ProviderResponse] | None,
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
            results[key] = Completion(request, cached, cached=True, attempts=0)
        else:
            results[key] = None
            pending.append(request)
    total = len(results)
    done = total - len(pending)
    if progress:
        progress(done, total)
    if not pending:  # a fully cached review opens no HTTP client
        return _in_order(requests, results)
    semaphore = asyncio.Semaphore(settings.concurrency)
    stopping = asyncio.Event()  # set on a fatal error: calls still waiting for a slot are not started
    answered = exhausted = 0
    limits = httpx.Limits(
        max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency
    )
    async with httpx.AsyncClient(timeout=settings.timeout, limits=limits) as client:

        async def worker(request: CompletionRequest) -> None:
            nonlocal done, answered, exhausted
            async with semaphore:
                if stopping.is_set():
                    return
                try:
                    completion = await _one(
                        request, providers[request.model.provider], client, settings.retry
                    )
                except FatalCallError:
                    stopping.set()
                    raise
            if completion.response is not None:
                answered += 1
                if cache is not None:
                    cache.put(
                        request, completion.response
                    )  # stored as it arrives: a re-run resumes from here
            else:
                exhausted += 1
                if answered == 0 and exhausted >= UNREACHABLE_AFTER and not stopping.is_set():
                    stopping.set()
                    raise FatalCallError(
                        f"the provider answered none of the first {exhausted} calls after retries "
                        f"(last: {completion.error})"
                    )
            results[request.cache_key()] = completion
            done += 1
            if progress:
                progress(done, total)

        tasks = [asyncio.create_task(worker(r)) for r in pending]
        try:
            await asyncio.gather(*tasks)
        except FatalCallError as exc:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise ProviderError(f"{exc} (completed calls are cached; re-run to resume)") from None
    return _in_order(requests, results)


def _in_order(
    requests: list[CompletionRequest], results: Mapping[str, Completion | None]
) -> list[Completion]:
    """One completion per request, in the order asked; a duplicate shares its twin's answer."""
    out = []
    for request in requests:
        shared = results[request.cache_key()]
        assert shared is not None  # every pending call finished, or the run raised
        if shared.request is not request:  # a duplicate: answered without a call of its own
            shared = Completion(request, shared.response, shared.error, cached=True, attempts=0)
        out.append(shared)
    return out


def run_requests(
    requests: list[CompletionRequest],
    providers: Mapping[str, Provider],
    cache: ResponseCache | None,
    settings: RunSettings,
    progress: ProgressCallback | None = None,
    known: Mapping[str, ProviderResponse] | None = None,
) -> list[Completion]:
    """Complete every request (in the order given). A fatal provider error raises ProviderError (exit 3).

    `known`: answers the caller already read from the cache, by cache key, so they are not looked up twice.
    """
    return asyncio.run(_run(requests, providers, cache, settings, progress, known))
