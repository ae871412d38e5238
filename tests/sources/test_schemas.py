"""Schemas a pull request writes: their regular expressions run on RE2, a loop of `$ref`s is refused, and so is
a pattern RE2 cannot run, all before any call."""

from __future__ import annotations

import pytest

from promptreview.engine.measurement.outcomes import classify
from promptreview.errors import RefusedFile, UsageError
from promptreview.records import Completion, CompletionRequest, Message, ModelSpec, ProviderResponse
from promptreview.sources.schemas import make_validator, resolve_refs

REQUEST = CompletionRequest(ModelSpec("sim", "x"), (Message("user", "hi"),))
EVIL = "^(a+)+$"  # exponential on a backtracking engine: 2^n steps on "a"*n + "b"


def outcome(schema: dict, answer: str) -> str:
    validator = make_validator(schema, "s.json")
    return classify(Completion(REQUEST, ProviderResponse(text=answer)), validator, False).outcome


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": EVIL},
        {"type": "object", "propertyNames": {"pattern": EVIL}},
        {"type": "object", "patternProperties": {EVIL: {"type": "string"}}, "additionalProperties": False},
    ],
)
def test_a_catastrophic_pattern_runs_in_linear_time(schema):
    # on Python's `re` each of these takes longer than the universe has existed (2^100 steps); RE2 is linear
    text = "a" * 100 + "b"
    answer = f'"{text}"' if schema["type"] == "string" else f'{{"{text}": 1}}'
    assert outcome(schema, answer) == "schema_violation"
    assert outcome(schema, '"aaa"' if schema["type"] == "string" else '{"aaa": "x"}') == "ok"


def test_patterns_keep_their_json_schema_meaning():
    schema = {
        "type": "object",
        "properties": {"id": {"type": "string", "pattern": r"^[A-Z]{2}-\d{3}$"}},
        "patternProperties": {"^x-": {"type": "integer"}},
        "additionalProperties": False,
    }
    assert outcome(schema, '{"id": "AB-123", "x-a": 1}') == "ok"
    assert outcome(schema, '{"id": "AB-12"}') == "schema_violation"
    assert outcome(schema, '{"x-a": "one"}') == "schema_violation"
    assert outcome(schema, '{"other": 1}') == "schema_violation"


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "string", "pattern": "(?=a)b"}, "cannot run on a linear-time regex engine"),
        ({"type": "string", "pattern": r"(a)\1"}, "cannot run on a linear-time regex engine"),
        ({"type": "string", "pattern": "x{2000}"}, "cannot run on a linear-time regex engine"),
        ({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}, "loop"),
        (
            {
                "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}},
                "$ref": "#/$defs/a",
            },
            "loop",
        ),
        (
            {"patternProperties": {"^a": {}}, "unevaluatedProperties": False},
            "patternProperties and unevaluatedProperties",
        ),
    ],
)
def test_a_schema_that_cannot_compile_is_a_usage_error(schema, words):
    with pytest.raises(UsageError) as info:
        make_validator(schema, "s.json")
    assert words in str(info.value) and str(info.value).startswith("s.json: ")


def test_a_ref_file_that_is_a_symlink_is_refused_naming_it(git_repo):
    """Red team 2, finding 3: a `$ref` sibling that is a link was read as the link's text (or as missing)."""
    git_repo.write("lib/s.json", '{"type": "object"}')
    (git_repo.root / "p").mkdir()
    (git_repo.root / "p/s.json").symlink_to("../lib/s.json")
    sha = git_repo.commit("the schema beside the prompt is a link")
    with pytest.raises(RefusedFile, match="\\$ref 'p/s.json' is a symlink"):
        resolve_refs({"$ref": "s.json"}, "p/x.prompt.yml", git_repo.root, sha, "p/x.prompt.yml")
