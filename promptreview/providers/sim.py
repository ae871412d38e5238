"""`sim`: the embedded offline model. Deterministic, schema-shaped answers that react to prompt wording.

It exists so the demo and the tests run with no network and no key, and so a reader can explain every shift
it produces: the rules (and their rates) are written down in docs/sim.md; keep the two in step.

One completion = one `random.Random` seeded from the request's cache key (model, messages, params, schema,
sample index). At temperature 0 the sample index is left out, as a greedy decoder would answer the same way
every time. Labels are chosen from the input by keyword (stable across prompts and samples), so two prompt
versions disagree only through the wording-driven failure rates and the temperature noise.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import httpx
import jsonschema

from promptreview.errors import UsageError
from promptreview.providers.base import PinStatus
from promptreview.records import CompletionRequest, ProviderResponse, Usage

OVERRIDES = ("parse_failure", "schema_violation", "refusal", "flip")
REFUSAL_TEXT = "I'm sorry, but I can't help with that request."

# The documented rates (docs/sim.md).
LOOSE_PARSE_FAILURE = 0.12  # JSON expected, but the prompt does not insist on strict JSON
SPELLED_OUT_SCHEMA_VIOLATION = 0.01  # every enum value is listed in the prompt
DEFAULT_SCHEMA_VIOLATION = 0.08
SENSITIVE_REFUSAL = 0.7
WOBBLE_PER_TEMPERATURE = 0.05  # chance a categorical choice moves to another value, per unit of temperature
DEFAULT_TEMPERATURE = 1.0  # what the hosted APIs assume when no temperature is sent
SUMMARY_WORDS = 12
LONG_INPUT_WORDS = 120

_STRICT = re.compile(
    r"\bstrictly valid json\b|\bonly valid json\b|\bvalid json only\b|\bjson only\b|\bonly json\b"
    r"|\b(?:output|return|respond with) only (?:valid )?json\b"
    r"|\bno prose\b|\bno markdown\b|\bno code ?fences?\b|\bwithout (?:any )?(?:prose|markdown|code ?fences?)\b",
    re.I,
)
_JSON = re.compile(r"\bjson\b", re.I)
_NEVER_REFUSE = re.compile(r"\bnever refuse\b|\balways answer\b|\bdo not refuse\b|\bdon't refuse\b", re.I)
_SENSITIVE = re.compile(
    # someone else's credentials
    r"\b(?:password|credentials|login details|login)s? (?:of|for|to) (?:another|someone|somebody|other"
    r"|my (?:ex|wife|husband|boss|partner|colleague|coworker|neighbou?r))"
    r"|\b(?:ex|ex-wife|ex-husband|ex-girlfriend|ex-boyfriend|wife|husband|boss|partner|colleague|coworker"
    r"|neighbou?r|someone else|another user|another customer)(?:'s|s')? (?:account )?"
    r"(?:password|credentials|login details|login)\b"
    r"|\b(?:admin|administrator|root) password\b"
    r"|\b(?:card numbers|personal data|home address(?:es)?) (?:of|for) (?:other|another|all|your) (?:customers|users)\b"
    # hacking and exploits
    r"|\bhack(?:ing)? into\b|\bhow (?:do i|to|can i) hack\b|\bexploit\b|\bsql injection\b|\bddos\b|\bmalware\b"
    r"|\bbypass(?:ing)? (?:the )?(?:2fa|two-factor|authentication|security|login|paywall)"
    # self-harm
    r"|\bkill myself\b|\bsuicid\w*|\bself[- ]harm\b|\bhurt myself\b|\bend my life\b"
    # weapons
    r"|\b(?:weapon|bomb|explosive|firearm|gun|ammunition)s?\b",
    re.I,
)
_ESCALATION = re.compile(
    r"(?<!\w)(?:lawyer\w*|legal|sue|court|unacceptable|furious|angry|ridiculous|worst|complain\w*|chargeback\w*"
    r"|urgent\w*|immediately|asap|emergency|cancel\w*|gdpr)(?!\w)|!!!",
    re.I,
)

# label -> keywords; `word*` matches any word starting with `word`. A label not listed here is matched by its
# own name (split on `_`/`-`). Non-ASCII keywords match as plain substrings (no word breaks in Japanese).
_LABEL_KEYWORDS = {
    "billing": "bill* invoice* charg* refund* payment* pay paid subscription* price* pricing receipt* vat"
    " overcharg* renew* discount* coupon* plan upgrade* downgrade* rechnung* abbuchung* facture* factur*"
    " rembours* factura* cobro* reembolso* 請求 返金",
    "technical": "error* bug* crash* broken fail* timeout* slow api sync* app install* integration* webhook*"
    " outage* down glitch* freez* load* 500 502 fehler* absturz* erreur* plante bloqué エラー",
    "account": "account* password* login log sign username* profile* locked 2fa two-factor sso permission*"
    " seat* verif* konto* passwort* compte* contraseña* cuenta* パスワード アカウント",
    "shipping": "ship* deliver* package* parcel* tracking courier* order* arriv* damaged carrier* warehouse*"
    " dispatch* lieferung* paket* geliefert livraison* colis* livré envío* pedido* paquete* 配送 荷物 届",
    "other": "feedback* suggest* partner* press compliment* hiring job* career* feature* idea* survey*",
    "low": "question* wonder* curious* feedback* suggest* feature* idea* minor typo* no rush whenever",
    "medium": "issue* problem* confus* help",
    "high": "cannot can't unable broken fail* wrong* missing lost twice overcharg* refund* locked",
    "urgent": "urgent* asap immediately emergency outage* critical production right now lawyer* legal"
    " chargeback* dringend* urgente* 至急 緊急",
}
# catch-all values win a tie (so they are the pick when no keyword matches); other ties: a stable hash
_CATCH_ALL = frozenset({"other", "none", "unknown", "general", "misc", "medium", "normal", "neutral"})
_DEFAULT_LABELS = ("billing", "technical", "account", "shipping", "other")
# realistic wrong labels for a schema violation; unknown values get `<value>_issue` / `<Value>`
_INVENTED = {
    "billing": ("billing_issue", "payments", "Billing"),
    "technical": ("technical_issue", "tech_support", "bug"),
    "account": ("account_access", "login", "Account"),
    "shipping": ("delivery", "shipping_issue", "Shipping"),
    "other": ("general", "misc", "Other"),
    "low": ("Low", "minor"),
    "medium": ("normal", "Medium"),
    "high": ("High", "important"),
    "urgent": ("critical", "URGENT"),
}
_FORMATS = {
    "date": "2024-05-01",
    "date-time": "2024-05-01T12:00:00Z",
    "email": "customer@example.com",
    "uri": "https://example.com/",
}
_HEADER_LINE = re.compile(r"^\s*[^\W\d][\w .'-]{0,30}:\s*(?:\S+(?:\s+\S+){0,2})?\s*$")
_LEAD_LABEL = re.compile(r"^\s*[^\W\d][\w'-]{0,20}(?: [\w'-]+)?:\s+")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


@dataclass(frozen=True)
class SimModel:
    """A parsed `sim:<name>[?key=value&...]` model id."""

    name: str
    overrides: Mapping[str, float] = field(default_factory=dict)


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


def _stable(*parts: str) -> float:
    """A number in [0, 1) fixed by `parts` alone: same input, same pick, whatever the prompt or sample."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@lru_cache(maxsize=512)
