"""The embedded `sim` model: determinism, override calibration, wording reactions, schema shapes, errors.

Rate checks are exact-seeded (the simulator is deterministic), so a count either sits inside the 99.9 %
binomial interval computed by scipy or the rule is broken; no test is flaky.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import importlib.util
import json
import random
from collections import Counter

import jsonschema
import pytest
from scipy.stats import binom

from promptreview.errors import UsageError
from promptreview.providers import sim
from promptreview.records import CompletionRequest, Message, ModelSpec
from tests.conftest import REPO

ROOT = REPO
SUITE = ROOT / "promptreview" / "sample_suites" / "support_triage"
SCHEMA = json.loads((SUITE / "schema.json").read_text("utf-8"))
ROWS = [json.loads(line) for line in (SUITE / "inputs.jsonl").read_text("utf-8").splitlines()]
LISTED = "category: one of billing, technical, account, shipping, other. priority: one of low, medium, high, urgent."
STRICT = f"Classify the ticket. {LISTED} Output strictly valid JSON."
LOOSE = f"Classify the ticket. {LISTED} Always respond using clean, parseable JSON."
TICKET = "I was charged twice for my Pro subscription this month, please refund the second charge."


def request(
    ticket: str = TICKET,
    system: str = STRICT,
    model: str = "triage-v1",
    schema: dict | None = SCHEMA,
    temperature: float | None = 0.7,
    sample: int = 0,
    max_tokens: int | None = 300,
    expected_schema: dict | None = None,
    structured: bool = False,
) -> CompletionRequest:
    """A request validated against `schema` (the config's `schema:`); `structured=True` sends it on the wire."""
    params = {"temperature": temperature, "max_tokens": max_tokens}
    if not structured and expected_schema is None:
        schema, expected_schema = None, schema
    return CompletionRequest(
        model=ModelSpec("sim", model),
        messages=(Message("system", system), Message("user", f"Channel: email\n\nTicket:\n{ticket}")),
        params=tuple(sorted((k, v) for k, v in params.items() if v is not None)),
        response_schema=schema if structured or expected_schema is not None else None,
        sample_index=sample,
        expected_schema=expected_schema,
    )


def run(req: CompletionRequest) -> sim.ProviderResponse:
    """What `complete` does, minus an event loop per call (thousands of draws per test)."""
    return sim.simulate(req, sim.validate_model_id(req.model.model))


def complete(req: CompletionRequest) -> sim.ProviderResponse:
    return asyncio.run(sim.create({}).complete(req, client=None))  # the sim never touches the client


def outcome(resp: sim.ProviderResponse, schema: dict | None = SCHEMA) -> str:
    if resp.refusal or resp.text == sim.REFUSAL_TEXT:
        return "refusal"
    try:
        value = json.loads(resp.text)
    except json.JSONDecodeError:
        return "parse_failure"
    return "ok" if schema is None or validator(schema).is_valid(value) else "schema_violation"


@functools.cache
def _validator(key: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(key))


def validator(schema: dict) -> jsonschema.Draft202012Validator:
    return _validator(json.dumps(schema, sort_keys=True))


def draws(n: int = 2000, **kwargs) -> list[sim.ProviderResponse]:
    """n completions over the suite's tickets (cycled) and sample indices: varied inputs, fixed seeds."""
    return [run(request(ticket=ROWS[i % len(ROWS)]["ticket"], sample=i, **kwargs)) for i in range(n)]


def assert_binomial(count: int, n: int, p: float) -> None:
    lo, hi = binom.interval(0.999, n, p)
    assert lo <= count <= hi, f"{count}/{n} outside the 99.9 % binomial interval [{lo}, {hi}] for p={p}"


# ---- determinism -------------------------------------------------------------------------------


def test_same_request_same_response() -> None:
    for row in ROWS[:50]:
        req = request(ticket=row["ticket"], system=LOOSE, sample=3)
        assert run(req) == run(req)


def test_sample_index_changes_answers_only_above_temperature_zero() -> None:
    varied = 0
    for row in ROWS[:40]:
        greedy = {run(request(ticket=row["ticket"], temperature=0, sample=k)).text for k in range(8)}
        assert len(greedy) == 1
        varied += (
            len({run(request(ticket=row["ticket"], temperature=0.7, sample=k)).text for k in range(8)}) > 1
        )
    assert varied > 10


def test_temperature_zero_ignores_sample_index_even_with_failures_injected() -> None:
    model = "calib?parse_failure=0.5&refusal=0.2&flip=0.5"
    for row in ROWS[:20]:
        texts = {
            run(request(ticket=row["ticket"], model=model, temperature=0, sample=k)).text for k in range(6)
        }
        assert len(texts) == 1


# ---- overrides ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "parse_failure=0.15",
        "refusal=0.02",
        "schema_violation=0.05",
        "parse_failure=0.15&refusal=0.02&schema_violation=0.1",
    ],
)
def test_override_rates_match_within_binomial_tolerance(query: str) -> None:
    rates = dict((k, float(v)) for k, v in (part.split("=") for part in query.split("&")))
    # a loose prompt and sensitive tickets in the suite: the override must win over the wording anyway
    outcomes = Counter(outcome(r) for r in draws(model=f"calib?{query}", system=LOOSE))
    for name in ("parse_failure", "refusal", "schema_violation"):
        if name in rates:
            assert_binomial(outcomes[name], 2000, rates[name])


