import pytest

from promptreview.engine.measurement.outcomes import classify, classify_text
from promptreview.errors import UsageError
from promptreview.records import Completion, CompletionRequest, Message, ModelSpec, ProviderResponse
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
    assert outcome_of(error="gave up after 5 attempts").outcome == "error"


def test_malformed_schema_is_a_usage_error():
    with pytest.raises(UsageError, match="not a valid JSON Schema"):
        make_validator({"type": "objekt"}, "schema.json")


def completion(text: str | None, **kw) -> Completion:
    request = CompletionRequest(model=SPEC, messages=(Message("user", "q"),))
    response = None if text is None else ProviderResponse(text=text, **kw)
    return Completion(request=request, response=response, error=None if response else "boom")


def test_text_mode_never_parses_a_prose_answer():
    ok = classify_text(completion("  Thanks,\n we are   on it. "))
    assert (ok.outcome, ok.answer) == ("ok", "Thanks, we are on it.")
    assert classify_text(completion("I'm sorry, but I can't help with that request.")).outcome == "refusal"
    assert classify_text(completion("x", refusal="no")).outcome == "refusal"
    assert classify_text(completion("")).outcome == "ok"  # empty is a feature, not a parse failure
    assert classify_text(completion(None)).outcome == "error"
