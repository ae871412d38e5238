"""Quality checks as the config and prompt files declare them: expectations (an output field against a suite
column), must-refuse rows, and evaluators in GitHub Models' shape (`string`, `llm`, `uses`).

Only parsing and validation live here (every problem is a `UsageError` naming where it is); applying the checks
is `engine/quality/checks.py`'s job, judging `engine/quality/judges.py`'s. Evaluators may come from a prompt
file of an untrusted pull request, so their `{{var}}` templates are filled by plain substitution, never by a
template engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from promptreview.errors import UsageError
from promptreview.vocabulary import (
    EVALUATOR_KINDS,
    EXPECT_MATCHES,
    STRING_OPS,
    EvaluatorKind,
    ExpectMatch,
    StringOp,
    one_of,
)

_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
COMPLETION_VAR = "completion"  # the output being checked, in GitHub Models' spelling


@dataclass(frozen=True)
class ExpectSpec:
    """`expect: {field: column}` or `{field: {column, match, tolerance}}`: an output field against a suite column."""

    field: str  # output field; a dotted path reaches into nested objects
    column: str
    match: ExpectMatch = "exact"
    tolerance: float = 0.0  # for match: number


@dataclass(frozen=True)
class MustRefuseSpec:
    """`must_refuse: {column, equals | in}`: the suite rows on which refusing is the right answer."""

    column: str
    values: tuple[str, ...]

    def matches(self, row: Mapping[str, Any]) -> bool:
        value = row.get(self.column)
        return value is not None and str(value).strip() in self.values


@dataclass(frozen=True)
class StringCheck:
    op: StringOp
    value: str  # a template with {{var}} from the suite row and {{completion}}


@dataclass(frozen=True)
class JudgeSpec:
    """An LLM judge: the model (a versioned dependency, pinned like any model), its prompt and its choices."""

    model: str  # provider:model-id
    prompt: str
    choices: tuple[tuple[str, float], ...]  # (choice, score)
    system: str | None = None

    @property
    def lowest(self) -> float:
        return min(score for _, score in self.choices)


@dataclass(frozen=True)
class EvaluatorSpec:
    name: str
    string: StringCheck | None = None
    llm: JudgeSpec | None = None
    uses: str | None = None  # a GitHub Models built-in (github/<name>): reported as not supported
    max_decrease: float | None = None  # this evaluator's gate margin (config only), in its own units
    origin: str = "config"  # "config" or the prompt file it came from

    @property
    def kind(self) -> EvaluatorKind:
        return "string" if self.string else "llm" if self.llm else "uses"


def variables(text: str) -> set[str]:
    return set(_VAR.findall(text))


def fill(text: str, values: Mapping[str, str]) -> str:
    """Substitute `{{name}}` with `values[name]` (every name must be there: callers check before any call)."""
    return _VAR.sub(lambda m: values[m.group(1)], text)


def parse_expect(raw: Mapping[str, Any], where: str) -> tuple[ExpectSpec, ...]:
    out = []
    for output_field, given in raw.items():
        if isinstance(given, str):
            out.append(ExpectSpec(str(output_field), given))
            continue
        match = one_of(given.get("match", "exact"), EXPECT_MATCHES)
        if match is None:
            raise UsageError(f"{where}.{output_field}.match: must be one of {', '.join(EXPECT_MATCHES)}")
        out.append(ExpectSpec(str(output_field), given["column"], match, float(given.get("tolerance", 0.0))))
    return tuple(out)


def parse_must_refuse(raw: Mapping[str, Any], where: str) -> MustRefuseSpec:
    if ("equals" in raw) == ("in" in raw):
        raise UsageError(f"{where}: give either equals or in")
    values = [raw["equals"]] if "equals" in raw else list(raw["in"])
    return MustRefuseSpec(str(raw["column"]), tuple(str(v).strip() for v in values))


def _model(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise UsageError(f"{where}.llm.modelId: must be a model such as openai:gpt-4o-2024-08-06")
    # GitHub Models names models `publisher/name`; ours are `provider:model-id`
    return raw if ":" in raw or "/" not in raw else f"github:{raw}"


def _judge(raw: Any, where: str) -> JudgeSpec:
    if not isinstance(raw, Mapping):
        raise UsageError(f"{where}.llm: must be a mapping with modelId, prompt and choices")
    prompt = raw.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise UsageError(f"{where}.llm.prompt: must be a non-empty string")
    choices = raw.get("choices")
    if not isinstance(choices, list) or not choices:
        raise UsageError(f"{where}.llm.choices: must be a non-empty list of {{choice, score}}")
    parsed = []
    for i, item in enumerate(choices):
        if not isinstance(item, Mapping) or "choice" not in item or "score" not in item:
            raise UsageError(f"{where}.llm.choices[{i}]: must have 'choice' and 'score'")
        score = item["score"]
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise UsageError(f"{where}.llm.choices[{i}].score: must be a number")
        parsed.append((str(item["choice"]).strip(), float(score)))
    if len({c.casefold() for c, _ in parsed}) != len(parsed):
        raise UsageError(f"{where}.llm.choices: choices must differ")
    system = raw.get("systemPrompt")
    if system is not None and not isinstance(system, str):
        raise UsageError(f"{where}.llm.systemPrompt: must be a string")
    return JudgeSpec(_model(raw.get("modelId"), where), prompt, tuple(parsed), system)


def parse_evaluators(raw: Any, where: str, origin: str = "config") -> tuple[EvaluatorSpec, ...]:
    """GitHub Models' `evaluators:` list (also the config's, which may add `max_decrease` per evaluator)."""
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise UsageError(f"{where}: must be a list of evaluators")
    out: list[EvaluatorSpec] = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
            raise UsageError(f"{at}: an evaluator needs a 'name'")
        kinds = [k for k in EVALUATOR_KINDS if k in item]
        if len(kinds) != 1:
            raise UsageError(f"{at}: give exactly one of string, llm or uses")
        name, max_decrease = item["name"], item.get("max_decrease")
        if any(e.name == name for e in out):
            raise UsageError(f"{at}: evaluator name {name!r} is used twice")
        if kinds[0] == "string":
            check = item["string"]
            ops = [op for op in STRING_OPS if isinstance(check, Mapping) and op in check]
            if len(ops) != 1 or not isinstance(check[ops[0]], str):
                raise UsageError(f"{at}.string: give exactly one of {', '.join(STRING_OPS)} (a string)")
            out.append(EvaluatorSpec(name, string=StringCheck(ops[0], check[ops[0]]), origin=origin))
        elif kinds[0] == "llm":
            out.append(EvaluatorSpec(name, llm=_judge(item["llm"], at), origin=origin))
        else:
            out.append(EvaluatorSpec(name, uses=str(item["uses"]), origin=origin))
        if max_decrease is not None:
            out[-1] = EvaluatorSpec(
                out[-1].name, out[-1].string, out[-1].llm, out[-1].uses, float(max_decrease), origin
            )
    return tuple(out)
