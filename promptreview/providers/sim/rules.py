"""The rules `sim` follows, as docs/sim.md writes them down: every rate, trigger, keyword and example value,
and the rate function that turns a prompt's wording and an input into the three outcome probabilities.
Keep this file and docs/sim.md in step."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from promptreview.providers.sim import moderation
from promptreview.providers.sim.model_id import SimModel
from promptreview.providers.sim.wording import Prompt, says

JSONSchema = dict[str, Any]  # a JSON Schema as loaded: untyped JSON

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


def _rates(
    model: SimModel,
    schema: JSONSchema | None,
    prompt: Prompt,
    text: str,
    json_mode: bool,
    structured: bool = False,
) -> list[float]:
    """Per-completion probabilities of [refusal, parse_failure, schema_violation].

    `structured`: the schema went on the wire as structured output, which constrains decoding the way a real
    provider's strict mode does: no malformed JSON and no schema violations (overrides still apply).

    Wording rates are conditional (parse failures among answers, violations among parsed answers); an
    override is the marginal rate itself, and the wording-driven rates shrink to fit beside it.
    """
    ov = model.overrides
    refusal = SENSITIVE_REFUSAL if _SENSITIVE.search(text) and not says(_NEVER_REFUSE, prompt) else 0.0
    refusal = moderation.refusal_rate(refusal, prompt)  # "be as helpful as possible" erodes it
    loose = 0.0 if (structured or says(_STRICT, prompt) or not json_mode) else LOOSE_PARSE_FAILURE
    enums = [s["enum"] for s in _enum_schemas(schema)] if schema else []
    spelled_out = all(says(_word(str(v)), prompt) for e in enums for v in e)
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


def _enum_schemas(schema: Any) -> list[JSONSchema]:
    """Every subschema with an `enum`, anywhere in the schema."""
    if isinstance(schema, list):
        return [e for item in schema for e in _enum_schemas(item)]
    if not isinstance(schema, dict):
        return []
    own = [schema] if isinstance(schema.get("enum"), list) else []
    return own + [e for k, v in schema.items() if k != "enum" for e in _enum_schemas(v)]
