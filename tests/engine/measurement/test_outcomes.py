import pytest

from promptreview.engine.measurement.outcomes import classify, classify_text
from promptreview.errors import UsageError
from promptreview.records import (
    CallFailure,
    Completion,
    CompletionRequest,
    Message,
    ModelSpec,
    ProviderResponse,
)
from promptreview.sources.schemas import make_validator

SCHEMA = {
    "type": "object",
    "properties": {"category": {"enum": ["billing", "other"]}, "urgent": {"type": "boolean"}},
    "required": ["category", "urgent"],
    "additionalProperties": False,
}
REQUEST = CompletionRequest(ModelSpec("sim", "x"), (Message("user", "hi"),))
SPEC = ModelSpec("sim", "x")


def outcome_of(text=None, refusal=None, finish="stop", allow_fenced=False, error=None):
    response = None if error else ProviderResponse(text=text, refusal=refusal, finish_reason=finish)
    return classify(Completion(REQUEST, response, error=error), make_validator(SCHEMA, "s"), allow_fenced)


def test_ok():
    o = outcome_of('{"category": "billing", "urgent": false}')
    assert o.outcome == "ok" and o.output == {"category": "billing", "urgent": False}


def test_schema_violation_names_the_path():
    o = outcome_of('{"category": "billing_issue", "urgent": false}')
    assert o.outcome == "schema_violation" and o.detail.startswith("category:")


@pytest.mark.parametrize(
    "text", ['Sure! {"category": "other"}', '{"category": "other", "urgent": true,}', "", "   "]
)
def test_parse_failures(text):
    assert outcome_of(text).outcome == "parse_failure"


def test_fenced_json_is_strict_by_default_and_allowed_by_switch():
    text = '```json\n{"category": "other", "urgent": true}\n```'
    assert outcome_of(text).outcome == "parse_failure"
    assert outcome_of(text, allow_fenced=True).outcome == "ok"


def test_truncation_is_a_parse_failure_that_says_why():
    o = outcome_of('{"category": "oth', finish="length")
    assert o.outcome == "parse_failure" and "finish_reason=length" in o.detail


def test_refusals():
    assert outcome_of(None, refusal="I can't help with that.").outcome == "refusal"
    assert outcome_of("I'm sorry, but I can't help with that request.").outcome == "refusal"
    assert outcome_of("", finish="content_filter").outcome == "refusal"
    # a JSON answer that merely quotes a customer is not a refusal
    assert outcome_of('{"category": "other", "urgent": false}').outcome == "ok"


def test_error_is_its_own_outcome():
    assert outcome_of(error=CallFailure("timeout", "gave up after 5 attempts")).outcome == "error"


def test_malformed_schema_is_a_usage_error():
    with pytest.raises(UsageError, match="not a valid JSON Schema"):
        make_validator({"type": "objekt"}, "schema.json")


# -- failure reasons: counted by what failed, never by cutting our own sentences apart ------------------------


def failure_details_of(*completions: Completion) -> dict[str, dict[str, int]]:
    """The report's `failure_details` for head-side completions scored against SCHEMA."""
    from promptreview.engine.jobs import PlannedCall
    from promptreview.engine.measurement.examples import failure_details
    from promptreview.engine.measurement.frame import build_frame
    from promptreview.engine.measurement.outcomes import ScoredCall

    validator = make_validator(SCHEMA, "s")
    scored = [
        ScoredCall(PlannedCall(0, "head", f"i{n}", "all", 0, REQUEST), c, classify(c, validator))
        for n, c in enumerate(completions)
    ]
    return failure_details(build_frame("p", scored))


def failed(failure: CallFailure) -> Completion:
    return Completion(REQUEST, None, error=failure)


def answered(text: str, finish: str = "stop") -> Completion:
    return Completion(REQUEST, ProviderResponse(text=text, finish_reason=finish))


def test_a_failed_call_is_counted_by_what_failed_not_by_who_said_so():
    server = "OpenAI-compatible server at http://127.0.0.1:8000/v1"
    details = failure_details_of(
        failed(CallFailure("http_status", f"{server}: HTTP 500 server_error: oops", status=500)),
        failed(CallFailure("http_status", f"{server}: HTTP 500: reworded entirely", status=500)),
        failed(CallFailure("http_status", "Anthropic: HTTP 529 overloaded_error: busy", status=529)),
        failed(CallFailure("timeout", f"{server}: timed out (ReadTimeout)")),
        failed(CallFailure("connection", f"{server}: connection failed (ConnectError: refused)")),
        failed(
            CallFailure("invalid_response", f"{server}: HTTP 200 with a body that is not JSON", status=200)
        ),
    )
    assert details == {
        "error": {"HTTP 500": 2, "HTTP 529": 1, "timeout": 1, "connection error": 1, "invalid response": 1}
    }


def test_the_reason_keys_of_parse_failures_and_schema_violations_are_their_own_data():
    details = failure_details_of(
        answered("{oops"),
        answered('{"category" "other"}'),  # the decoder's message holds a colon: "Expecting ':' delimiter"
        answered('{"category": "oth', finish="length"),
        answered(""),
        answered("", finish="length"),
        answered('{"category": "other"}'),  # the root: a required property is missing
        answered('{"category": "nope", "urgent": true}'),
        answered('{"category": "other", "urgent": true, "a:b": 1}'),  # a property whose name holds a colon
    )
    assert details["parse_failure"] == {
        "Expecting property name enclosed in double quotes": 1,
        "Expecting ':' delimiter": 1,
        "truncated (finish_reason=length)": 1,
        "empty response": 1,
        "empty response (finish_reason=length)": 1,
    }
    assert details["schema_violation"] == {"(root)": 2, "category": 1}


