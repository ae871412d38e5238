"""`sim` model ids: `sim:<name>[?key=value&...]`, parsed and checked, with the overrides they carry."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from promptreview.errors import UsageError

OVERRIDES = ("parse_failure", "schema_violation", "refusal", "flip", "tool_unknown", "tool_invalid_json",
             "tool_invalid_arguments")  # fmt: skip
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


@dataclass(frozen=True)
class SimModel:
    """A parsed `sim:<name>[?key=value&...]` model id."""

    name: str
    overrides: Mapping[str, float] = field(default_factory=dict)


def model_name(model_id: str) -> str:
    """The name of a sim model id, without its overrides (`triage-v1?refusal=0.2` -> `triage-v1`): what the sim
    reports as served (`validate_model_id` parses and checks the whole id)."""
    return model_id.partition("?")[0]


def validate_model_id(model_id: str) -> SimModel:
    """Parse a sim model id; raise UsageError (one line) on a bad name or override."""
    name, sep, query = model_id.partition("?")
    where = f"sim model 'sim:{model_id}'"
    if not _NAME.match(name):
        raise UsageError(f"{where}: the name must be letters, digits, '.', '_' or '-' (e.g. sim:triage-v1)")
    overrides: dict[str, float] = {}
    for part in query.split("&") if sep else ():
        key, eq, raw = part.partition("=")
        if key not in OVERRIDES:
            raise UsageError(f"{where}: unknown override {key!r} (known: {', '.join(OVERRIDES)})")
        if key in overrides:
            raise UsageError(f"{where}: override {key!r} given twice")
        try:
            value = float(raw) if eq else math.nan
        except ValueError:
            value = math.nan
        if not 0.0 <= value <= 1.0:  # also false for nan
            raise UsageError(f"{where}: override {key} must be a number in [0, 1], not {raw!r}")
        overrides[key] = value
    outcome_total = sum(overrides.get(k, 0.0) for k in ("parse_failure", "schema_violation", "refusal"))
    if outcome_total > 1.0 + 1e-12:
        raise UsageError(f"{where}: parse_failure + schema_violation + refusal must not exceed 1")
    return SimModel(name=name, overrides=overrides)
