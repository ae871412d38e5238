"""The sim's tool calls (docs/sim.md, "Tools"): whether a request with tools gets a call, of which tool, with
which arguments, and the faults a call may carry, all from the request's seeded draw.

A call is made when `tool_choice` asks for one (`required`, a named function), never under `none`, and under
`auto` (or none given) when the prompt's own instructions (its system and developer messages, not the user's
input) name a declared tool or tell the model to use its tools, unless they tell it not to. The tool is the
one named (a `tool_choice` function, else the one whose name and description share the most words with the
input), its arguments built from its parameter schema as an answer is from an output schema. The model id's
`tool_unknown`, `tool_invalid_json` and `tool_invalid_arguments` overrides are the rates of the faults.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from promptreview.providers.sim.answers import _Builder
from promptreview.providers.sim.failures import _violate
from promptreview.providers.sim.model_id import SimModel
from promptreview.records import CompletionRequest, ToolCall

_USE = re.compile(r"\b(?:use|call|invoke)\b[^.\n]{0,40}\btools?\b|\bfunction call", re.IGNORECASE)
_DONT = re.compile(
    r"\b(?:do not|don'?t|never|without)\b[^.\n]{0,30}\b(?:use|call|invoke|using|calling)?\b[^.\n]{0,20}"
    r"\b(?:tools?|functions?)\b|\banswer directly\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower().replace("_", " ")) if len(w) > 2}


def _chosen(request: CompletionRequest, text: str) -> dict[str, Any] | None:
    """The function the model calls (None: it answers without a call)."""
    functions: list[dict[str, Any]] = [t["function"] for t in request.tools]
    choice = request.tool_choice
    if choice == "none":
        return None
    if isinstance(choice, dict):
        named = choice["function"]["name"]
        found: dict[str, Any] | None = next((f for f in functions if f["name"] == named), None)
        return found
    if choice != "required":
        instructions = "\n".join(m.content for m in request.messages if m.role in ("system", "developer"))
        if _DONT.search(instructions):
            return None
        named = [f for f in functions if re.search(rf"\b{re.escape(f['name'])}\b", instructions)]
        if not named and not _USE.search(instructions):
            return None
        functions = named or functions
    asked = _words(text)
    scores = [len(asked & _words(f"{f['name']} {f.get('description', '')}")) for f in functions]
    return functions[max(range(len(functions)), key=lambda i: (scores[i], -i))]


def call(
    request: CompletionRequest, model: SimModel, text: str, rng: random.Random, wobble: float
) -> ToolCall | None:
    """The sim's tool call for `request` (None: no call), `text` being the user's input."""
    function = _chosen(request, text)
    if function is None:
        return None
    parameters = function.get("parameters")
    schema = parameters if isinstance(parameters, dict) else {"type": "object", "properties": {}}
    arguments: Any = _Builder(schema, text, rng, wobble).value(schema)
    ov = model.overrides
    u = rng.random()
    unknown = ov.get("tool_unknown", 0.0)
    bad_json = ov.get("tool_invalid_json", 0.0)
    bad_arguments = ov.get("tool_invalid_arguments", 0.0)
    name = str(function["name"])
    if u < unknown:
        name = f"{name}_v2"  # a tool the request never declared
    elif u < unknown + bad_json:
        return ToolCall(
            name, json.dumps(arguments, ensure_ascii=False)[:-1], f"call_{rng.getrandbits(32):08x}"
        )
    elif u < unknown + bad_json + bad_arguments:
        broken = _violate(arguments, schema, rng)
        arguments = (
            broken if broken is not None else []
        )  # no label to invent, nothing required: not an object
    return ToolCall(name, json.dumps(arguments, ensure_ascii=False), f"call_{rng.getrandbits(32):08x}")