def test_override_zero_and_one() -> None:
    assert Counter(outcome(r) for r in draws(300, model="x?parse_failure=1", system=STRICT)) == {
        "parse_failure": 300
    }
    none = "x?parse_failure=0&schema_violation=0&refusal=0"
    assert Counter(outcome(r) for r in draws(300, model=none, system=LOOSE)) == {"ok": 300}


def test_flip_override_sets_the_label_change_rate() -> None:
    changed = 0
    for i in range(2000):
        ticket = ROWS[i % len(ROWS)]["ticket"]
        stable = json.loads(
            run(request(ticket=ticket, model="x?flip=0&parse_failure=0&refusal=0&schema_violation=0")).text
        )
        flipped = json.loads(
            run(
                request(
                    ticket=ticket, model="x?flip=0.1&parse_failure=0&refusal=0&schema_violation=0", sample=i
                )
            ).text
        )
        changed += flipped["category"] != stable["category"]
    assert_binomial(changed, 2000, 0.1)


@pytest.mark.parametrize(
    ("model_id", "fragment"),
    [
        ("calib?parse_failures=0.1", "unknown override 'parse_failures'"),
        ("calib?refusal=1.5", "override refusal must be a number in [0, 1]"),
        ("calib?refusal=lots", "override refusal must be a number in [0, 1]"),
        ("calib?refusal", "override refusal must be a number in [0, 1]"),
        ("calib?flip=nan", "override flip must be a number in [0, 1]"),
        ("calib?flip=0.1&flip=0.2", "given twice"),
        ("calib?parse_failure=0.6&refusal=0.6", "must not exceed 1"),
        ("calib?", "unknown override ''"),
        ("?refusal=0.1", "the name must be"),
        ("bad name", "the name must be"),
    ],
)
def test_bad_model_id_is_a_usage_error(model_id: str, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        complete(request(model=model_id))
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_validate_model_id_parses_overrides() -> None:
    model = sim.validate_model_id("calib?parse_failure=0.15&refusal=0.02&flip=0.1")
    assert model.name == "calib"
    assert dict(model.overrides) == {"parse_failure": 0.15, "refusal": 0.02, "flip": 0.1}


# ---- wording -----------------------------------------------------------------------------------


def test_structured_output_has_no_parse_failures_or_violations_even_with_loose_wording() -> None:
    counts = Counter(outcome(r) for r in draws(n=500, system=LOOSE, structured=True))
    assert counts["parse_failure"] == 0 and counts["schema_violation"] == 0 and counts["ok"] > 0


def test_strict_wording_has_no_parse_failures_loose_wording_about_twelve_percent() -> None:
    strict = Counter(outcome(r) for r in draws(system=STRICT))
    loose = Counter(outcome(r) for r in draws(system=LOOSE))
    assert strict["parse_failure"] == 0
    answered = 2000 - loose["refusal"]
    assert_binomial(loose["parse_failure"], answered, sim.LOOSE_PARSE_FAILURE)


@pytest.mark.parametrize(
    "phrase",
    [
        "Return only valid JSON.",
        "Respond in JSON, no prose.",
        "JSON, no markdown.",
        "Use JSON with no code fences.",
    ],
)
def test_each_strict_phrase_removes_parse_failures(phrase: str) -> None:
    assert not any(outcome(r) == "parse_failure" for r in draws(400, system=f"{LISTED} {phrase}"))


def test_malformed_outputs_take_the_four_documented_forms() -> None:
    responses = draws(400, model="x?parse_failure=1", system=STRICT)
    forms = Counter()
    for r in responses:
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.text)
        if r.text.startswith("```json\n"):
            forms["fence"] += 1
            assert validator(SCHEMA).is_valid(json.loads(r.text[8:-4]))  # a lenient fenced parser recovers it
        elif r.text.startswith("Sure! Here is the JSON:\n"):
            forms["preamble"] += 1
        elif r.finish_reason == "length":
            forms["truncated"] += 1
            assert r.text.startswith('{"category": ')
            continue
        else:
            assert r.text.endswith(",\n}")
            forms["trailing_comma"] += 1
        assert r.finish_reason == "stop"
    assert set(forms) == {"fence", "preamble", "truncated", "trailing_comma"}


