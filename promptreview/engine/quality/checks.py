"""Quality checks of one prompt: which checks apply (expectations, evaluators, must-refuse rows), checked
against the suite before any call, and each completion's value under each check.

A value is 1/0 for a pass rate (an expectation, a string evaluator, a refusal on a must-refuse row), a score
for an LLM judge, and NaN where the check does not apply: failed calls (errors stay infrastructure), rows
without an expected value, must-refuse rows for every check but their own refusal rate. A completion that
failed to parse, broke the schema or refused does not pass an expectation; a refusal does not pass an
evaluator (a judge gives it its lowest score without a call).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from promptreview.engine.jobs import PromptJob
from promptreview.engine.measurement.outcomes import ScoredCall
from promptreview.engine.quality.leakage import leaked_rows
from promptreview.errors import UsageError
from promptreview.notes import Note, note
from promptreview.report.document import WITH_LEAKED, LeakedRow
from promptreview.sources.config import Config, DecreaseGate
from promptreview.sources.evaluators import (
    COMPLETION_VAR,
    EvaluatorSpec,
    ExpectSpec,
    JudgeSpec,
    StringCheck,
    fill,
    variables,
)
from promptreview.vocabulary import CheckKind, CheckUnits

MUST_REFUSE: Final = "must_refuse"  # the check's kind, and its name


@dataclass(frozen=True)
class Check:
    """One quality check of a prompt, as both sides are checked with it."""

    name: str
    kind: CheckKind
    field: str | None
    gate: DecreaseGate
    units: CheckUnits = "rate"
    expect: ExpectSpec | None = None
    evaluator: EvaluatorSpec | None = None  # the version both sides are checked with (the base's)
    head_judge: JudgeSpec | None = None  # `--judge`: head's judge, run over base's outputs
    note: Note | None = None
    # the twin of a check over every row, leaked ones included (red team 3): the leakage guard leaves the
    # rows the head's prompt holds out of the checks, so a head that pastes the suite into its prompt would
    # choose which rows its checks see; over all rows a leak can only flatter the head, so a decrease there
    # is a regression the leak did not hide
    with_leaked: bool = False

    @property
    def column(self) -> str:
        """Its column in the completion frame."""
        return f"check:{self.kind}:{self.name}"

    @property
    def judge(self) -> JudgeSpec | None:
        return self.evaluator.llm if self.evaluator is not None else None


@dataclass(frozen=True)
class QualityPlan:
    checks: tuple[Check, ...]
    must_refuse: frozenset[str]  # input ids of the sampled must-refuse rows
    notes: tuple[Note, ...]  # how the checks were chosen (evaluators changed, added, skipped, ...)
    # the leakage guard: sampled rows the head prompt holds (left out of every check), and its note
    leakage: tuple[LeakedRow, ...] = ()
    leakage_note: Note | None = None
    leakage_fails: bool = False  # `leakage: {fail: true}`: the prompt fails

    @property
    def leaked(self) -> frozenset[str]:
        """Input ids of the rows the prompt holds."""
        return frozenset(r.input_id for r in self.leakage)

    def twin_of(self, c: int) -> int | None:
        """The index of the check whose twin (over every row, leaked ones in) check `c` is; None if it is none."""
        twin = self.checks[c]
        if not twin.with_leaked:
            return None
        name = twin.name.removesuffix(WITH_LEAKED)
        return next(i for i, k in enumerate(self.checks) if k.name == name and k.kind == twin.kind)

    @property
    def judges(self) -> list[JudgeSpec]:
        out = [c.judge for c in self.checks if c.judge is not None]
        return out + [c.head_judge for c in self.checks if c.head_judge is not None]


def _merged(
    job: PromptJob,
) -> tuple[list[EvaluatorSpec], list[Note], dict[str, EvaluatorSpec], frozenset[str]]:
    """Config evaluators, then the prompt file's: the base's version of each (a pull request cannot change
    the checks it is reviewed by; the base's is the contract's, `PromptJob.contract`). An evaluator the base
    does not have (one the head adds, or any of an added prompt's) is the pull request's own: a string check
    runs and is reported but cannot gate; a judge is not called at all (a judge the base never named could
    fail, or cost, what the base never agreed to, and so decide the verdict). Returns the evaluators, notes,
    head's changed versions by name, and the names of the head's own (non-gating) ones."""
    entry_evals = list(job.entry.evaluators) if job.entry is not None else []
    contract = (
        job.contract if job.contract is not None else job.sides[0].template if len(job.sides) > 1 else None
    )
    base = {e.name: e for e in contract.evaluators} if contract is not None else {}
    head = {e.name: e for e in job.head.template.evaluators}
    notes: list[Note] = []
    changed = {}
    merged = list(entry_evals)
    names = {e.name for e in merged}
    own: set[str] = set()
    for name, spec in {**head, **base}.items():
        if name in names:
            notes.append(note("evaluator_skipped", name, origin=spec.origin))
            continue
        if name in base and name in head and _definition(base[name]) != _definition(head[name]):
            changed[name] = head[name]
            judge = bool(base[name].llm or head[name].llm)
            notes.append(note("evaluator_changed", name, judge=judge))
        elif job.head_trusted:  # `compare`: the operator's own files, no base owns the checks
            if name not in head:
                notes.append(note("evaluator_removed", name))
        elif name not in base:
            notes.append(note("evaluator_added", name, judge=spec.llm is not None))
            if spec.llm is not None:
                continue
            own.add(name)
        elif name not in head:
            notes.append(note("evaluator_removed", name))
        merged.append(spec)
    return merged, notes, changed, frozenset(own)


def _definition(spec: EvaluatorSpec) -> tuple[Any, ...]:
    return (spec.string, spec.llm, spec.uses)


def plan_quality(job: PromptJob, config: Config, judge_review: bool = False) -> QualityPlan:
    """The checks of one prompt, validated against its suite before any call (`UsageError` otherwise)."""
    entry = job.entry
    sample = job.suite_sample
    columns = set(sample.columns)
    gates = config.quality_gates
    checks: list[Check] = []
    notes: list[Note] = []
    must_refuse: frozenset[str] = frozenset()
    if entry is not None and entry.must_refuse is not None:
        refuse = entry.must_refuse
        if refuse.column not in columns:
            raise UsageError(f"must_refuse: column {refuse.column!r} is not a column of {sample.path}")
        must_refuse = frozenset(r.input_id for r in sample.rows if refuse.matches(r.values))
        unsampled = (
            None
            if must_refuse
            else note("must_refuse_unsampled", sample.path, column=refuse.column, values=tuple(refuse.values))
        )
        checks.append(Check(MUST_REFUSE, MUST_REFUSE, None, gates.must_refuse, note=unsampled))
    for expect in entry.expect if entry is not None else ():
        if job.output_mode == "text":  # prose has no fields: the check could only ever fail every answer
            raise UsageError(
                f"expect.{expect.field}: {job.path} is reviewed in text mode (its answers have no fields); "
                "use a string evaluator, or output: json with a schema"
            )
        if expect.column not in columns:
            raise UsageError(
                f"expect.{expect.field}: column {expect.column!r} is not a column of {sample.path} "
                f"(columns: {', '.join(sorted(columns))})"
            )
        _check_field(expect, job.head.schema)
        for row in sample.rows:
            _expected(expect, row.values)  # a bad regex or number fails now, not after the calls
        checks.append(Check(expect.field, "expect", expect.field, gates.expect, expect=expect))
    evaluators, merge_notes, changed, own = _merged(job)
    notes += merge_notes
    for spec in evaluators:
        if spec.uses is not None:
            notes.append(note("evaluator_unsupported", spec.name, uses=spec.uses))
            continue
        template = spec.string.value if spec.string else spec.llm.prompt if spec.llm else ""
        missing = sorted(variables(template) - columns - {COMPLETION_VAR})
        if missing:
            raise UsageError(
                f"evaluator {spec.name!r} ({spec.origin}): variable '{missing[0]}' is not a column of "
                f"{sample.path} nor {{{{completion}}}}"
            )
        gate = gates.evaluator(spec.name, spec.max_decrease)
        if spec.name in own:  # the pull request's own check: reported, never gating
            gate = DecreaseGate(gate.max_decrease, gating=False)
        head_judge = changed[spec.name].llm if judge_review and spec.name in changed else None
        # (a `uses` evaluator was left out above: what is left is a string check or a judge)
        checks.append(
            Check(spec.name, "string" if spec.string else "llm", None, gate, "score" if spec.llm else "rate",
                  evaluator=spec, head_judge=head_judge)
        )  # fmt: skip
    guard = entry.leakage if entry is not None and entry.leakage is not None else config.leakage
    leaked = leaked_rows(job, guard)
    said = None
    if leaked:
        said = note(
            "leakage",
            job.path,
            rows=tuple(r.input_id for r in leaked),
            sampled=len(sample.rows),
            columns=tuple(sorted({r.column for r in leaked})),
            verbatim=sum(r.verbatim for r in leaked),
            fail=guard.fail,
            min_overlap=guard.min_overlap,
        )
        checks += [_with_leaked(c) for c in checks if c.head_judge is None]
    return QualityPlan(tuple(checks), must_refuse, tuple(notes), leaked, said, bool(leaked) and guard.fail)


def _with_leaked(check: Check) -> Check:
    """`check` over every row, the leaked ones included (a judge's twin is asked about the leaked rows alone
    and takes the check's own scores for the rest)."""
    return replace(check, name=check.name + WITH_LEAKED, note=None, with_leaked=True)


def _check_field(expect: ExpectSpec, schema: Mapping[str, Any] | None) -> None:
    """A field the output schema cannot have is a typo: refuse it before any call."""
    node: Any = schema
    for part in expect.field.split("."):
        if not isinstance(node, Mapping) or not isinstance(node.get("properties"), Mapping):
            return  # nothing declared here: any field may appear
        if part not in node["properties"]:
            if node.get("additionalProperties") is False:
                raise UsageError(
                    f"expect.{expect.field}: the output schema has no property {part!r} "
                    f"(properties: {', '.join(sorted(node['properties']))})"
                )
            return
        node = node["properties"][part]


# -- values --------------------------------------------------------------------------------------------


def normalise(value: Any) -> str:
    """Whitespace collapsed and case folded: `exact` and `contains` compare these."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return " ".join(text.split()).casefold()


def _expected(spec: ExpectSpec, row: Mapping[str, Any]) -> Any:
    """The row's expected value (None: the row has none, so the check does not apply to it)."""
    value = row.get(spec.column)
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == "":
        return None
    if spec.match == "regex":
        try:
            return re.compile(str(value))
        except re.error as exc:
            raise UsageError(
                f"expect.{spec.field}: {value!r} in column {spec.column} is not a regex ({exc})"
            ) from None
    if spec.match == "number":
        number = _number(value)
        if number is None:
            raise UsageError(f"expect.{spec.field}: {value!r} in column {spec.column} is not a number")
        return number
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _field(output: Any, path: str) -> tuple[bool, Any]:
    for part in path.split("."):
        if not isinstance(output, dict) or part not in output:
            return False, None
        output = output[part]
    return True, output


def expect_passes(spec: ExpectSpec, output: Any, expected: Any) -> bool:
    found, value = _field(output, spec.field)
    if not found or value is None:
        return False
    if spec.match == "number":
        number = _number(value)
        return number is not None and abs(number - expected) <= spec.tolerance + 1e-12
    if spec.match == "regex":
        return expected.search(value if isinstance(value, str) else json.dumps(value)) is not None
    if spec.match == "contains":
        return normalise(expected) in normalise(value)
    return normalise(value) == normalise(expected)


def string_passes(check: StringCheck, text: str, row: Mapping[str, Any]) -> bool:
    """GitHub Models' string evaluator: case-sensitive, on the completion's text (equals ignores the
    whitespace around it)."""
    value = fill(check.value, {**_texts(row), COMPLETION_VAR: text})
    body = text.strip()
    if check.op == "contains":
        return value in text
    if check.op == "equals":
        return body == value.strip()
    if check.op == "startsWith":
        return body.startswith(value)
    return body.endswith(value)


def _texts(row: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in row.items()}


def check_values(
    job: PromptJob,
    plan: QualityPlan,
    scored: Sequence[ScoredCall],
    judged: Mapping[tuple[int, int], float | None],
) -> dict[str, list[float]]:
    """Per check (by frame column), one value per scored call. `judged`: (check index, call index) -> score."""
    rows = {r.input_id: r.values for r in job.suite_sample.rows}
    base = {(s.call.input_id, s.call.sample): s for s in scored if s.call.side == "base"}
    leaked = plan.leaked
    out: dict[str, list[float]] = {}
    for c, check in enumerate(plan.checks):
        values: list[float] = []
        for i, s in enumerate(scored):
            source = s
            if check.head_judge is not None and s.call.side == "head":  # `--judge`: head judges base's output
                source = base.get((s.call.input_id, s.call.sample), s)
            outcome = source.classification.outcome
            on_must_refuse = s.call.input_id in plan.must_refuse
            if (
                outcome == "error"
                or on_must_refuse != (check.kind == MUST_REFUSE)
                or (s.call.input_id in leaked and not check.with_leaked)
            ):
                values.append(math.nan)
            elif check.kind == MUST_REFUSE:
                values.append(1.0 if outcome == "refusal" else 0.0)
            elif check.expect is not None:
                expected = _expected(check.expect, rows[s.call.input_id])
                if expected is None:
                    values.append(math.nan)
                else:
                    ok = outcome == "ok" and expect_passes(check.expect, s.classification.output, expected)
                    values.append(1.0 if ok else 0.0)
            elif outcome == "refusal":
                judge = check.judge
                values.append(judge.lowest if judge is not None else 0.0)
            elif check.evaluator is not None and check.evaluator.string is not None:
                text = (s.completion.response.text if s.completion.response else None) or ""
                values.append(
                    1.0 if string_passes(check.evaluator.string, text, rows[s.call.input_id]) else 0.0
                )
            else:
                origin = plan.twin_of(c)
                score = judged.get((c, i))
                if score is None and origin is not None and s.call.input_id not in leaked:
                    score = judged.get(
                        (origin, i)
                    )  # a judge's twin: the check's own score off the leaked rows
                values.append(math.nan if score is None else score)
        out[check.column] = values
    return out
