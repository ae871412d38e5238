"""Classify every completion as exactly one outcome: ok, schema_violation, parse_failure, refusal or error."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import jsonschema

from promptreview.errors import UsageError
from promptreview.records import Completion

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
class Outcome:
    outcome: str
    output: Any = None  # the parsed JSON for ok / schema_violation
    detail: str | None = None  # why: the JSON error, the schema error, the refusal signal


def make_validator(schema: dict | None, where: str) -> jsonschema.protocols.Validator | None:
    if schema is None:
        return None
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise UsageError(f"{where}: not a valid JSON Schema at {path}: {exc.message}") from None
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def classify(completion: Completion, validator: Any | None, allow_fenced: bool = False) -> Outcome:
    if completion.response is None:
        return Outcome("error", detail=completion.error or "no response")
    response = completion.response
    if response.refusal:
        return Outcome("refusal", detail=f"provider refusal: {response.refusal}")
    if response.finish_reason in ("refusal", "content_filter"):
        return Outcome("refusal", detail=f"finish_reason={response.finish_reason}")
    text = response.text or ""
    if not text.strip():
        why = "empty response"
        if response.finish_reason == "length":
            why += " (finish_reason=length: max_tokens reached before any output)"
        return Outcome("parse_failure", detail=why)
    candidate = text
    if allow_fenced:
        fenced = _FENCE.match(text)
        if fenced:
            candidate = fenced.group(1)
    try:
        value = json.loads(candidate)
    except json.JSONDecodeError as exc:
        if _REFUSAL_TEXT.search(text[:300]):
            return Outcome("refusal", detail="refusal in text")
        why = f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        if response.finish_reason == "length":
            why = f"truncated: finish_reason=length (max_tokens reached); {why}"
        return Outcome("parse_failure", detail=why)
    if validator is not None:
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            path = "/".join(str(p) for p in error.absolute_path)
            return Outcome("schema_violation", output=value, detail=f"{path or '(root)'}: {error.message}")
    return Outcome("ok", output=value)
