"""Score the answers: every completion gets exactly one outcome (ok, schema_violation, parse_failure,
refusal or error), decided from the provider's signals, a strict JSON parse and the side's schema."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

import jsonschema
from jsonschema.protocols import Validator

from promptreview.engine.jobs import PlannedCall, PromptJob
from promptreview.engine.measurement import tool_calls
from promptreview.records import CallFailure, Completion
from promptreview.sources import safe_load
from promptreview.sources.schemas import make_validator
from promptreview.vocabulary import (
    CallFailureKind,
    FailureReasonKind,
    FinishReason,
    Outcome,
    ParseFailureKind,
    Side,
    ToolOutcome,
)

# Refusals a model writes as text instead of signalling them. Only checked on text that is not JSON, so a
# JSON summary that quotes "I can't log in" is never mistaken for a refusal.
_REFUSAL_TEXT = re.compile(
    r"^\W*(?:i'?m sorry|i am sorry|sorry,|i apologi[sz]e|unfortunately,? i)"
    r"|\bi (?:can(?:no|')t|cannot|won'?t|am unable to|am not able to|'m unable to|'m not able to)"
    r" (?:help|assist|comply|provide|fulfil|fulfill|do that|share|process|answer|support)",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n(.*?)\n?```\s*$", re.DOTALL)


# -- why a completion is not ok: a closed set of reasons, each with its own data ---------------------------
# Code reads the fields; `detail` is the sentence an example shows, `label` the key it is counted under in the
# report's `failure_details` (docs/architecture.md). Neither is ever parsed back.


@dataclass(frozen=True)
class EmptyAnswer:
    """No text at all."""

    finish_reason: FinishReason | None  # `length`: max_tokens ran out before any output
    kind: ClassVar[FailureReasonKind] = "empty"

    @property
    def detail(self) -> str:
        if self.finish_reason == "length":
            return "empty response (finish_reason=length: max_tokens reached before any output)"
        return "empty response"

    @property
    def label(self) -> str:
        return "empty response (finish_reason=length)" if self.finish_reason == "length" else "empty response"


@dataclass(frozen=True)
class InvalidJSON:
    """Text the strict JSON parser rejects: the decoder's own message and where it stopped."""

    message: str  # json.JSONDecodeError.msg, e.g. "Expecting value"
    line: int
    column: int
    shape: ParseFailureKind = "not_json"  # what the text looks like: what would fix it (`json_shape`)
    kind: ClassVar[FailureReasonKind] = "invalid_json"

    @property
    def detail(self) -> str:
        return f"not JSON: {self.message} at line {self.line} column {self.column}"

    @property
    def label(self) -> str:
        return self.message


@dataclass(frozen=True)
class Truncated:
    """JSON that does not parse because the answer was cut off at max_tokens (finish_reason=length)."""

    parse: InvalidJSON
    kind: ClassVar[FailureReasonKind] = "truncated"

    @property
    def detail(self) -> str:
        return f"truncated: finish_reason=length (max_tokens reached); {self.parse.detail}"

    @property
    def label(self) -> str:
        return "truncated (finish_reason=length)"


@dataclass(frozen=True)
class SchemaViolation:
    """JSON the schema rejects: the path of the failing value (empty: the root) and the validator's message."""

    path: tuple[str | int, ...]
    message: str
    kind: ClassVar[FailureReasonKind] = "schema"

    @property
    def where(self) -> str:
        return "/".join(str(p) for p in self.path) or "(root)"

    @property
    def detail(self) -> str:
        return f"{self.where}: {self.message}"

    @property
    def label(self) -> str:
        return self.where[:80]


@dataclass(frozen=True)
class ProviderRefusal:
    """The provider's own refusal signal (OpenAI `message.refusal`, Anthropic `stop_reason: refusal`)."""

    text: str
    kind: ClassVar[FailureReasonKind] = "provider_refusal"

    @property
    def detail(self) -> str:
        return f"provider refusal: {self.text}"

    @property
    def label(self) -> str:
        return "provider refusal"


@dataclass(frozen=True)
class RefusingFinish:
    """A finish reason that means the model would not answer: `refusal` or `content_filter`."""

    finish_reason: Literal["refusal", "content_filter"]
    kind: ClassVar[FailureReasonKind] = "finish_reason"

    @property
    def detail(self) -> str:
        return f"finish_reason={self.finish_reason}"

    @property
    def label(self) -> str:
        return self.detail


