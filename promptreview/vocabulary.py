"""The closed sets every stage speaks, as types: a value outside its set is a type error, not a comment.

Each is a `Literal` of the words the JSON report, the config and the tests use, so a field typed with one
serialises as itself. The verdicts, which carry behaviour (severity, the mapping between levels), are enums
in `verdicts.py`. A leaf: it imports nothing of ours.
"""

from __future__ import annotations

from typing import Literal, get_args

Side = Literal["base", "head"]
"""One version of a prompt: the base commit's or the head's."""

Outcome = Literal["ok", "schema_violation", "parse_failure", "refusal", "error"]
"""What a completion came to: exactly one of these (docs/architecture.md)."""

RateOutcome = Literal["parse_failure", "schema_violation", "refusal"]
"""The outcomes whose rates are gated (`error` is counted apart, `ok` is the rest)."""

ChangeKind = Literal["modified", "added", "removed", "renamed"]
"""How a prompt file changed between base and head."""

OutputMode = Literal["json", "text"]
"""What a prompt's answers are scored as."""

ConfiguredOutputMode = Literal["json", "text", "auto"]
"""What a config entry may ask for (`auto`: decided from the prompt)."""

ShiftKind = Literal["categorical", "numeric", "length", "presence"]
"""The kind of an output field whose distribution is compared."""

CheckKind = Literal["expect", "string", "llm", "must_refuse"]
"""A quality check: an expected answer, a string evaluator, an LLM judge, refusals on must-refuse rows."""

CheckUnits = Literal["rate", "score"]
"""A quality check's measure: a pass rate in [0, 1], or a judge's mean score."""

ExpectMatch = Literal["exact", "contains", "regex", "number"]
"""How an expected answer is compared with the output field."""

SequentialReason = Literal["regression", "futility", "completed", "not applicable"]
"""Why a sequential review stopped where it did."""

Role = Literal["system", "developer", "user", "assistant"]
"""A chat message's role."""

CallFailureKind = Literal[
    "http_status", "timeout", "connection", "unreadable_response", "invalid_response", "invalid_url",
    "model_unavailable",
]  # fmt: skip
"""How a model call failed (`records.CallFailure`): the server answered with an error status; the request
timed out; the connection failed; the answer could not be read (a body that does not decode, too many
redirects); the server answered 2xx with a body we cannot use (not JSON, or without the answer); the base URL
cannot be used; the model is not there (Ollama: not pulled, or no longer the pinned digest)."""

FailureReasonKind = Literal[
    "empty", "truncated", "invalid_json", "schema", "provider_refusal", "finish_reason", "text_refusal",
    "call_failed",
]  # fmt: skip
"""Why a completion is not `ok` (`engine/measurement/outcomes.py`): an empty answer; JSON cut off at
max_tokens; JSON that does not parse; JSON the schema rejects; the provider's refusal signal; a refusing
finish reason (refusal, content_filter); a refusal written as text; the call failed after retries."""

RATE_OUTCOMES: tuple[RateOutcome, ...] = get_args(RateOutcome)
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
SIDES: tuple[Side, ...] = get_args(Side)
