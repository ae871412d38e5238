"""`sim`: the embedded offline model. Deterministic, schema-shaped answers that react to prompt wording.

It exists so the demo and the tests run with no network and no key, and so a reader can explain every shift
it produces: the rules (and their rates) are written down in docs/sim.md; keep the two in step.

One completion = one `random.Random` seeded from the request's cache key (model, messages, params, schema,
sample index). At temperature 0 the sample index is left out, as a greedy decoder would answer the same way
every time. Labels are chosen from the input by keyword (stable across prompts and samples), so two prompt
versions disagree only through the wording-driven failure rates and the temperature noise.

| module | holds |
|---|---|
| `model_id` | `sim:<name>[?overrides]`: `SimModel`, `validate_model_id` |
| `rules` | every documented rate, trigger, keyword table and example value, and `_rates` |
| `answers` | the schema-shaped answer chosen from the input (`_Builder`) |
| `failures` | the forms a schema violation and malformed JSON take |
| `provider` | `simulate` (one request, one seeded draw) and `SimProvider` / `create` |

The constants, the rule regexes and `_rates` that the tests and benchmarks reach as `sim.<name>` are
re-exported here.
"""

from __future__ import annotations

from promptreview.providers.sim.model_id import OVERRIDES, SimModel, validate_model_id
from promptreview.providers.sim.provider import SimProvider, create, simulate
from promptreview.providers.sim.rules import (
    _ESCALATION,
    _JSON,
    _NEVER_REFUSE,
    _SENSITIVE,
    _STRICT,
    DEFAULT_SCHEMA_VIOLATION,
    DEFAULT_TEMPERATURE,
    LONG_INPUT_WORDS,
    LOOSE_PARSE_FAILURE,
    REFUSAL_TEXT,
    SENSITIVE_REFUSAL,
    SPELLED_OUT_SCHEMA_VIOLATION,
    SUMMARY_WORDS,
    WOBBLE_PER_TEMPERATURE,
    _rates,
)
from promptreview.records import CompletionRequest, ProviderResponse, Usage

__all__ = [
    "DEFAULT_SCHEMA_VIOLATION",
    "DEFAULT_TEMPERATURE",
    "LONG_INPUT_WORDS",
    "LOOSE_PARSE_FAILURE",
    "OVERRIDES",
    "REFUSAL_TEXT",
    "SENSITIVE_REFUSAL",
    "SPELLED_OUT_SCHEMA_VIOLATION",
    "SUMMARY_WORDS",
    "WOBBLE_PER_TEMPERATURE",
    "CompletionRequest",
    "ProviderResponse",
    "SimModel",
    "SimProvider",
    "Usage",
    "create",
    "simulate",
    "validate_model_id",
    "_ESCALATION",
    "_JSON",
    "_NEVER_REFUSE",
    "_SENSITIVE",
    "_STRICT",
    "_rates",
]
