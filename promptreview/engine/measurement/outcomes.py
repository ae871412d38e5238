"""Score the answers: every completion gets exactly one outcome (ok, schema_violation, parse_failure,
refusal or error), decided from the provider's signals, a strict JSON parse and the side's schema."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema.protocols import Validator

from promptreview.engine.jobs import PlannedCall, PromptJob
from promptreview.records import Completion
from promptreview.sources.schemas import make_validator
from promptreview.vocabulary import FinishReason, Outcome, Side

# Refusals a model writes as text instead of signalling them. Only checked on text that is not JSON, so a
# JSON summary that quotes "I can't log in" is never mistaken for a refusal.
_REFUSAL_TEXT = re.compile(
    r"^\W*(?:i'?m sorry|i am sorry|sorry,|i apologi[sz]e|unfortunately,? i)"
    r"|\bi (?:can(?:no|')t|cannot|won'?t|am unable to|am not able to|'m unable to|'m not able to)"
    r" (?:help|assist|comply|provide|fulfil|fulfill|do that|share|process|answer|support)",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n(.*?)\n?```\s*$", re.DOTALL)


@dataclass(frozen=True)
class Classification:
    """One completion's outcome."""

    outcome: Outcome
    output: Any = None  # the parsed JSON for ok / schema_violation
    detail: str | None = None  # why: the JSON error, the schema error, the refusal signal
    answer: str | None = None  # text mode: the answer itself (whitespace-normalised), what flips compare


@dataclass(frozen=True)
class ScoredCall:
    call: PlannedCall
    completion: Completion
    classification: Classification


def _signalled(completion: Completion) -> Classification | None:
    """What the call itself says, in either mode: no answer (an error), or a refusal the provider signalled."""
    response = completion.response
    if response is None:
        return Classification("error", detail=completion.error or "no response")
    if response.refusal:
        return Classification("refusal", detail=f"provider refusal: {response.refusal}")
    if response.finish_reason in ("refusal", "content_filter"):
        return Classification("refusal", detail=f"finish_reason={response.finish_reason}")
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
        return Classification("refusal", detail="refusal in text")
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
        why = "empty response"
        if response.finish_reason == "length":
            why += " (finish_reason=length: max_tokens reached before any output)"
        return Classification("parse_failure", detail=why)
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
        value = json.loads(candidate)
    except json.JSONDecodeError as exc:
        if _REFUSAL_TEXT.search(text[:300]):
            return Classification("refusal", detail="refusal in text")
        why = f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        if finish_reason == "length":
            why = f"truncated: finish_reason=length (max_tokens reached); {why}"
        return Classification("parse_failure", detail=why)
    if validator is not None:
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            path = "/".join(str(p) for p in error.absolute_path)
            return Classification(
                "schema_violation", output=value, detail=f"{path or '(root)'}: {error.message}"
            )
    return Classification("ok", output=value)


def score_job(job: PromptJob, completions: list[Completion], allow_fenced: bool) -> list[ScoredCall]:
    """Classify `completions` (one per planned call of `job`, in the same order) against each side's schema."""
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