def _label_pattern(label: str) -> re.Pattern[str]:
    words = _LABEL_KEYWORDS.get(label.lower())
    terms = (
        words.split(" ") if words else [w + "*" for w in re.split(r"[_\-\s]+", label.lower()) if len(w) >= 3]
    )
    prefixes, exact, plain = [], [], []
    for term in terms or [label.lower()]:
        body = re.escape(term.rstrip("*"))
        (plain if not body.isascii() else prefixes if term.endswith("*") else exact).append(body)
    # one alternation per kind: far faster than one look-behind per keyword
    alts = [r"\b(?:" + "|".join(prefixes) + r")\w*"] if prefixes else []
    alts += [r"\b(?:" + "|".join(exact) + r")\b"] if exact else []
    return re.compile("|".join(alts + plain), re.I)


@lru_cache(maxsize=8192)
def _hits(label: str, text: str) -> int:
    """Keyword hits of `label` in `text` (cached: every input is asked about once per sample and side)."""
    return len(_label_pattern(label).findall(text))


def _ranked(values: list[Any], text: str, path: str) -> list[Any]:
    """Enum values best first: most keyword hits, then a catch-all value, then a stable hash of the input."""

    def key(value: Any) -> tuple[int, int, float]:
        label = str(value)
        hits = _hits(label, text) if isinstance(value, str) and label else 0
        return (-hits, 0 if label.lower() in _CATCH_ALL else 1, _stable(path, label, text))

    return sorted(values, key=key)


