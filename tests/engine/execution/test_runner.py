import asyncio
import dataclasses

import pytest

from promptreview.engine.execution.cache import ResponseCache
from promptreview.engine.execution.runner import RunSettings, run_requests
from promptreview.errors import ProviderError
from promptreview.providers.base import FatalCallError, RetryableCallError
from promptreview.providers.retry import RetryPolicy
from promptreview.records import CallFailure, CompletionRequest, Message, ModelSpec, ProviderResponse

FAST = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, jitter=0.0)


def http_failure(status: int, message: str | None = None) -> CallFailure:
    return CallFailure("http_status", message or f"Fake: HTTP {status}", status=status)


class ScriptedProvider:
    """An in-process provider whose answer per prompt text is scripted, counting calls and concurrency."""

    name = "fake"
    key_env_var = None

    def __init__(self, script=None):
        self.script = script or {}
        self.calls = 0
        self.in_flight = 0
        self.peak = 0

    def pin_status(self, model_id):
        return "pinned"

    def pinned_suggestions(self, model_id):
        return []

    async def complete(self, request, client):
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0)
        self.in_flight -= 1
        action = self.script.get(request.messages[0].content)
        if isinstance(action, list):
            action = action.pop(0) if action else None
        if isinstance(action, Exception):
            raise action
        return ProviderResponse(text=f'{{"n": {request.sample_index}}}', served_model=request.model.model)


def requests(n, prefix="q"):
    return [
        CompletionRequest(ModelSpec("fake", "m"), (Message("user", f"{prefix}{i}"),), sample_index=0)
        for i in range(n)
    ]


def test_bounded_concurrency_and_order(tmp_path):
    provider = ScriptedProvider()
    reqs = requests(40)
    done = []
    out = run_requests(
        reqs,
        {"fake": provider},
        None,
        RunSettings(concurrency=4, retry=FAST),
        progress=lambda d, t: done.append((d, t)),
    )
    assert [c.request for c in out] == reqs
    assert provider.calls == 40 and provider.peak <= 4
    assert done[-1] == (40, 40)


