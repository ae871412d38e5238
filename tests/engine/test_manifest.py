"""The manifest's digests: canonical JSON whatever the key order, request keys in any order, the lock found."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

from promptreview.engine import manifest
from promptreview.records import CompletionRequest, Message, ModelSpec


def _plan(*texts: str) -> SimpleNamespace:
    calls = [
        SimpleNamespace(request=CompletionRequest(ModelSpec("sim", "triage-v1"), (Message("user", t),)))
        for t in texts
    ]
    return SimpleNamespace(calls=calls)


def test_the_request_digest_is_over_the_sorted_distinct_keys():
    one = manifest.requests_digest(_plan("a", "b", "c"))  # type: ignore[arg-type]
    other = manifest.requests_digest(_plan("c", "a", "b", "a"))  # type: ignore[arg-type]
    assert one == other and one[0] == 3
    assert manifest.requests_digest(_plan("a", "b", "d")) != one  # type: ignore[arg-type]


def test_canonical_json_is_one_text_whatever_the_key_order():
    assert manifest.canonical({"b": 1, "a": [1, {"y": 2, "x": "é"}]}) == '{"a":[1,{"x":"é","y":2}],"b":1}'
    assert manifest.canonical({"a": 1, "b": 2}) == manifest.canonical({"b": 2, "a": 1})


def test_the_lock_beside_the_source_tree_is_found():
    from tests.conftest import REPO

    expected = hashlib.sha256((REPO / "requirements.lock").read_bytes()).hexdigest()
    assert manifest.lock_digest() == expected  # an editable install: the lock beside the package