def test_refusals_are_counted_by_their_signal():
    details = failure_details_of(
        Completion(REQUEST, ProviderResponse(text=None, refusal="I can't: policy")),
        answered("", finish="content_filter"),
        answered("I'm sorry, but I can't help with that."),
    )
    assert details == {
        "refusal": {"provider refusal": 1, "finish_reason=content_filter": 1, "refusal in text": 1}
    }


def test_the_example_sentence_is_worded_from_the_reason():
    expected = "not JSON: Expecting property name enclosed in double quotes at line 1 column 2"
    assert outcome_of("{oops").detail == expected
    truncated = outcome_of('{"category": "other",', finish="length").detail
    assert truncated == (
        "truncated: finish_reason=length (max_tokens reached); "
        "not JSON: Expecting property name enclosed in double quotes at line 1 column 22"
    )
    failure = CallFailure("http_status", "OpenAI: HTTP 500: oops", status=500)
    assert outcome_of(error=failure).detail == "OpenAI: HTTP 500: oops"
    assert outcome_of('{"category": "other"}').detail == "(root): 'urgent' is a required property"


def completion(text: str | None, **kw) -> Completion:
    request = CompletionRequest(model=SPEC, messages=(Message("user", "q"),))
    response = None if text is None else ProviderResponse(text=text, **kw)
    return Completion(
        request=request, response=response, error=None if response else CallFailure("timeout", "boom")
    )


def test_text_mode_never_parses_a_prose_answer():
    ok = classify_text(completion("  Thanks,\n we are   on it. "))
    assert (ok.outcome, ok.answer) == ("ok", "Thanks, we are on it.")
    assert classify_text(completion("I'm sorry, but I can't help with that request.")).outcome == "refusal"
    assert classify_text(completion("x", refusal="no")).outcome == "refusal"
    assert classify_text(completion("")).outcome == "ok"  # empty is a feature, not a parse failure
    assert classify_text(completion(None)).outcome == "error"


@pytest.mark.parametrize(
    ("text", "finish", "kind"),
    [
        ('```json\n{"category": "billing", "urgent": false}\n```', "stop", "fenced"),
        ('{"category": "billing", "urgent": false,}', "stop", "trailing_comma"),
        ('Here is the JSON: {"category": "billing", "urgent": false}', "stop", "wrapped"),
        ("The ticket is about billing.", "stop", "not_json"),
        ('{"category": "bill', "length", "truncated"),
        ("", "length", "empty_at_limit"),
        ("  ", "stop", "empty"),
    ],
)
def test_a_parse_failure_is_told_by_what_would_fix_it(text, finish, kind):
    """Each kind has its own remedy in the report (allow fenced JSON, raise max_tokens, ...)."""
    import pandas as pd

    from promptreview.engine.measurement.examples import parse_failure_kinds

    o = outcome_of(text, finish=finish)
    assert o.outcome == "parse_failure"
    frame = pd.DataFrame(
        {"side": ["head", "base"], "outcome": ["parse_failure"] * 2, "reason": [o.reason] * 2}
    )
    assert parse_failure_kinds(frame) == {kind: 1}  # the head's only


def test_fenced_json_is_fine_where_fences_are_allowed():
    assert (
        outcome_of('```json\n{"category": "billing", "urgent": false}\n```', allow_fenced=True).outcome
        == "ok"
    )


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,  # past the recursion limit of json.loads and of jsonschema
        '{"category": "other", "urgent": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"category": "other", "urgent": ' + "9" * 4301 + "}",  # past int()'s digit limit: a ValueError
    ],
)
def test_an_answer_that_cannot_be_read_is_a_parse_failure_not_a_crash(text):
    o = outcome_of(text)
    assert o.outcome == "parse_failure" and o.reason.kind == "invalid_json"


def test_a_recursive_schema_validates_an_answer_as_deep_as_the_parser_takes():
    tree = {
        "$defs": {"n": {"type": "object", "properties": {"c": {"$ref": "#/$defs/n"}}}},
        "$ref": "#/$defs/n",
    }
    deep = "{}"
    for _ in range(99):
        deep = '{"c": ' + deep + "}"
    validator = make_validator(tree, "s")
    assert classify(Completion(REQUEST, ProviderResponse(text=deep)), validator, False).outcome == "ok"


def test_an_answer_too_deep_for_the_validator_is_a_schema_violation_not_a_crash():
    import sys

    tree = {
        "$defs": {"n": {"type": "object", "properties": {"c": {"$ref": "#/$defs/n"}}}},
        "$ref": "#/$defs/n",
    }
    validator = make_validator(tree, "s")
    deep = "{}"
    for _ in range(90):
        deep = '{"c": ' + deep + "}"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)  # as if the schema recursed through many more keywords per level
    try:
        o = classify(Completion(REQUEST, ProviderResponse(text=deep)), validator, False)
    finally:
        sys.setrecursionlimit(limit)
    assert o.outcome == "schema_violation" and o.reason.message == "nested too deeply to validate"
