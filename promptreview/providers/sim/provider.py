"""`simulate`, the sim's answer to one request (one seeded draw decides the outcome), and the Provider over it."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import httpx

from promptreview.notes import Note
from promptreview.providers.base import PinStatus
from promptreview.providers.sim import moderation, prose, tool_calls
from promptreview.providers.sim.answers import _Builder
from promptreview.providers.sim.failures import _malformed, _violate
from promptreview.providers.sim.model_id import SimModel, validate_model_id
from promptreview.providers.sim.rules import (
    _DEFAULT_LABELS,
    _JSON,
    DEFAULT_TEMPERATURE,
    REFUSAL_TEXT,
    WOBBLE_PER_TEMPERATURE,
    _rates,
)
from promptreview.providers.sim.wording import Prompt, says
from promptreview.records import CompletionRequest, ProviderResponse, Usage
from promptreview.vocabulary import FinishReason, ProviderName


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


# (model name, overrides, id(schema), prompt, text, json_mode, structured) -> (schema, rates): the K samples of an input share
# their rates, which cost many regular-expression searches over the prompt. The schema is held, so its id is its own.
_RATES: dict[tuple[Any, ...], tuple[Any, list[float]]] = {}


def _rates_memo(
    model: SimModel, schema: Any, prompt: Prompt, text: str, json_mode: bool, structured: bool
) -> list[float]:
    try:
        key = (
            model.name,
            tuple(sorted(model.overrides.items())),
            id(schema),
            prompt,
            text,
            json_mode,
            structured,
        )
        known = _RATES.get(key)
    except TypeError:  # an unhashable override value: no memo
        return _rates(model, schema, prompt, text, json_mode, structured)
    if known is not None and known[0] is schema:
        return known[1]
    rates = _rates(model, schema, prompt, text, json_mode, structured)
    if len(_RATES) > 4096:
        _RATES.clear()
    _RATES[key] = (schema, rates)
    return rates


def simulate(request: CompletionRequest, model: SimModel) -> ProviderResponse:
    """The sim's answer to one request (pure: no I/O, same request -> same response)."""
    params = request.params_dict
    raw_temperature = params.get("temperature")
    temperature = DEFAULT_TEMPERATURE if raw_temperature is None else float(raw_temperature)
    seed_request = replace(request, sample_index=0) if temperature == 0 else request
    rng = random.Random(int(seed_request.cache_key(), 16))
    said = tuple(m.content for m in request.messages if m.role in ("system", "developer", "user"))
    prompt = "\n".join(said)
    text = "\n".join(m.content for m in request.messages if m.role == "user")
    # shaped by the schema on the wire, else by the one outputs will be validated against (config `schema:`)
    schema = request.response_schema if request.response_schema is not None else request.expected_schema
    ov = model.overrides
    json_mode = bool(
        schema is not None or says(_JSON, said) or "parse_failure" in ov or "schema_violation" in ov
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
    refusal, parse_failure, violation = _rates_memo(model, schema, said, text, json_mode, structured)
    if u < refusal:
        signalled = rng.random() < 0.5  # half as the provider's refusal field, half only in the text
        return ProviderResponse(
            text=REFUSAL_TEXT,
            refusal=REFUSAL_TEXT if signalled else None,
            finish_reason="stop",
            served_model=served,
            usage=usage(REFUSAL_TEXT),
        )
    if request.tools:  # a request with tools may be answered with a call instead (docs/sim.md: Tools)
        tool = tool_calls.call(request, model, text, rng, wobble)
        if tool is not None:
            return ProviderResponse(
                text=None, finish_reason="tool_calls", served_model=served, usage=usage(tool.arguments),
                tool_calls=(tool,),
            )  # fmt: skip
    builder = _Builder(schema, text, rng, wobble)
    if schema is not None:
        value = moderation.lenient(builder.value(schema), schema, said, text)
    else:
        value = {"label": builder.categorical(list(_DEFAULT_LABELS), "$.label"), "summary": builder.summary}
    finish: FinishReason = "stop"
    if not json_mode:
        answer = prose.answer(prompt, text, str(value["label"]), rng, wobble)  # docs/sim.md: Prose answers
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

    name: ProviderName = "sim"
    key_env_var: str | None = None

    def __init__(self) -> None:
        # the report says the numbers are simulated on its own; the sim has nothing of its own to add
        self.notes: list[Note] = []
        self._models: dict[str, SimModel] = {}  # parsed once per model id, not once per call

    def require_credentials(self) -> None:
        """The sim needs no credential."""

    def pin_status(self, model_id: str) -> PinStatus:
        return "pinned"  # the simulator is versioned with the package

    def pinned_suggestions(self, model_id: str) -> list[str]:
        return []

    async def complete(self, request: CompletionRequest, client: httpx.AsyncClient) -> ProviderResponse:
        model = self._models.get(request.model.model)
        if model is None:
            model = self._models[request.model.model] = validate_model_id(request.model.model)
        return simulate(request, model)


def create(env: Mapping[str, str]) -> SimProvider:
    """The sim reads no environment."""
    return SimProvider()