@dataclass(frozen=True)
class TextRefusal:
    """A refusal the model wrote as text instead of signalling it."""

    kind: ClassVar[FailureReasonKind] = "text_refusal"

    @property
    def detail(self) -> str:
        return "refusal in text"

    @property
    def label(self) -> str:
        return "refusal in text"


# How a failed call is counted: by what failed, never by who said so (a server's name is not a reason)
_CALL_FAILURE_LABELS: dict[CallFailureKind, str] = {
    "http_status": "HTTP error",  # with its status when the server sent one: "HTTP 500"
    "timeout": "timeout",
    "connection": "connection error",
    "unreadable_response": "unreadable response",
    "invalid_response": "invalid response",
    "invalid_url": "invalid URL",
    "model_unavailable": "model unavailable",
}


@dataclass(frozen=True)
class CallFailed:
    """No answer: the call failed after its retries (`failure`: its last attempt's failure)."""

    failure: CallFailure | None
    kind: ClassVar[FailureReasonKind] = "call_failed"

    @property
    def detail(self) -> str:
        return self.failure.message if self.failure is not None else "no response"

    @property
    def label(self) -> str:
        failure = self.failure
        if failure is None:
            return "no response"
        if failure.kind == "http_status" and failure.status is not None:
            return f"HTTP {failure.status}"
        return _CALL_FAILURE_LABELS[failure.kind]


Reason = (
    EmptyAnswer
    | InvalidJSON
    | Truncated
    | SchemaViolation
    | ProviderRefusal
    | RefusingFinish
    | TextRefusal
    | CallFailed
)


@dataclass(frozen=True, slots=True)
class Classification:
    """One completion's outcome."""

    outcome: Outcome
    output: Any = None  # the parsed JSON for ok / schema_violation
    reason: Reason | None = None  # why it is not ok (None when it is)
    answer: str | None = None  # text mode: the answer itself (whitespace-normalised), what flips compare
    tool: ToolOutcome | None = None  # a prompt with tools: the answer's tool fault, beside its outcome

    @property
    def detail(self) -> str | None:
        """Why, in a sentence: the JSON error, the schema error, the refusal signal, the call's failure."""
        return self.reason.detail if self.reason is not None else None


@dataclass(frozen=True, slots=True)
class ScoredCall:
    call: PlannedCall
    completion: Completion
    classification: Classification


def _signalled(completion: Completion) -> Classification | None:
    """What the call itself says, in either mode: no answer (an error), or a refusal the provider signalled."""
    response = completion.response
    if response is None:
        return Classification("error", reason=CallFailed(completion.error))
    if response.refusal:
        return Classification("refusal", reason=ProviderRefusal(response.refusal))
    if response.finish_reason in ("refusal", "content_filter"):
        return Classification("refusal", reason=RefusingFinish(response.finish_reason))
    return None


def classify_text(completion: Completion) -> Classification:
    """Text mode: an answer is `ok`, a `refusal` (signalled, or written as one) or an `error`; it is never
    parsed, so parse failures and schema violations do not exist here."""
    signalled = _signalled(completion)
    if signalled is not None:
        return signalled
    assert completion.response is not None  # a call without an answer was classified just above
    text = completion.response.text or ""
    if _REFUSAL_TEXT.search(text[:300]):
        return Classification("refusal", reason=TextRefusal())
    return Classification("ok", answer=" ".join(text.split()))


def classify(
    completion: Completion,
    validator: Validator | None,
    allow_fenced: bool = False,
    memo: dict[tuple[str, FinishReason | None], Classification] | None = None,
) -> Classification:
    signalled = _signalled(completion)
    if signalled is not None:
        return signalled
    response = completion.response
    assert response is not None  # a call without an answer was classified just above
    text = response.text or ""
    if not text.strip():
        return Classification("parse_failure", reason=EmptyAnswer(response.finish_reason))
    candidate = text
    if allow_fenced:
        fenced = _FENCE.match(text)
        if fenced:
            candidate = fenced.group(1)
    # the same text under the same schema always scores the same: repeated answers are parsed and validated once
    memo_key = (candidate, response.finish_reason)
    if memo is not None and memo_key in memo:
        return memo[memo_key]
    result = _classify_text(text, candidate, response.finish_reason, validator)
    if memo is not None:
        memo[memo_key] = result
    return result


