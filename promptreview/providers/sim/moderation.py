"""The sim's moderation rules, as docs/sim.md writes them down ("Moderation rules"): keywords for moderation
labels, "be helpful" wording that erodes refusals of sensitive requests, and "benefit of the doubt" wording
that moves `review` to `allow`. They drive `promptreview/sample_suites/content_moderation/`.

Hooked into the sim in three places: `rules._rates` (the refusal rate), `answers._label_pattern` (keywords of
labels the support table lacks) and `provider.simulate` (the lenient relabelling). Keep this file and
docs/sim.md in step.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from promptreview.providers.sim.wording import Prompt, says

# The documented rates (docs/sim.md).
HELPFUL_REFUSAL = 0.15  # refusal rate of a sensitive input when the prompt asks to be as helpful as possible
LENIENT_SHIFT = 0.6  # share of inputs whose `review` becomes `allow` under benefit-of-the-doubt wording

_HELPFUL = re.compile(
    r"\bas helpful as possible\b|\balways be helpful\b|\bhelp with (?:any|every)thing\b"
    r"|\bnever turn (?:anyone|users?|people) away\b",
    re.I,
)
_LENIENT = re.compile(r"\bbenefit of the doubt\b|\berr on the side of allowing\b", re.I)

# moderation labels -> keywords (`word*`: any word starting with `word`), used when the support table has none
KEYWORDS = {
    "allow": "thank* question* recipe* weather* meeting* hello* schedul* lunch* weekend* photo* birthday*"
    " congrat* welcome*",
    "safe": "thank* question* recipe* weather* meeting* hello* schedul* lunch* weekend* photo* birthday*"
    " congrat* welcome*",
    "review": "annoy* rude* sarcas* heated* dumb* ridiculous* ugh* whatever* clueless* lame*",
    "harassment": "annoy* rude* sarcas* heated* dumb* ridiculous* ugh* whatever* clueless* lame*",
    "block": "buy* cheap* click* winner* prize* crypto* giveaway* casino* pills*",
    "spam": "buy* cheap* click* winner* prize* crypto* giveaway* casino* pills*",
    "fraud": "wire* giftcard* inheritance* lottery*",
}


def refusal_rate(rate: float, prompt: Prompt) -> float:
    """A sensitive input's refusal rate under "be as helpful as possible" wording drops to HELPFUL_REFUSAL."""
    return min(rate, HELPFUL_REFUSAL) if rate > 0 and says(_HELPFUL, prompt) else rate


def lenient(value: Any, schema: Any, prompt: Prompt, text: str) -> Any:
    """Under benefit-of-the-doubt wording, a top-level `review` becomes `allow` (when the field's enum has it)
    for a stable LENIENT_SHIFT of inputs: the same inputs on every sample, so the labels really drift."""
    if not isinstance(value, dict) or not isinstance(schema, dict) or not says(_LENIENT, prompt):
        return value
    props: dict[str, Any] = schema["properties"] if isinstance(schema.get("properties"), dict) else {}
    out = dict(value)
    for name, chosen in value.items():
        field = props.get(name)
        enum = field.get("enum") if isinstance(field, dict) else None
        if (
            chosen == "review"
            and isinstance(enum, list)
            and "allow" in enum
            and _stable(text) < LENIENT_SHIFT
        ):
            out[name] = "allow"
    return out


def _stable(text: str) -> float:
    digest = hashlib.sha256(("lenient\x1f" + text).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