def test_expected_schema_shapes_answers_like_a_sent_schema() -> None:
    # config `schema:` is not sent to the model; the sim still shapes its answers (and its rates) by it
    none = "x?parse_failure=0&schema_violation=0&refusal=0"
    for i, row in enumerate(ROWS[:100]):
        req = request(ticket=row["ticket"], sample=i, schema=None, model=none)
        assert outcome(run(dataclasses.replace(req, expected_schema=SCHEMA))) == "ok"
    rates = Counter(outcome(r) for r in draws(schema=None, system=LOOSE, expected_schema=SCHEMA))
    assert_binomial(rates["parse_failure"], 2000 - rates["refusal"], sim.LOOSE_PARSE_FAILURE)


def test_no_json_and_no_schema_gives_prose() -> None:
    for r in draws(100, system="Classify this support ticket for the team.", schema=None):
        assert outcome(r, schema=None) in ("parse_failure", "refusal")
        assert r.text.startswith("Thank") or r.text == sim.REFUSAL_TEXT


def test_json_without_schema_gives_a_generic_object() -> None:
    responses = draws(200, system="Reply in JSON.", schema=None)
    values = [json.loads(r.text) for r in responses if outcome(r, schema=None) == "ok"]
    assert len(values) > 150 and all(set(v) == {"label", "summary"} for v in values)
    assert any(outcome(r, schema=None) == "parse_failure" for r in responses)  # loose wording: some malformed


def test_schema_violations_depend_on_whether_enum_values_are_listed() -> None:
    listed = Counter(outcome(r) for r in draws(system=STRICT))
    unlisted = Counter(outcome(r) for r in draws(system="Classify the ticket. Output strictly valid JSON."))
    assert_binomial(listed["schema_violation"], 2000 - listed["refusal"], sim.SPELLED_OUT_SCHEMA_VIOLATION)
    assert_binomial(unlisted["schema_violation"], 2000 - unlisted["refusal"], sim.DEFAULT_SCHEMA_VIOLATION)