def _classify_text(
    text: str, candidate: str, finish_reason: FinishReason | None, validator: Validator | None
) -> Classification:
    try:
        value = safe_load.load_json(candidate)  # bounded: a 5,000-deep answer is a parse failure, not a crash
    except safe_load.Unparsable as exc:
        if _REFUSAL_TEXT.search(text[:300]):
            return Classification("refusal", reason=TextRefusal())
        parse = InvalidJSON(exc.message, exc.line or 1, exc.column or 1, json_shape(text, candidate))
        return Classification(
            "parse_failure", reason=Truncated(parse) if finish_reason == "length" else parse
        )
    if validator is not None:
        try:
            error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        except RecursionError:  # within the parser's depth bound, under a schema that recurses deeply
            reason = SchemaViolation((), "nested too deeply to validate")
            return Classification("schema_violation", output=value, reason=reason)
        if error is not None:
            return Classification(
                "schema_violation",
                output=value,
                reason=SchemaViolation(tuple(error.absolute_path), error.message),
            )
    return Classification("ok", output=value)


_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def _parses(text: str) -> bool:
    try:
        safe_load.load_json(text)  # bounded, as the answer itself was: depth, long integers
    except safe_load.Unparsable:
        return False
    return True


def json_shape(text: str, candidate: str) -> ParseFailureKind:
    """What a text the strict parser rejected looks like, for its remedy: JSON in a ``` fence (when fences
    are not allowed), JSON with a trailing comma, JSON inside other text, or no JSON at all."""
    fenced = _FENCE.match(text)
    if candidate == text and fenced and _parses(fenced.group(1)):
        return "fenced"
    if _parses(_TRAILING_COMMA.sub(r"\1", candidate)):
        return "trailing_comma"
    start = min((i for i in (candidate.find("{"), candidate.find("[")) if i >= 0), default=-1)
    end = max(candidate.rfind("}"), candidate.rfind("]"))
    if 0 <= start < end:
        inner = candidate[start : end + 1]
        if _parses(inner) or _parses(_TRAILING_COMMA.sub(r"\1", inner)):
            return "wrapped"
    return "not_json"


def score_job(job: PromptJob, completions: list[Completion], allow_fenced: bool) -> list[ScoredCall]:
    """Classify `completions` (one per planned call of `job`, in the same order) against each side's schema;
    a prompt with tools, its tool calls too (`tool_calls.py`)."""
    scored = _score_answers(job, completions, allow_fenced)
    judge = tool_calls.judge(job)
    if judge is None:
        return scored
    out = []
    for s in scored:
        response = s.completion.response
        classification = s.classification
        if response is not None and response.tool_calls and classification.outcome != "refusal":
            # an answer that calls a tool is no malformed text: `ok`, its output the call
            classification = Classification(
                "ok",
                output=tool_calls.call_output(response.tool_calls),
                answer=tool_calls.call_answer(response.tool_calls),
            )
        fault = judge.outcome(s.call.side, s.call.input_id, response)
        if fault is not None:
            classification = replace(classification, tool=fault)
        out.append(ScoredCall(s.call, s.completion, classification))
    return out


def _score_answers(job: PromptJob, completions: list[Completion], allow_fenced: bool) -> list[ScoredCall]:
    if job.output_mode == "text":
        return [
            ScoredCall(call, completion, classify_text(completion))
            for call, completion in zip(job.calls, completions, strict=True)
        ]
    validators: dict[Side, Validator | None] = {}
    memos: dict[Side, dict[tuple[str, FinishReason | None], Classification]] = {}
    for side in job.sides:
        # both sides are judged by one schema (the base's): one validator, and one memo, so an answer both
        # sides gave is validated once
        twin = next((s for s in job.sides if s.name in validators and s.schema == side.schema), None)
        if twin is None:
            validators[side.name], memos[side.name] = make_validator(side.schema, side.template.path), {}
        else:
            validators[side.name], memos[side.name] = validators[twin.name], memos[twin.name]
    return [
        ScoredCall(
            call, completion, classify(completion, validators[call.side], allow_fenced, memos[call.side])
        )
        for call, completion in zip(job.calls, completions, strict=True)
    ]