def test_cache_makes_second_run_free_and_resumes(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    provider = ScriptedProvider()
    first = run_requests(requests(10), {"fake": provider}, cache, RunSettings(retry=FAST))
    assert not any(c.cached for c in first)
    second = run_requests(requests(10), {"fake": provider}, cache, RunSettings(retry=FAST))
    assert provider.calls == 10 and all(c.cached for c in second)
    assert [c.response.text for c in second] == [c.response.text for c in first]
    more = run_requests(requests(12), {"fake": provider}, cache, RunSettings(retry=FAST))
    assert provider.calls == 12 and sum(c.cached for c in more) == 10


def test_retry_then_success_and_exhausted_retries_become_errors(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    provider = ScriptedProvider(
        {
            "q0": [RetryableCallError(http_failure(503))],
            "q1": [RetryableCallError(http_failure(429), retry_after=0.0)] * 3,
        }
    )
    out = run_requests(requests(3), {"fake": provider}, cache, RunSettings(retry=FAST))
    assert out[0].response is not None and out[0].attempts == 2
    assert out[1].response is None and out[1].attempts == 3 and out[1].error == http_failure(429)
    assert out[2].attempts == 1
    assert cache.count() == 2  # the failed call is not cached, so a re-run tries it again


def test_fatal_error_stops_the_run_but_keeps_completed_calls(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    provider = ScriptedProvider({"q5": FatalCallError(http_failure(401, "invalid API key (401)"))})
    with pytest.raises(ProviderError, match="invalid API key"):
        run_requests(requests(10), {"fake": provider}, cache, RunSettings(concurrency=1, retry=FAST))
    assert cache.count() == 5


def test_identical_requests_share_one_call():
    provider = ScriptedProvider()
    reqs = requests(3) + requests(3)
    out = run_requests(reqs, {"fake": provider}, None, RunSettings(retry=FAST))
    assert provider.calls == 3 and [c.cached for c in out] == [False] * 3 + [True] * 3


def test_a_provider_that_answers_nothing_stops_the_run_early():
    provider = ScriptedProvider(
        {
            f"q{i}": [RetryableCallError(CallFailure("connection", "connection refused"))] * 3
            for i in range(50)
        }
    )
    with pytest.raises(ProviderError, match="answered none of the first 5 calls"):
        run_requests(requests(50), {"fake": provider}, None, RunSettings(concurrency=2, retry=FAST))
    assert provider.calls < 50 * 3  # it did not retry every remaining call


def test_a_partial_outage_runs_to_the_end_with_errors():
    failing = {f"q{i}": [RetryableCallError(http_failure(503))] * 3 for i in range(0, 50, 5)}
    provider = ScriptedProvider(failing)
    out = run_requests(requests(50), {"fake": provider}, None, RunSettings(concurrency=2, retry=FAST))
    assert sum(c.error is not None for c in out) == 10 and sum(c.response is not None for c in out) == 40


def test_stored_request_text_is_the_scrubbed_encoding_of_each_request(monkeypatch):
    """The request JSON kept for an answer is encoded once for an input's K samples (its sample index marked);
    with the index put back it must read exactly as encoding each request on its own would, secrets scrubbed."""
    import json as _json

    from promptreview import secrets
    from promptreview.engine.execution.cache import _request_json, _RequestText, _with_sample

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-abcdefghijklmnop123456")
    secrets.remember_env({"OPENAI_API_KEY": "sk-test-abcdefghijklmnop123456"})
    try:
        text = _RequestText()
        base = requests(3)
        leaky = dataclasses.replace(
            base[0],
            messages=(Message("user", 'key sk-test-abcdefghijklmnop123456 "sample_index": -7391004}'),),
        )
        digests = set()
        for request in [*base, *(dataclasses.replace(leaky, sample_index=k) for k in range(4))]:
            expected = secrets.scrub(_json.dumps(_request_json(request), ensure_ascii=False))
            template, digest = text(request)
            assert _with_sample(template, request.sample_index) == expected
            assert "abcdefghijklmnop" not in template
            digests.add(digest)
        assert len(digests) == 4  # the three requests, and one for the four samples of the leaky one
    finally:
        secrets.forget_all()


def test_cache_entries_give_back_each_request_with_its_sample(tmp_path):
    """Stored once per input, the request text comes back for every sample with that sample's index; a row
    written by an older version (its own request JSON, no digest) still reads."""
    import sqlite3

    cache = ResponseCache(tmp_path / "c.sqlite")
    reqs = [dataclasses.replace(r, sample_index=k) for r in requests(2) for k in range(3)]
    run_requests(reqs, {"fake": ScriptedProvider()}, cache, RunSettings(retry=FAST))
    got = [(req["messages"][0]["content"], req["sample_index"]) for req, _ in cache.entries()]
    assert sorted(got) == sorted((r.messages[0].content, r.sample_index) for r in reqs)
    cache.close()
    db = sqlite3.connect(tmp_path / "c.sqlite")
    assert db.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 2
    db.execute(
        "INSERT INTO completions (key, provider, model, sample_index, response_json, created_at, request_json)"
        " VALUES ('old', 'fake', 'm', 0, ?, 0, ?)",
        ('{"text": "old answer"}', '{"messages": [{"role": "user", "content": "old"}], "sample_index": 0}'),
    )
    db.commit()
    db.close()
    entries = ResponseCache(tmp_path / "c.sqlite").entries()
    assert entries[-1][0]["messages"][0]["content"] == "old" and entries[-1][1].text == "old answer"


@pytest.mark.parametrize("others", [0, 200])
def test_lookup_finds_exactly_the_stored_answers_whether_it_scans_or_seeks(tmp_path, others):
    """A cache holding mostly this review is read in one pass, a large one key by key: same answers either way,
    and nothing that was not asked for."""
    cache = ResponseCache(tmp_path / "c.sqlite")
    ours = [dataclasses.replace(r, sample_index=i) for i, r in enumerate(requests(30))]
    run_requests(
        requests(others, prefix="other") + ours, {"fake": ScriptedProvider()}, cache, RunSettings(retry=FAST)
    )
    unasked = [dataclasses.replace(r, sample_index=99) for r in requests(10)]
    found = cache.lookup(ours + unasked)
    assert set(found) == {r.cache_key() for r in ours}
    assert [found[r.cache_key()].text for r in ours] == [f'{{"n": {i}}}' for i in range(30)]


def test_a_large_review_holds_one_task_per_slot_not_per_call():
    """Calls wait in a queue for the `concurrency` workers: a task per call held a coroutine for every call of
    a large review at once."""

    class Counting(ScriptedProvider):
        most = 0

        async def complete(self, request, client):
            Counting.most = max(Counting.most, len(asyncio.all_tasks()))
            return await super().complete(request, client)

    provider = Counting()
    out = run_requests(requests(300), {"fake": provider}, None, RunSettings(concurrency=4, retry=FAST))
    assert len(out) == 300 and provider.calls == 300 and provider.peak <= 4
    assert Counting.most <= 4 + 2  # the workers, the run itself and the queue's join


def test_certificates_are_loaded_unless_no_connection_can_be_tls(monkeypatch):
    from types import SimpleNamespace

    from promptreview.engine.execution.runner import _needs_tls

    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    local = SimpleNamespace(base_url="http://127.0.0.1:8080/v1")
    remote = SimpleNamespace(base_url="https://api.openai.com/v1")
    sim = SimpleNamespace()  # in process: no base URL, no connection
    assert _needs_tls({"local", "sim"}, {"local": local, "sim": sim}) is False
    assert _needs_tls({"local", "remote"}, {"local": local, "remote": remote}) is True
    assert _needs_tls({"odd"}, {"odd": SimpleNamespace(base_url="HTTPS://example.com")}) is True
    monkeypatch.setenv("HTTPS_PROXY", "https://proxy.example:443")  # a proxy may be reached over TLS
    assert _needs_tls({"local"}, {"local": local}) is True


def _open_cache(path: str) -> str:
    try:
        ResponseCache(__import__("pathlib").Path(path)).close()
    except Exception as exc:  # noqa: BLE001 - reported to the test
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def test_reviews_opening_an_old_cache_at_once_upgrade_it_once(tmp_path):
    """Two reviews sharing ~/.cache may open a cache from an older version at the same moment: they take
    turns at the migrations and none of them fails ('table already exists', 'duplicate column')."""
    import multiprocessing
    import sqlite3

    from promptreview.engine.execution import cache as cache_module

    for attempt in range(6):
        path = tmp_path / f"old{attempt}.sqlite"
        db = sqlite3.connect(path)
        db.execute("PRAGMA journal_mode=WAL")  # as the previous version left it
        db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at REAL)")
        for name, sql in cache_module._MIGRATIONS[:2]:  # what the previous version had applied
            db.execute(sql)
            db.execute("INSERT INTO _migrations VALUES (?, 0)", (name,))
        db.commit()
        db.close()
        with multiprocessing.get_context("fork").Pool(4) as pool:
            assert pool.map(_open_cache, [str(path)] * 4) == ["ok"] * 4
        names = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM _migrations")}
        assert names == {name for name, _ in cache_module._MIGRATIONS}


def test_every_text_of_a_failure_is_scrubbed_before_it_is_recorded_or_raised():
    from promptreview import secrets

    key = "proxy-secret-0123456789"
    secrets.remember(key)
    try:
        leaky = CallFailure("http_status", f"Fake: HTTP 503: echo {key}", 503, key, f"bad header {key}")
        provider = ScriptedProvider({"q0": [RetryableCallError(leaky)] * 3})
        out = run_requests(requests(2), {"fake": provider}, None, RunSettings(retry=FAST))
        assert out[0].error is not None and out[0].error.status == 503
        assert key not in repr(out[0].error) and "***" in out[0].error.server_message
        fatal = ScriptedProvider({"q0": FatalCallError(leaky)})
        with pytest.raises(ProviderError) as info:
            run_requests(requests(2), {"fake": fatal}, None, RunSettings(concurrency=1, retry=FAST))
        assert key not in str(info.value) and "re-run to resume" in str(info.value)
    finally:
        secrets.forget_all()


def test_cache_only_answers_from_the_cache_and_refuses_any_call(tmp_path):
    """--cache-only: a run the cache answers makes no call; one it cannot is `CacheMiss` (exit 3), naming how many
    answers are missing, before any call is made."""
    from promptreview.errors import CacheMiss

    cache = ResponseCache(tmp_path / "c.sqlite")
    provider = ScriptedProvider()
    run_requests(requests(6), {"fake": provider}, cache, RunSettings(retry=FAST))
    assert provider.calls == 6
    only = RunSettings(retry=FAST, cache_only=True)
    again = run_requests(requests(6), {"fake": provider}, cache, only)
    assert all(c.cached for c in again) and provider.calls == 6
    with pytest.raises(CacheMiss) as refused:
        run_requests(requests(10), {"fake": provider}, cache, only)
    assert (refused.value.missing, refused.value.total) == (4, 10)
    assert "lacks 4 of the 10 answers" in str(refused.value) and "--cache-only refuses" in str(refused.value)
    assert isinstance(refused.value, ProviderError)  # exit 3: no verdict, never a pass
    assert provider.calls == 6
    cache.close()
