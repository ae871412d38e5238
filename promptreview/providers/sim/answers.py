"""The answer `sim` gives before any failure is applied: a value shaped by the JSON Schema and chosen from the
input text by the keyword rules, stable across prompts and samples (only the wobble draws from the rng)."""

from __future__ import annotations

import hashlib
import math
import random
import re
from functools import lru_cache
from typing import Any

from promptreview.providers.sim import moderation
from promptreview.providers.sim.rules import (
    _CATCH_ALL,
    _ESCALATION,
    _FORMATS,
    _LABEL_KEYWORDS,
    LONG_INPUT_WORDS,
    SUMMARY_WORDS,
    JSONSchema,
)

_HEADER_LINE = re.compile(r"^\s*[^\W\d][\w .'-]{0,30}:\s*(?:\S+(?:\s+\S+){0,2})?\s*$")
_LEAD_LABEL = re.compile(r"^\s*[^\W\d][\w'-]{0,20}(?: [\w'-]+)?:\s+")


def _stable(*parts: str) -> float:
    """A number in [0, 1) fixed by `parts` alone: same input, same pick, whatever the prompt or sample."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@lru_cache(maxsize=512)
def _label_pattern(label: str) -> re.Pattern[str]:
    words = _LABEL_KEYWORDS.get(label.lower()) or moderation.KEYWORDS.get(label.lower())
    terms = (
        words.split(" ") if words else [w + "*" for w in re.split(r"[_\-\s]+", label.lower()) if len(w) >= 3]
    )
    prefixes: list[str] = []
    exact: list[str] = []
    plain: list[str] = []
    for term in terms or [label.lower()]:
        body = re.escape(term.rstrip("*"))
        (plain if not body.isascii() else prefixes if term.endswith("*") else exact).append(body)
    # one alternation per kind: far faster than one look-behind per keyword
    alts = [r"\b(?:" + "|".join(prefixes) + r")\w*"] if prefixes else []
    alts += [r"\b(?:" + "|".join(exact) + r")\b"] if exact else []
    return re.compile("|".join(alts + plain), re.I)


@lru_cache(maxsize=65536)
def _hits(label: str, text: str) -> int:
    """Keyword hits of `label` in `text` (cached: every input is asked about once per sample and side)."""
    return len(_label_pattern(label).findall(text))


def _ranked(values: list[Any], text: str, path: str) -> list[Any]:
    """Enum values best first: most keyword hits, then a catch-all value, then a stable hash of the input."""
    try:
        return list(_ranked_memo(tuple(values), text, path))
    except TypeError:  # an unhashable enum value (an object or a list): rank it afresh
        return _rank(values, text, path)


@lru_cache(maxsize=65536)
def _ranked_memo(values: tuple[Any, ...], text: str, path: str) -> tuple[Any, ...]:
    """The ranking is fixed by the input, so the K samples of an input (and both sides) share it."""
    return tuple(_rank(list(values), text, path))


def _rank(values: list[Any], text: str, path: str) -> list[Any]:

    def key(value: Any) -> tuple[int, int, float]:
        label = str(value)
        hits = _hits(label, text) if isinstance(value, str) and label else 0
        return (-hits, 0 if label.lower() in _CATCH_ALL else 1, _stable(path, label, text))

    return sorted(values, key=key)


@lru_cache(maxsize=65536)
def _escalates(text: str) -> bool:
    """An angry, urgent or legal tone, or a long message (asked once per input, not once per sample)."""
    return bool(_ESCALATION.search(text)) or len(text.split()) > LONG_INPUT_WORDS


@lru_cache(maxsize=65536)
def _summary(user_text: str) -> str:
    """The first words of the input, skipping short `Label: value` lines and a leading `Label:`."""
    lines = [ln for ln in user_text.splitlines() if ln.strip() and not _HEADER_LINE.match(ln)] or [user_text]
    words = " ".join(_LEAD_LABEL.sub("", ln, count=1) for ln in lines).split()
    return " ".join(words[:SUMMARY_WORDS])[:120].rstrip()


_RESOLVED: dict[tuple[int, int], tuple[Any, Any, JSONSchema]] = {}


class _Builder:
    """Builds one answer shaped by a JSON Schema from the input text."""

    def __init__(self, root: JSONSchema | None, text: str, rng: random.Random, wobble: float) -> None:
        self.root = root or {}
        self.text = text
        self.rng = rng
        self.wobble = wobble
        self.summary = _summary(text)

    def resolve(self, schema: Any) -> JSONSchema:
        """`schema` with its `$ref`, first non-null `anyOf`/`oneOf` option and `allOf` parts merged in. Kept per
        (root, schema) for the review: the same few subschemas are resolved for every answer (the result is
        only read, never changed)."""
        if not isinstance(schema, dict):
            return {}
        key = (id(self.root), id(schema))
        known = _RESOLVED.get(key)
        if known is not None and known[0] is self.root and known[1] is schema:
            return known[2]
        resolved = self._resolve(schema)
        if len(_RESOLVED) > 4096:
            _RESOLVED.clear()
        _RESOLVED[key] = (self.root, schema, resolved)  # holds both: their ids stay their own
        return resolved

    def _resolve(self, schema: JSONSchema) -> JSONSchema:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = (
                    target.get(part.replace("~1", "/").replace("~0", "~"), {})
                    if isinstance(target, dict)
                    else {}
                )
            schema = {**self.resolve(target), **{k: v for k, v in schema.items() if k != "$ref"}}
        for combo in ("anyOf", "oneOf"):
            options = [o for o in schema.get(combo, []) if isinstance(o, dict) and o.get("type") != "null"]
            if options:
                schema = {**{k: v for k, v in schema.items() if k != combo}, **self.resolve(options[0])}
        for part in schema.get("allOf", []):
            schema = {**schema, **self.resolve(part)}
        return schema

    def categorical(self, values: list[Any], path: str) -> Any:
        chosen = _ranked(values, self.text, path)[0]
        # always draw, so the stream of random numbers does not depend on the schema's enum sizes
        if self.rng.random() < self.wobble and len(values) > 1:
            chosen = self.rng.choice([v for v in values if v != chosen])
        return chosen

    def value(self, schema: Any, path: str = "$", index: int | None = None) -> Any:
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.categorical(list(schema["enum"]), path)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        if kind == "object":
            return self.object(schema, path)
        if kind == "array":
            return self.array(schema, path)
        if kind == "boolean":
            return self.boolean(path)
        if kind in ("integer", "number"):
            return self.number(schema, path, kind == "integer")
        if kind == "null":
            return None
        return self.string(schema, index)

    def object(self, schema: JSONSchema, path: str) -> dict[str, Any]:
        props: JSONSchema = schema["properties"] if isinstance(schema.get("properties"), dict) else {}
        out = {name: self.value(sub, f"{path}.{name}") for name, sub in props.items()}
        for name in schema.get("required", []):
            out.setdefault(name, self.summary)
        return out

    def array(self, schema: JSONSchema, path: str) -> list[Any]:
        items = self.resolve(schema.get("items"))
        n = 1 + int(_stable(path, self.text) * 3)
        n = max(n, int(schema.get("minItems", 0)))
        n = min(n, int(schema.get("maxItems", n)))
        if isinstance(items.get("enum"), list) and items["enum"]:
            ranked = _ranked(list(items["enum"]), self.text, path)
            return ranked[:n] if schema.get("uniqueItems") else [ranked[0]] * n
        return [self.value(items, f"{path}[{i}]", index=i) for i in range(n)]

    def boolean(self, path: str) -> bool:
        # true for an angry, urgent or legal tone or a long message; otherwise true for 1 input in 5
        base = _escalates(self.text)
        base = base or _stable(path, self.text) < 0.2
        return (not base) if self.rng.random() < self.wobble else base

    def number(self, schema: JSONSchema, path: str, integer: bool) -> int | float:
        lo = schema.get("minimum", schema.get("exclusiveMinimum"))
        hi = schema.get("maximum", schema.get("exclusiveMaximum"))
        span = 10 if integer else 1
        lo = lo if lo is not None else (hi - span if hi is not None else 0)
        hi = hi if hi is not None else lo + span
        u = _stable(path, self.text)
        if integer:
            low, high = math.ceil(lo), math.floor(hi)
            low += "exclusiveMinimum" in schema and low == schema["exclusiveMinimum"]
            high -= "exclusiveMaximum" in schema and high == schema["exclusiveMaximum"]
            return low + int(u * (max(high, low) - low + 1))
        return round(lo + (hi - lo) * (0.05 + 0.9 * u), 4)  # stays clear of exclusive bounds

    def string(self, schema: JSONSchema, index: int | None) -> str:
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        if index is None:
            text = self.summary
        else:  # list items: successive 3-word chunks of the input, so uniqueItems holds
            words = self.summary.split()
            text = " ".join(words[3 * index : 3 * index + 3]) or f"item {index + 1}"
        text = text or "n/a"
        if "maxLength" in schema:
            text = text[: int(schema["maxLength"])].rstrip() or text[: int(schema["maxLength"])]
        return text.ljust(int(schema.get("minLength", 0)), ".")
