"""How `sim` breaks an answer: a schema violation (an invented label, a missing field, ...) or malformed JSON."""

from __future__ import annotations

import json
import random
from typing import Any

import jsonschema

from promptreview.providers.sim.rules import _INVENTED, JSONSchema
from promptreview.vocabulary import FinishReason


def _is_valid(value: Any, schema: JSONSchema) -> bool:
    return jsonschema.validators.validator_for(schema)(schema).is_valid(value)


def _violate(value: Any, schema: JSONSchema, rng: random.Random) -> Any | None:
    """A copy of `value` that breaks `schema`: an invented label or a missing required field (else None)."""
    props: JSONSchema = schema.get("properties", {}) if isinstance(value, dict) else {}
    labels = [
        k for k, v in props.items() if isinstance(v, dict) and isinstance(v.get("enum"), list) and k in value
    ]
    missing = [k for k in schema.get("required", []) if isinstance(value, dict) and k in value]
    kinds = [k for k, keys in (("label", labels), ("missing", missing)) if keys]
    if not isinstance(value, dict) and isinstance(schema.get("enum"), list):
        kinds = ["root_label"]
    attempts = []
    if kinds:
        kind = rng.choice(kinds)
        attempts.append(
            (kind, rng.choice(labels if kind == "label" else missing) if kind != "root_label" else None)
        )
    attempts += [("extra", None), ("type", None)]  # fallbacks for schemas the first try does not break
    candidate: Any  # the broken answer: any JSON value
    for kind, key in attempts:
        if kind in ("label", "root_label"):
            enum = (props[key] if key else schema)["enum"]
            current = value[key] if key else value
            options = [
                x for x in _INVENTED.get(str(current).lower(), (f"{current}_issue", str(current).title()))
            ]
            options = [x for x in options if x not in enum] or [f"{current}_other"]
            bad = rng.choice(options)
            candidate = {**value, key: bad} if key else bad
        elif kind == "missing":
            candidate = {k: v for k, v in value.items() if k != key}
        elif kind == "extra":
            candidate = {**value, "note": "added by the model"} if isinstance(value, dict) else [value]
        else:
            candidate = 12345 if isinstance(value, str) else "n/a"
        if not _is_valid(candidate, schema):
            return candidate
    return None


def _malformed(value: Any, rng: random.Random) -> tuple[str, FinishReason]:
    """A realistic broken rendering of `value`: (text, finish_reason). json.loads fails on every one."""
    compact = json.dumps(value, ensure_ascii=False)
    forms = ["fence", "preamble"]
    if isinstance(value, (dict, list)) and value:  # a cut scalar can still parse, so only containers
        forms += ["trailing_comma", "truncated"]
    form = rng.choice(forms)
    if form == "fence":
        return "```json\n" + json.dumps(value, ensure_ascii=False, indent=2) + "\n```", "stop"
    if form == "preamble":
        return "Sure! Here is the JSON:\n" + compact, "stop"
    if form == "trailing_comma":
        return compact[:-1] + ",\n" + compact[-1], "stop"
    cut = max(1, int(len(compact) * rng.uniform(0.4, 0.85)))
    return compact[:cut], "length"
