"""A tool-calling answer scored as its own outcomes (a prompt that declares tools only): the call the input
expected and did not get, a tool the request never declared, arguments that are not JSON, arguments the tool's
parameter schema rejects (`vocabulary.ToolOutcome`). A completion keeps its one outcome of the five; a tool
fault is counted beside it, in a column of its own (`tool`), and rated like an outcome (`tool_frame`).

An answer that calls a tool is `ok` as an answer (it is no malformed text: the model chose to call), its output
the call: the tool's name under `(tool)`, a categorical field whose shift is tested like any other, and its
arguments' fields beside it, so the existing shift tests read them. Arguments are judged by the contract's
declaration of the tool (the base's, else the head's for a tool only the head declares), as outputs are by the
base's schema: a pull request cannot loosen the schema its own calls are judged by.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema.protocols import Validator

from promptreview.engine.jobs import PromptJob
from promptreview.records import ProviderResponse, ToolCall
from promptreview.sources import safe_load, tools
from promptreview.vocabulary import TOOL_RATES, Side, ToolOutcome

TOOL_FIELD = (
    "(tool)"  # the output field that holds the called tool's name (parenthesised: no argument's name)
)


@dataclass(frozen=True)
class ToolJudge:
    """What a prompt's tool calls are judged by: the tools each side declared (a call of another is
    `tool_unknown`), the contract's parameter validators, and what each input expects."""

    declared: Mapping[Side, frozenset[str]]
    validators: Mapping[str, Validator | None]
    expected: Mapping[str, str | bool]

    def outcome(self, side: Side, input_id: str, response: ProviderResponse | None) -> ToolOutcome | None:
        """The tool fault of one answer (None: none). A failed call or a refusal has none: its outcome says it."""
        if response is None or response.refusal or response.finish_reason in ("refusal", "content_filter"):
            return None
        calls = response.tool_calls
        faults = [self._fault(side, call) for call in calls]
        for fault in TOOL_RATES[
            1:
        ]:  # a call's own fault first, the worst first: unknown, not JSON, the schema
            if fault in faults:
                return fault
        expected = self.expected.get(input_id, False)
        if expected is not False and (
            not calls or (isinstance(expected, str) and all(c.name != expected for c in calls))
        ):
            return "tool_missing"  # no call, or only calls of other declared tools than the one expected
        return None

    def _fault(self, side: Side, call: ToolCall) -> ToolOutcome | None:
        if call.name not in self.declared.get(side, frozenset()):
            return "tool_unknown"
        arguments = _arguments(call)
        if arguments is None:
            return "tool_invalid_json"
        validator = self.validators.get(call.name)
        if validator is None:
            return None
        try:
            error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
        except RecursionError:
            return "tool_invalid_arguments"
        return "tool_invalid_arguments" if error is not None else None


def judge(job: PromptJob) -> ToolJudge | None:
    """The judge of `job`'s tool calls (None: its prompt declares no tools)."""
    if not job.has_tools:
        return None
    validators: dict[str, Validator | None] = {}
    for side in job.sides:  # the base's first: the contract's declaration of a tool wins
        for name, validator in tools.parameter_validators(side.tools, side.template.path).items():
            validators.setdefault(name, validator)
    declared = {side.name: frozenset(tools.tool_names(side.tools)) for side in job.sides}
    return ToolJudge(declared, validators, job.expected_tools)


def _arguments(call: ToolCall) -> Any | None:
    """The call's arguments parsed (bounded, as an answer is), or None when they are not JSON. An empty string
    is no arguments (`{}`), as the APIs send it for a function without parameters."""
    if not call.arguments.strip():
        return {}
    try:
        return safe_load.load_json(call.arguments)
    except safe_load.Unparsable:
        return None


def call_output(calls: Sequence[ToolCall]) -> dict[str, Any]:
    """The output of an answer that calls tools: its first call's tool under `TOOL_FIELD`, its arguments' fields
    beside it (when they are a JSON object)."""
    first = calls[0]
    arguments = _arguments(first)
    fields = {k: v for k, v in arguments.items() if k != TOOL_FIELD} if isinstance(arguments, dict) else {}
    return {TOOL_FIELD: first.name, **fields}


def call_answer(calls: Sequence[ToolCall]) -> str:
    """The canonical answer flips compare: every call's name and arguments (as parsed, else as sent)."""
    parts = []
    for call in calls:
        arguments = _arguments(call)
        parts.append([call.name, arguments if arguments is not None else call.arguments])
    return json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