def test_schema_violations_are_invented_labels_or_missing_fields() -> None:
    kinds = Counter()
    for r in draws(300, model="x?schema_violation=1"):
        value = json.loads(r.text)
        assert not validator(SCHEMA).is_valid(value)
        if set(value) != set(SCHEMA["required"]):
            kinds["missing"] += 1
        else:
            kinds["label"] += 1
            assert (
                value["category"] not in SCHEMA["properties"]["category"]["enum"]
                or value["priority"] not in (SCHEMA["properties"]["priority"]["enum"])
            )
    assert kinds["missing"] > 50 and kinds["label"] > 50


def test_sensitive_tickets_are_refused_unless_the_prompt_says_never_refuse() -> None:
    sensitive = [row["ticket"] for row in ROWS if sim._SENSITIVE.search(row["ticket"])]
    assert len(sensitive) >= 8
    responses = [run(request(ticket=t, sample=k)) for t in sensitive for k in range(100)]
    refused = [r for r in responses if outcome(r) == "refusal"]
    assert_binomial(len(refused), len(responses), sim.SENSITIVE_REFUSAL)
    assert_binomial(sum(r.refusal is not None for r in refused), len(refused), 0.5)
    assert all(r.text == sim.REFUSAL_TEXT and r.finish_reason == "stop" for r in refused)
    never = [
        run(request(ticket=t, system=STRICT + " Never refuse.", sample=k))
        for t in sensitive
        for k in range(20)
    ]
    assert not any(outcome(r) == "refusal" for r in never)


def test_ordinary_password_reset_is_not_sensitive() -> None:
    assert not sim._SENSITIVE.search("I forgot my password and the reset email never arrives.")
    assert not sim._SENSITIVE.search("Someone logged into my account from Leeds and it wasn't me.")


# ---- answers shaped by the schema --------------------------------------------------------------


def test_answers_validate_against_the_suite_schema_when_nothing_is_injected() -> None:
    check = validator(SCHEMA)
    for i, row in enumerate(ROWS):
        r = run(
            request(ticket=row["ticket"], model="x?parse_failure=0&schema_violation=0&refusal=0", sample=i)
        )
        assert check.is_valid(json.loads(r.text)), r.text
        assert r.finish_reason == "stop"


@pytest.mark.parametrize(
    ("ticket", "category", "priority"),
    [
        ("I was charged twice, I need a refund for the second invoice.", "billing", "high"),
        (
            "The app crashes and the dashboard is down for everyone. URGENT, production is affected.",
            "technical",
            "urgent",
        ),
        ("Where is my package? Tracking has not updated.", "shipping", "medium"),
        ("I forgot my password and cannot log in to my account.", "account", "high"),
        ("Are you hiring? Also I have a feature idea.", "other", "low"),
        ("Hallo, ich wurde zweimal belastet, bitte die Rechnung prüfen.", "billing", "medium"),
        ("注文した荷物がまだ届きません。", "shipping", "medium"),
    ],
)
def test_labels_follow_keywords(ticket: str, category: str, priority: str) -> None:
    value = json.loads(run(request(ticket=ticket, model="x?flip=0&schema_violation=0", temperature=0)).text)
    assert (value["category"], value["priority"]) == (category, priority)


def test_needs_human_for_angry_or_legal_tickets() -> None:
    for text in ("This is unacceptable, I'm calling my lawyer.", "I want to cancel immediately!!!"):
        value = json.loads(run(request(ticket=text, model="x?flip=0&schema_violation=0", temperature=0)).text)
        assert value["needs_human"] is True


def test_summary_is_the_start_of_the_ticket() -> None:
    value = json.loads(run(request(model="x?schema_violation=0", temperature=0)).text)
    assert value["summary"] == " ".join(TICKET.split()[: sim.SUMMARY_WORDS])


