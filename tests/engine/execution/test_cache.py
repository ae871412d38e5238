"""The response cache keeps an answer's provenance (migration 005_provenance) and the whole request side of it;
a cache file written by the previous version upgrades in place and its rows read fine."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

from promptreview.engine.execution import cache as cache_module
from promptreview.engine.execution.cache import ResponseCache
from promptreview.records import CompletionRequest, Message, ModelSpec, ProviderResponse, Usage

REQUEST = CompletionRequest(
    ModelSpec("openai", "gpt-4o-2024-08-06"),
    (Message("system", "Classify."), Message("user", "My invoice is wrong.")),
    params=(("temperature", 0.2),),
    response_schema={"type": "object"},
    schema_name="triage",
    schema_strict=True,
)
ANSWER = ProviderResponse(
    '{"label": "billing"}',
    finish_reason="stop",
    served_model="gpt-4o-2024-08-06",
    usage=Usage(50, 10, 32),
    response_id="chatcmpl-1",
    system_fingerprint="fp_a",
    provider_created=1796638443.0,
    request_id="req_1",
)


def _old_cache(path):
    """A cache as the previous version left it: migrations 001-004 applied, one answer stored in its JSON."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at REAL)")
    for name, sql in cache_module._MIGRATIONS:
        if name == "005_provenance":
            break
        db.execute(sql)
        db.execute("INSERT INTO _migrations VALUES (?, 0)", (name,))
    old = {"text": "old", "refusal": None, "finish_reason": "stop", "served_model": "gpt-4o-2024-08-06",
           "usage": {"prompt_tokens": 5, "completion_tokens": 1, "cached_tokens": None}}  # fmt: skip
    db.execute(
        "INSERT INTO completions (key, provider, model, served_model, sample_index, response_json, created_at,"
        " request_digest) VALUES (?, 'openai', 'gpt-4o-2024-08-06', 'gpt-4o-2024-08-06', 0, ?, 0, NULL)",
        (REQUEST.with_sample(1).cache_key(), json.dumps(old)),
    )
    db.commit()
    db.close()


def test_an_old_cache_file_gains_the_provenance_columns_and_its_rows_read_fine(tmp_path):
    path = tmp_path / "cache.sqlite"
    _old_cache(path)
    cache = ResponseCache(path)
    old = cache.lookup([REQUEST.with_sample(1)])[REQUEST.with_sample(1).cache_key()]
    assert old.text == "old" and old.served_model == "gpt-4o-2024-08-06"
    assert (old.system_fingerprint, old.response_id, old.provider_created, old.request_id) == (None,) * 4
    cache.put(REQUEST, ANSWER)
    assert cache.lookup([REQUEST])[REQUEST.cache_key()] == ANSWER  # every field comes back
    cache.close()
    db = sqlite3.connect(path)
    columns = {row[1] for row in db.execute("PRAGMA table_info(completions)")}
    assert {"system_fingerprint", "response_id", "provider_created"} <= columns
    rows = db.execute(
        "SELECT key, system_fingerprint, response_id, provider_created FROM completions ORDER BY rowid"
    ).fetchall()
    assert rows == [
        (REQUEST.with_sample(1).cache_key(), None, None, None),
        (REQUEST.cache_key(), "fp_a", "chatcmpl-1", 1796638443.0),
    ]
    applied = [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY name")]
    assert applied == [name for name, _ in cache_module._MIGRATIONS]


def test_the_stored_request_keeps_every_field_that_decides_the_answer(tmp_path):
    """The request side of provenance: the model asked for, messages, params, schema and its settings."""
    cache = ResponseCache(tmp_path / "cache.sqlite")
    cache.put(REQUEST, ANSWER)
    plain = CompletionRequest(ModelSpec("openai", "gpt-4o-2024-08-06"), (Message("user", "hi"),))
    cache.put(plain, ANSWER)
    (asked, answered), (simple, _) = cache.entries()
    cache.close()
    assert asked == {
        "model": "openai:gpt-4o-2024-08-06",
        "messages": [
            {"role": "system", "content": "Classify."},
            {"role": "user", "content": "My invoice is wrong."},
        ],
        "params": {"temperature": 0.2},
        "response_schema": {"type": "object"},
        "schema_name": "triage",
        "schema_strict": True,
        "sample_index": 0,
    }
    assert answered.system_fingerprint == "fp_a"
    # a request with the default settings is stored as it always was
    assert list(simple) == ["model", "messages", "params", "response_schema", "sample_index"]


def test_answers_read_back_share_one_copy_of_their_served_id_and_fingerprint(tmp_path):
    """The served id and fingerprint repeat on every row: read back, each is held once (decision 83)."""
    cache = ResponseCache(tmp_path / "c.sqlite")
    samples = [REQUEST.with_sample(k) for k in range(3)]
    for k, request in enumerate(samples):
        cache.put(request, replace(ANSWER, response_id=f"chatcmpl-{k}"))
    found = cache.lookup(samples)
    cache.close()
    answers = [found[r.cache_key()] for r in samples]
    assert [a.response_id for a in answers] == ["chatcmpl-0", "chatcmpl-1", "chatcmpl-2"]
    assert {a.served_model for a in answers} == {ANSWER.served_model}
    assert len({id(a.served_model) for a in answers}) == 1
    assert len({id(a.system_fingerprint) for a in answers}) == 1
