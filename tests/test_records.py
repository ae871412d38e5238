"""The cache key: computed once per request, and the same text (so the same key) as the plain JSON encoding."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

import pytest

from promptreview.records import CompletionRequest, Message, ModelSpec


def _reference_key(r: CompletionRequest) -> str:
    """The key as first defined: one json.dumps of the whole payload (caches written by it must still hit)."""
    payload: dict[str, Any] = {
        "provider": r.model.provider,
        "model": r.model.model,
        "params": dict(r.params),
        "messages": [[m.role, m.content] for m in r.messages],
        "response_format": {"name": r.schema_name, "schema": r.response_schema},
        "sample": r.sample_index,
    }
    if r.json_object:
        payload["response_format"]["type"] = "json_object"
    if r.schema_strict is not None:  # a declared `strict` (issue 20): absent, every earlier key is unchanged
        payload["response_format"]["strict"] = r.schema_strict
    if r.expected_schema is not None and r.model.provider == "sim":
        payload["expected_schema"] = r.expected_schema
    if r.tools:  # declared tools (issue 25): absent, every earlier key is unchanged
        payload["tools"] = list(r.tools)
    if r.tool_choice is not None:
        payload["tool_choice"] = r.tool_choice
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


SCHEMA = {
    "type": "object",
    "properties": {"é": {"enum": ["a", "b"]}, "z": {"type": "integer"}},
    "required": ["z"],
}
TOOL = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
BASE = CompletionRequest(
    model=ModelSpec("openai", "gpt-4o-mini-2024-07-18"),
    messages=(Message("system", "Answer in JSON. «ünïcode»"), Message("user", 'say "hi"\n')),
    params=(("max_tokens", 300), ("temperature", 0.7)),
)


@pytest.mark.parametrize(
    "request_",
    [
        BASE,
        replace(BASE, response_schema=SCHEMA, schema_name="triage", sample_index=3),
        replace(BASE, json_object=True),
        replace(BASE, response_schema=SCHEMA, schema_strict=True),
        replace(BASE, response_schema=SCHEMA, schema_strict=False),
        replace(BASE, model=ModelSpec("sim", "triage-v1"), expected_schema=SCHEMA),
        replace(BASE, expected_schema=SCHEMA),  # not sim: the expected schema is not part of the key
        replace(BASE, params=()),
        replace(BASE, params=(("response_format", {"type": "json_object"}),)),  # unhashable: no memo
        replace(BASE, response_schema=dict(SCHEMA, title="another object, another encoding")),
        replace(BASE, tools=(TOOL,)),
        replace(BASE, tools=(TOOL,), tool_choice="required", sample_index=2),
        replace(BASE, tools=(TOOL,), tool_choice={"type": "function", "function": {"name": "lookup"}}),
    ],
)
def test_key_equals_the_plain_encoding(request_):
    assert request_.cache_key() == _reference_key(request_)


def test_key_is_computed_once_and_not_part_of_equality():
    r = replace(BASE, response_schema=SCHEMA)
    first = r.cache_key()
    assert getattr(r, "_cache_key") == first  # noqa: B009  (the memo is a slot, not a field)
    assert r.cache_key() is first
    twin = replace(BASE, response_schema=SCHEMA)
    assert twin == r  # the memo is not a field
    other = replace(r, sample_index=1)
    assert other.cache_key() != first


def test_shared_messages_under_other_settings_keep_their_own_keys():
    # one messages tuple hashed under one side's settings must not leak into another side's key
    sim = replace(BASE, model=ModelSpec("sim", "triage-v1"), expected_schema=SCHEMA)
    other = replace(sim, expected_schema=dict(SCHEMA, title="head"))
    requests = [replace(r, sample_index=k) for k in range(3) for r in (sim, other, BASE)]
    assert [r.cache_key() for r in requests] == [_reference_key(r) for r in requests]
    assert len({r.cache_key() for r in requests}) == 9


def test_a_request_for_another_sample_is_the_request_built_with_that_sample():
    """`with_sample` shares the fields instead of running __init__: it must equal, hash, print and key exactly
    as the request built whole, and stay frozen."""
    import dataclasses

    from promptreview.records import CompletionRequest, Message, ModelSpec

    first = CompletionRequest(
        model=ModelSpec("openai", "gpt-4o-2024-08-06"),
        messages=(Message("system", "s"), Message("user", "u")),
        params=(("temperature", 0.7),),
        response_schema={"type": "object"},
        schema_name="out",
    )
    first.cache_key()  # a memo on the first must not leak into its siblings
    for k in (1, 4):
        made = first.with_sample(k)
        whole = dataclasses.replace(first, sample_index=k)
        assert made == whole and repr(made) == repr(whole)
        assert made.cache_key() == whole.cache_key() != first.cache_key()
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.sample_index = 0  # type: ignore[misc]
    plain = dataclasses.replace(first, response_schema=None)  # hashable (no schema dict)
    assert hash(plain.with_sample(2)) == hash(dataclasses.replace(plain, sample_index=2))


def test_a_declared_strict_is_part_of_the_key_and_an_undeclared_one_changes_no_key():
    schema = replace(BASE, response_schema=SCHEMA)
    keys = {replace(schema, schema_strict=s).cache_key() for s in (None, True, False)}
    assert len(keys) == 3
    assert replace(schema, schema_strict=None).cache_key() == _reference_key(schema)


def test_a_request_without_tools_keeps_the_key_it_had():
    # the key of the plain request, as main computed it before tools existed
    assert BASE.cache_key() == "99030cb3dd699c92ff89c2f79549c5e8da3cf3f24486dba8804a5e3a5e310bff"
    assert replace(BASE, tools=(TOOL,)).cache_key() != BASE.cache_key()
    with_tools = replace(BASE, tools=(TOOL,))
    assert replace(with_tools, tool_choice="required").cache_key() != with_tools.cache_key()


def test_the_records_held_once_per_completion_have_no_instance_dict():
    """A 100,000-completion review holds one of each per completion: slotted, no `__dict__` each (decision 83).
    The request's key memo is a slot too, and a sample's copy shares its fields but not the memo."""
    from promptreview.engine.jobs import PlannedCall
    from promptreview.engine.measurement.outcomes import Classification, ScoredCall
    from promptreview.records import CallFailure, Completion, ProviderResponse, ToolCall, Usage

    request = replace(BASE, response_schema=SCHEMA)
    key = request.cache_key()
    sample = request.with_sample(3)
    assert sample.messages is request.messages and sample.sample_index == 3
    assert sample.cache_key() != key and sample.cache_key() == _reference_key(sample)
    response = ProviderResponse("{}", usage=Usage(1, 2), tool_calls=(ToolCall("f", "{}"),))
    completion = Completion(request, response, CallFailure("server", "boom"))
    scored = ScoredCall(PlannedCall(0, "base", "i", "s", 0, request), completion, Classification("ok"))
    held = (request, sample, response, response.usage, *response.tool_calls, completion, completion.error)
    for record in (*held, scored, scored.call, scored.classification, *request.messages):
        assert not hasattr(record, "__dict__"), type(record).__name__


def test_interned_holds_a_repeated_text_once_and_leaves_anything_else_alone():
    from promptreview.records import interned

    one, two = "".join(["gpt-4o-mini", "-2024-07-18"]), "".join(["gpt-4o", "-mini-2024-07-18"])
    assert one is not two and interned(one) is interned(two) and interned(one) == one
    assert interned(None) is None and interned(7) == 7