def _summary(user_text: str) -> str:
    """The first words of the input, skipping short `Label: value` lines and a leading `Label:`."""
    lines = [ln for ln in user_text.splitlines() if ln.strip() and not _HEADER_LINE.match(ln)] or [user_text]
    words = " ".join(_LEAD_LABEL.sub("", ln, count=1) for ln in lines).split()
    return " ".join(words[:SUMMARY_WORDS])[:120].rstrip()


class _Builder:
    """Builds one answer shaped by a JSON Schema from the input text."""

    def __init__(self, root: dict | None, text: str, rng: random.Random, wobble: float) -> None:
        self.root = root or {}
        self.text = text
        self.rng = rng
        self.wobble = wobble
        self.summary = _summary(text)

    def resolve(self, schema: Any) -> dict:
        if not isinstance(schema, dict):
            return {}
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

    def object(self, schema: dict, path: str) -> dict:
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        out = {name: self.value(sub, f"{path}.{name}") for name, sub in props.items()}
        for name in schema.get("required", []):
            out.setdefault(name, self.summary)
        return out

    def array(self, schema: dict, path: str) -> list:
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
        base = bool(_ESCALATION.search(self.text)) or len(self.text.split()) > LONG_INPUT_WORDS
        base = base or _stable(path, self.text) < 0.2
        return (not base) if self.rng.random() < self.wobble else base

    def number(self, schema: dict, path: str, integer: bool) -> int | float:
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

    def string(self, schema: dict, index: int | None) -> str:
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


def _is_valid(value: Any, schema: dict) -> bool:
    return jsonschema.validators.validator_for(schema)(schema).is_valid(value)


def _violate(value: Any, schema: dict, rng: random.Random) -> Any | None:
    """A copy of `value` that breaks `schema`: an invented label or a missing required field (else None)."""
    props = schema.get("properties", {}) if isinstance(value, dict) else {}
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


def _malformed(value: Any, rng: random.Random) -> tuple[str, str]:
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


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _rates(
    model: SimModel, schema: dict | None, prompt: str, text: str, json_mode: bool, structured: bool = False
) -> list[float]:
    """Per-completion probabilities of [refusal, parse_failure, schema_violation].

    `structured`: the schema went on the wire as structured output, which constrains decoding the way a real
    provider's strict mode does: no malformed JSON and no schema violations (overrides still apply).

    Wording rates are conditional (parse failures among answers, violations among parsed answers); an
    override is the marginal rate itself, and the wording-driven rates shrink to fit beside it.
    """
    ov = model.overrides
    refusal = SENSITIVE_REFUSAL if _SENSITIVE.search(text) and not _NEVER_REFUSE.search(prompt) else 0.0
    loose = 0.0 if (structured or _STRICT.search(prompt) or not json_mode) else LOOSE_PARSE_FAILURE
    enums = [s["enum"] for s in _enum_schemas(schema)] if schema else []
    spelled_out = all(_word(str(v)).search(prompt) for e in enums for v in e)
    violation = (SPELLED_OUT_SCHEMA_VIOLATION if spelled_out else DEFAULT_SCHEMA_VIOLATION) if schema else 0.0
    if structured:
        violation = 0.0
    r = ov.get("refusal", refusal)
    p = ov.get("parse_failure", loose * (1 - r))
    s = ov.get("schema_violation", violation * (1 - r - p))
    rates = {"refusal": r, "parse_failure": p, "schema_violation": s}
    fixed = sum(v for k, v in rates.items() if k in ov)
    free = sum(v for k, v in rates.items() if k not in ov)
    if fixed + free > 1 and free > 0:
        for k in rates:
            if k not in ov:
                rates[k] *= (1 - fixed) / free
    return [rates["refusal"], rates["parse_failure"], rates["schema_violation"]]