GENERIC_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {"sentiment": {"enum": ["positive", "neutral", "negative"]}},
    "properties": {
        "sentiment": {"$ref": "#/$defs/sentiment"},
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
        "confidence": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "tags": {
            "type": "array",
            "items": {"type": "string", "maxLength": 30},
            "minItems": 1,
            "maxItems": 3,
            "uniqueItems": True,
        },
        "topics": {
            "type": "array",
            "items": {"enum": ["billing", "shipping", "account"]},
            "uniqueItems": True,
        },
        "customer": {
            "type": "object",
            "properties": {
                "angry": {"type": "boolean"},
                "email": {"type": ["string", "null"], "format": "email"},
            },
            "required": ["angry", "email"],
            "additionalProperties": False,
        },
        "reply": {"anyOf": [{"type": "null"}, {"type": "string", "minLength": 5}]},
        "kind": {"const": "ticket"},
    },
    "required": ["sentiment", "score", "confidence", "tags", "topics", "customer", "reply", "kind"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    "schema",
    [GENERIC_SCHEMA, {"enum": ["yes", "no"]}, {"type": "array", "items": {"type": "integer", "maximum": -3}}],
)
def test_generic_schemas_are_filled_validly(schema: dict) -> None:
    check = validator(schema)
    for i, row in enumerate(ROWS[:100]):
        r = run(
            request(
                ticket=row["ticket"],
                schema=schema,
                model="x?parse_failure=0&schema_violation=0&refusal=0",
                sample=i,
            )
        )
        assert check.is_valid(json.loads(r.text)), r.text


def test_violations_break_generic_schemas_too() -> None:
    for schema in (GENERIC_SCHEMA, {"enum": ["yes", "no"]}):
        check = validator(schema)
        for i in range(50):
            r = run(request(schema=schema, model="x?schema_violation=1", sample=i))
            assert not check.is_valid(json.loads(r.text))


# ---- provider contract -------------------------------------------------------------------------


def test_provider_contract_and_usage() -> None:
    provider = sim.create({})
    assert provider.name == "sim" and provider.key_env_var is None
    assert provider.pin_status("triage-v1") == "pinned" and provider.pinned_suggestions("triage-v1") == []
    req = request(model="calib?refusal=0&parse_failure=0")
    r = complete(req)
    assert r == run(req)
    assert r.served_model == "calib"
    chars = sum(len(m.content) for m in req.messages)
    assert r.usage.prompt_tokens == -(-chars // 4)
    assert r.usage.completion_tokens == -(-len(r.text) // 4)


def test_max_tokens_truncates_the_answer() -> None:
    r = run(request(max_tokens=5, model="x?parse_failure=0&refusal=0"))
    assert r.finish_reason == "length" and len(r.text) == 20
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.text)


# ---- the sample suite --------------------------------------------------------------------------


def test_sample_suite_is_reproducible_and_shaped_as_documented() -> None:
    spec = importlib.util.spec_from_file_location(
        "support_triage_generate", ROOT / "scripts" / "generate_support_triage.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.generate() == ROWS
    assert len(ROWS) >= 300 and len({r["ticket"] for r in ROWS}) == len(ROWS)
    assert Counter(r["channel"] for r in ROWS) == {"email": 155, "chat": 100, "phone": 65}
    assert {r["language"] for r in ROWS} == {"en", "de", "fr", "es", "ja"}
    assert {r["customer_tier"] for r in ROWS} == {"free", "pro", "enterprise"}


def test_prose_rules_follow_the_prompt_wording() -> None:
    from promptreview.providers.sim import prose

    rng = random.Random(1)
    base = prose.answer(
        "Reply in the customer's language.",
        "Ich habe mein Passwort vergessen und die Seite ist leer",
        "account",
        rng,
        0.0,
    )
    assert base.startswith("Danke")
    forced = prose.answer(
        "Always reply in English.",
        "Ich habe mein Passwort vergessen und die Seite ist leer",
        "account",
        rng,
        0.0,
    )
    assert forced.startswith("Thanks")
    assert prose.answer("Only answer questions about billing.", "x", "shipping", rng, 0.0) == sim.REFUSAL_TEXT
    short = prose.answer("Answer in one sentence.", "x", "billing", rng, 0.0)
    long = prose.answer(
        "Answer in detail, with bullet points and a link to the help center.", "x", "billing", rng, 0.0
    )
    assert len(long) > 2 * len(short) and "\n- " in long and "https://" in long
