"""The samples of one input in one request (Chat Completions `n`), against real HTTP on loopback servers: a server
that honours `n`, one that ignores it, one that rejects it, one that caps it; the cache, resuming, retries, the
usage split, and the off switch."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from promptreview.engine.execution.cache import ResponseCache
from promptreview.engine.execution.runner import RunSettings, run_requests
from promptreview.providers.chat_completions import split_usage
from promptreview.providers.openai import OpenAIProvider
from promptreview.providers.retry import RetryPolicy
from promptreview.records import CompletionRequest, Message, ModelSpec, ProviderResponse, Usage
from tests.servers import (
    RecordedRequest,
    Reply,
    ScriptedServer,
    openai_chat_completion,
    openai_error,
    openai_schema_problem,
)

FAST = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, jitter=0.0)
MODEL = "gpt-4o-mini-2024-07-18"


class NServer:
    """Answers `POST /v1/chat/completions`; choice i of a request says which input and which choice it was.

    `cap`: the most choices one response holds (1: the server ignores `n`; None: it honours every n);
    `reject`: a body with n > 1 gets a 400 naming `n`. Choices are returned in reverse order (each with its
    `index`), so a client that maps them by position gets them wrong."""

    def __init__(
        self, cap: int | None = None, reject: bool = False, usage: tuple[int, int, int] = (90, 30, 60)
    ):
        self.cap = cap
        self.reject = reject
        self.usage = usage
        self.lock = threading.Lock()
        self.bodies: list[dict] = []

    def __call__(self, request: RecordedRequest) -> Reply:
        body = request.json
        problem = openai_schema_problem("CreateChatCompletionRequest", body)
        if problem:
            return Reply(400, openai_error(problem))
        with self.lock:
            self.bodies.append(body)
        n = body.get("n") or 1
        if self.reject and n > 1:
            return Reply(
                400, openai_error("Invalid 'n': this model only supports n=1.", code="invalid_value")
            )
        count = n if self.cap is None else min(n, self.cap)
        user = body["messages"][-1]["content"]
        prompt, completion, cached = self.usage
        out = openai_chat_completion(None, model=MODEL, prompt_tokens=prompt, completion_tokens=completion,
                                     cached_tokens=cached)  # fmt: skip
        template = out["choices"][0]
        out["choices"] = [
            {**template, "index": i, "message": {**template["message"], "content": f"{user}#{i}" + "x" * i}}
            for i in reversed(range(count))
        ]
        return Reply(200, out)

    @property
    def asked(self) -> list[int]:
        return [b.get("n") or 1 for b in self.bodies]


def make_requests(inputs: int, samples: int, model: str = MODEL) -> list[CompletionRequest]:
    return [
        CompletionRequest(
            ModelSpec("openai", model),
            (Message("system", "triage"), Message("user", f"t{i}")),
            params=(("temperature", 1.0),),
            sample_index=k,
        )
        for i in range(inputs)
        for k in range(samples)
    ]


def run(server: ScriptedServer, reqs, cache=None, **settings) -> tuple[list, OpenAIProvider]:
    provider = OpenAIProvider(base_url=f"{server.url}/v1", api_key="sk-test")
    settings = {"retry": FAST, "concurrency": 8, **settings}
    return run_requests(reqs, {"openai": provider}, cache, RunSettings(**settings)), provider


def serve(handler: Callable[[RecordedRequest], Reply]) -> ScriptedServer:
    return ScriptedServer(handler)


def test_a_server_that_honours_n_answers_k_samples_in_one_request(tmp_path):
    handler = NServer()
    cache = ResponseCache(tmp_path / "c.sqlite")
    reqs = make_requests(5, 3)
    with serve(handler) as server:
        out, _ = run(server, reqs, cache)
        assert handler.asked == [3] * 5  # one request per input
        # choice i (by its index, not its position) answers sample i
        assert [c.response.text for c in out] == [f"t{i}#{k}" + "x" * k for i in range(5) for k in range(3)]
        assert sum(c.requests_made for c in out) == 5 and not any(c.cached for c in out)
        again, _ = run(server, reqs, cache)
        assert len(handler.bodies) == 5  # every sample was cached under its own key: the re-run sends nothing
    assert all(c.cached for c in again) and sum(c.requests_made for c in again) == 0
    assert [c.response for c in again] == [c.response for c in out]
    cache.close()


def test_the_bodies_are_the_single_requests_plus_n(tmp_path):
    batched, single = NServer(), NServer()
    reqs = make_requests(2, 3)
    with serve(batched) as a, serve(single) as b:
        run(a, reqs)
        run(b, reqs, sample_batching=False)
    assert single.asked == [1] * 6 and all("n" not in body for body in single.bodies)
    # the K single requests carry identical bodies (no sample index on the wire); the batched one adds only n
    assert {b["messages"][-1]["content"] for b in single.bodies} == {"t0", "t1"}
    for body in batched.bodies:
        plain = next(s for s in single.bodies if s["messages"] == body["messages"])
        assert {k: v for k, v in body.items() if k != "n"} == plain and body["n"] == 3


def test_a_server_that_ignores_n_gets_the_missing_samples_as_singles(tmp_path):
    handler = NServer(cap=1)
    reqs = make_requests(6, 3)
    with serve(handler) as server:
        out, provider = run(server, reqs, concurrency=2)
    # the requests in flight before the first answer ask for 3 (and get 1, like a single call); after it, one
    # request per sample: every request answers a sample, none is wasted
    assert sorted(handler.asked) == [1] * 16 + [3, 3]
    assert all(c.response is not None for c in out)
    assert sum(c.requests_made for c in out) == len(handler.bodies) == 18
    assert [c.response.text for c in out] == [f"t{i}#0" for i in range(6) for _ in range(3)]
    assert provider.samples_per_request(MODEL, 3) == 1


def test_a_server_that_rejects_n_is_sent_singles(tmp_path):
    handler = NServer(reject=True)
    reqs = make_requests(4, 3)
    with serve(handler) as server:
        out, provider = run(server, reqs, concurrency=2)
    # at most one rejected request per concurrency slot (before the first rejection is known), then singles
    assert sorted(handler.asked) == [1] * 12 + [3, 3]
    assert all(c.response is not None and c.error is None for c in out)
    assert sum(c.requests_made for c in out) == 12
    assert provider.samples_per_request(MODEL, 3) == 1 and not provider.notes


def test_a_server_that_returns_fewer_choices_than_asked(tmp_path):
    handler = NServer(cap=2)
    reqs = make_requests(3, 3)
    with serve(handler) as server:
        out, provider = run(server, reqs, concurrency=1)
    # the first input: n=3 gives 2 choices and its third sample queues up again; later inputs ask for 2, then 1
    assert handler.asked == [3, 2, 2, 1, 1, 1]
    assert all(c.response is not None for c in out)
    texts = [c.response.text for c in out]
    assert texts[:3] == ["t0#0", "t0#1x", "t0#0"]  # the re-sent third sample is choice 0 of its own request
    assert sum(c.requests_made for c in out) == 6 and provider.samples_per_request(MODEL, 5) == 2


def test_an_interrupted_run_resends_only_the_missing_samples(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    reqs = make_requests(4, 3)
    first_two = [r for r in reqs if r.sample_index < 2 and r.messages[-1].content in ("t0", "t1")]
    with serve(NServer()) as server:
        run(server, first_two, cache)
    handler = NServer()
    with serve(handler) as server:
        out, _ = run(server, reqs, cache)
    # t0 and t1 miss one sample each, t2 and t3 all three
    assert sorted(handler.asked) == [1, 1, 3, 3]
    assert sum(c.cached for c in out) == 4 and all(c.response is not None for c in out)
    assert sum(c.requests_made for c in out) == 4
    cache.close()


def test_a_retried_group_request_is_sent_whole_again(tmp_path):
    handler = NServer()
    failures = iter(
        [Reply(429, openai_error("slow down", "rate_limit_exceeded"), headers={"retry-after-ms": "1"})]
    )

    def flaky(request: RecordedRequest) -> Reply:
        return next(failures, None) or handler(request)

    with serve(flaky) as server:
        out, _ = run(server, make_requests(1, 3))
        assert [r.json.get("n") for r in server.requests] == [3, 3]
    assert [c.attempts for c in out] == [2, 2, 2] and sum(c.requests_made for c in out) == 1


def test_a_failed_group_request_fails_each_of_its_samples(tmp_path):
    def down(request: RecordedRequest) -> Reply:
        return Reply(503, openai_error("overloaded", "server_error"), headers={"retry-after-ms": "1"})

    failing = make_requests(1, 3, model="down")
    fine = make_requests(2, 3)
    handler = NServer()

    def route(request: RecordedRequest) -> Reply:
        return down(request) if request.json["model"] == "down" else handler(request)

    with serve(route) as server:
        out, _ = run(server, [*fine, *failing])
    assert [c.error is not None for c in out] == [False] * 6 + [True] * 3
    assert [c.requests_made for c in out[6:]] == [1, 0, 0]


def test_usage_is_split_exactly_over_the_choices(tmp_path):
    handler = NServer(usage=(101, 47, 64))
    with serve(handler) as server:
        out, _ = run(server, make_requests(1, 3))
    usages = [c.response.usage for c in out]
    assert sum(u.prompt_tokens for u in usages) == 101
    assert sum(u.completion_tokens for u in usages) == 47
    assert sum(u.cached_tokens for u in usages) == 64
    assert all(u.cached_tokens <= u.prompt_tokens for u in usages)
    # the prompt is paid once per request: split evenly; the output in proportion to each choice's length
    assert [u.prompt_tokens for u in usages] == [34, 34, 33]
    lengths = [len(c.response.text) for c in out]
    assert lengths == [4, 5, 6] and [u.completion_tokens for u in usages] == [
        12,
        16,
        19,
    ]  # 12.53, 15.67, 18.8


@pytest.mark.parametrize(
    ("usage", "texts"),
    [((7, 1, 0), ["a", "bb", "ccc", "d"]), ((0, 0, 0), ["", ""]), ((10, 5, 3), ["", "", ""]),
     ((1_000_003, 999_999, 500_001), ["x" * 11, "y" * 7, "z"])],
)  # fmt: skip
def test_split_usage_sums_exactly(usage, texts):
    prompt, completion, cached = usage
    parts = split_usage(Usage(prompt, completion, cached), [ProviderResponse(t or None) for t in texts])
    assert len(parts) == len(texts)
    assert sum(p.prompt_tokens for p in parts) == prompt
    assert sum(p.completion_tokens for p in parts) == completion
    assert sum(p.cached_tokens for p in parts) == cached
    assert all(p.cached_tokens <= p.prompt_tokens for p in parts)


def test_split_usage_keeps_unreported_counts_unreported():
    parts = split_usage(Usage(12, None, None), [ProviderResponse("a"), ProviderResponse("b")])
    assert [(p.prompt_tokens, p.completion_tokens, p.cached_tokens) for p in parts] == [(6, None, None)] * 2


def test_the_off_switch_sends_one_request_per_sample(tmp_path):
    handler = NServer()
    with serve(handler) as server:
        out, _ = run(server, make_requests(3, 3), sample_batching=False)
    assert handler.asked == [1] * 9 and sum(c.requests_made for c in out) == 9


def test_concurrency_counts_http_requests(tmp_path):
    peak = 0
    in_flight = 0
    lock = threading.Lock()
    handler = NServer()

    def slow(request: RecordedRequest) -> Reply:
        nonlocal peak, in_flight
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            threading.Event().wait(0.02)
            return handler(request)
        finally:
            with lock:
                in_flight -= 1

    with serve(slow) as server:
        out, _ = run(server, make_requests(12, 4), concurrency=3)
    assert peak <= 3 and len(handler.bodies) == 12 and all(c.response for c in out)


def test_reports_say_how_many_requests_when_fewer_than_completions():
    from promptreview.report.document import CallStats
    from promptreview.report.wording import batched_line

    assert batched_line(CallStats(total=720, cached=0, requests=240), "; ") == "; 720 made in 240 requests"
    assert batched_line(CallStats(total=720, cached=360, requests=120), ", ") == ", 360 made in 120 requests"
    # one request per completion, or not counted: nothing to say
    assert batched_line(CallStats(total=720, cached=360, requests=360), "; ") == ""
    assert batched_line(CallStats(total=720, cached=0), "; ") == ""
    assert CallStats(total=720, cached=20).requests_sent == 700


def test_a_rejection_of_n_in_any_words_falls_back_and_a_real_400_still_stops(tmp_path):
    from promptreview.errors import ProviderError

    def unworded(request: RecordedRequest) -> Reply:
        if (request.json.get("n") or 1) > 1:
            return Reply(400, openai_error("Unsupported parameter value."))
        return Reply(200, openai_chat_completion("ok", model=MODEL))

    with serve(unworded) as server:
        out, provider = run(server, make_requests(2, 2), concurrency=1)
        assert [r.json.get("n", 1) for r in server.requests] == [2, 1, 1, 1, 1]  # rejected, then 4 singles
    assert all(c.response is not None for c in out) and provider.samples_per_request(MODEL, 2) == 1

    def broken(request: RecordedRequest) -> Reply:
        return Reply(400, openai_error("messages[1].content: too long"))

    with serve(broken) as server:
        with pytest.raises(ProviderError, match="too long"):
            run(server, make_requests(2, 2), concurrency=1)
        assert [r.json.get("n", 1) for r in server.requests] == [2, 1]  # the request's own error, once more


def test_choices_without_an_integer_index_are_taken_by_position():
    provider = OpenAIProvider(base_url="http://127.0.0.1:9/v1", api_key="sk-test")
    body = openai_chat_completion("a", model=MODEL, prompt_tokens=9, completion_tokens=6)
    choice = body["choices"][0]
    body["choices"] = [
        {**choice, "index": None},
        {k: v for k, v in choice.items() if k != "index"}
        | {"message": {"role": "assistant", "content": "b"}},
        {**choice, "index": 0, "message": {"role": "assistant", "content": "repeat"}},  # index 0 is taken
        {**choice, "index": 7},  # beyond n
    ]
    answers = provider.parse_choices(body, 3)
    assert [a.text if a else None for a in answers] == ["a", "b", None]
    assert sum(a.usage.prompt_tokens for a in answers if a) == 9
    assert sum(a.usage.completion_tokens for a in answers if a) == 6