@lru_cache(maxsize=512)
def _word(value: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.I)


def _enum_schemas(schema: Any) -> list[dict]:
    """Every subschema with an `enum`, anywhere in the schema."""
    if isinstance(schema, list):
        return [e for item in schema for e in _enum_schemas(item)]
    if not isinstance(schema, dict):
        return []
    own = [schema] if isinstance(schema.get("enum"), list) else []
    return own + [e for k, v in schema.items() if k != "enum" for e in _enum_schemas(v)]


def simulate(request: CompletionRequest, model: SimModel) -> ProviderResponse:
    """The sim's answer to one request (pure: no I/O, same request -> same response)."""
    params = request.params_dict
    raw_temperature = params.get("temperature")
    temperature = DEFAULT_TEMPERATURE if raw_temperature is None else float(raw_temperature)
    seed_request = replace(request, sample_index=0) if temperature == 0 else request
    rng = random.Random(int(seed_request.cache_key(), 16))
    prompt = "\n".join(m.content for m in request.messages if m.role in ("system", "developer", "user"))
    text = "\n".join(m.content for m in request.messages if m.role == "user")
    # shaped by the schema on the wire, else by the one outputs will be validated against (config `schema:`)
    schema = request.response_schema if request.response_schema is not None else request.expected_schema
    ov = model.overrides
    json_mode = bool(
        schema is not None or _JSON.search(prompt) or "parse_failure" in ov or "schema_violation" in ov
    )
    wobble = ov.get("flip", min(1.0, WOBBLE_PER_TEMPERATURE * max(temperature, 0.0)))
    served = model.name

    def usage(answer: str) -> Usage:
        return Usage(
            prompt_tokens=_tokens("".join(m.content for m in request.messages)),
            completion_tokens=_tokens(answer),
        )

    u = rng.random()
    structured = request.response_schema is not None
    refusal, parse_failure, violation = _rates(model, schema, prompt, text, json_mode, structured)
    if u < refusal:
        signalled = rng.random() < 0.5  # half as the provider's refusal field, half only in the text
        return ProviderResponse(
            text=REFUSAL_TEXT,
            refusal=REFUSAL_TEXT if signalled else None,
            finish_reason="stop",
            served_model=served,
            usage=usage(REFUSAL_TEXT),
        )
    builder = _Builder(schema, text, rng, wobble)
    if schema is not None:
        value = builder.value(schema)
    else:
        value = {"label": builder.categorical(list(_DEFAULT_LABELS), "$.label"), "summary": builder.summary}
    finish = "stop"
    if not json_mode:
        answer = f"I'd file this under {value['label']}. In short: {value['summary']}"
    elif u < refusal + parse_failure:
        answer, finish = _malformed(value, rng)
    else:
        if u < refusal + parse_failure + violation and schema is not None:
            bad = _violate(value, schema, rng)
            value = value if bad is None else bad
        answer = json.dumps(value, ensure_ascii=False)
    max_tokens = params.get("max_tokens")
    if isinstance(max_tokens, int) and _tokens(answer) > max_tokens:  # the answer runs out of room
        answer, finish = answer[: max_tokens * 4], "length"
    return ProviderResponse(text=answer, finish_reason=finish, served_model=served, usage=usage(answer))


class SimProvider:
    """The Provider protocol over `simulate`."""

    name = "sim"
    key_env_var: str | None = None
    notes: list[str] = []

    def require_credentials(self) -> None:
        """The simulator needs no key."""

    def pin_status(self, model_id: str) -> PinStatus:
        return "pinned"  # the simulator is versioned with the package

    def pinned_suggestions(self, model_id: str) -> list[str]:
        return []

    async def complete(self, request: CompletionRequest, client: httpx.AsyncClient) -> ProviderResponse:
        return simulate(request, validate_model_id(request.model.model))


def create(env: Mapping[str, str]) -> SimProvider:
    return SimProvider()
