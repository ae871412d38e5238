"""Load `promptreview.yml` (from the working tree or a revision) and validate it against the JSON Schema
shipped beside this module; every problem is one line that names the key path."""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import referencing

from promptreview.errors import UsageError
from promptreview.sources import git, paths, safe_load
from promptreview.sources.evaluators import (
    EvaluatorSpec,
    ExpectSpec,
    MustRefuseSpec,
    parse_evaluators,
    parse_expect,
    parse_must_refuse,
)
from promptreview.vocabulary import (
    ALLOCATIONS,
    BATCH_MODES,
    CONFIGURED_OUTPUT_MODES,
    REMOVALS,
    SAMPLE_BATCHINGS,
    Allocation,
    BatchMode,
    ConfiguredOutputMode,
    GateName,
    Removal,
    SampleBatching,
    Word,
    one_of,
)

DEFAULT_CONFIG_PATH = "promptreview.yml"  # where `check`, `compare` and `ci` look unless told
DEFAULT_MODEL = "sim:triage-v1"
DEFAULT_GATES: dict[GateName, dict[str, Any]] = {
    "parse_failure": {"max_increase": 0.02, "gating": True},
    "schema_violation": {"max_increase": 0.02, "gating": True},
    "refusal": {"max_increase": 0.02, "gating": True},
    "flip_rate": {"max_increase": 0.05, "gating": False},
    # a shift is considered when larger than this share: of answers that changed value, or of a median
    "distribution_shift": {"max_increase": 0.02, "gating": False},
}
# absolute ceilings for an added prompt (no base to compare with): `gates.<metric>.max_rate`
DEFAULT_MAX_RATES: dict[GateName, float] = {"parse_failure": 0.05, "schema_violation": 0.05, "refusal": 0.05}
DEFAULT_MAX_REQUEST_CHARS = 200_000


@dataclass(frozen=True)
class SampleSpec:
    per_stratum: int | None = None
    size: int | None = None
    allocation: Allocation = "proportional"
    seed: int = 0


@dataclass(frozen=True)
class PromptEntry:
    files: tuple[str, ...]
    suite: str | None  # None: the prompt file's own inputs (testData, sample)
    schema: str | None = None
    model: str | None = None
    strata: tuple[str, ...] = ()
    sample: SampleSpec = field(default_factory=SampleSpec)
    output: ConfiguredOutputMode = "auto"
    id_column: str | None = None  # `id:`; None: `id` when the suite has it, else the row number
    expect: tuple[ExpectSpec, ...] = ()
    evaluators: tuple[EvaluatorSpec, ...] = ()
    must_refuse: MustRefuseSpec | None = None
    partials: str | None = (
        None  # a folder of Dotprompt partials (`partials:`), besides those beside the prompt
    )


@dataclass(frozen=True)
class GateSpec:
    max_increase: float
    gating: bool
    max_rate: float | None = None  # the ceiling an added prompt's rate is held to (None: no ceiling)


def gate_specs(raw: dict[str, Any] | None = None) -> dict[GateName, GateSpec]:
    """Gate settings from the config's `gates:` mapping, with defaults for what it leaves out."""
    raw = raw or {}
    gates: dict[GateName, GateSpec] = {}
    for name, default in DEFAULT_GATES.items():
        given = raw.get(name, {})
        gates[name] = GateSpec(
            max_increase=float(given.get("max_increase", default.get("max_increase", 0.0))),
            # a gate named in the config gates unless it says otherwise; shifts and flips only warn by default
            gating=bool(given.get("gating", default["gating"] or name in raw)),
            max_rate=float(given["max_rate"]) if "max_rate" in given else DEFAULT_MAX_RATES.get(name),
        )
    return gates


@dataclass(frozen=True)
class DecreaseGate:
    """A quality gate: fails on a significant decrease larger than `max_decrease` (a pass rate's share, or a
    score in the evaluator's own units)."""

    max_decrease: float = 0.02
    gating: bool = True


@dataclass(frozen=True)
class QualityGates:
    """`gates.expect`, `gates.evaluators` (with per-evaluator overrides by name) and `gates.must_refuse`."""

    expect: DecreaseGate = field(default_factory=DecreaseGate)
    evaluators: DecreaseGate = field(default_factory=DecreaseGate)
    must_refuse: DecreaseGate = field(default_factory=DecreaseGate)
    per_evaluator: Mapping[str, DecreaseGate] = field(default_factory=dict)

    def evaluator(self, name: str, max_decrease: float | None = None) -> DecreaseGate:
        """The gate of one evaluator: `gates.evaluators.<name>`, else its own `max_decrease`, else the default."""
        if name in self.per_evaluator:
            return self.per_evaluator[name]
        if max_decrease is not None:
            return DecreaseGate(max_decrease, self.evaluators.gating)
        return self.evaluators


def quality_gates(raw: Mapping[str, Any] | None = None) -> QualityGates:
    raw = raw or {}

    def gate(given: Mapping[str, Any], default: DecreaseGate) -> DecreaseGate:
        return DecreaseGate(
            float(given.get("max_decrease", default.max_decrease)), bool(given.get("gating", default.gating))
        )

    evaluators = raw.get("evaluators", {})
    common = gate(evaluators, DecreaseGate())
    return QualityGates(
        expect=gate(raw.get("expect", {}), DecreaseGate()),
        evaluators=common,
        must_refuse=gate(raw.get("must_refuse", {}), DecreaseGate()),
        per_evaluator={
            name: gate(value, common)
            for name, value in evaluators.items()
            if name not in ("max_decrease", "gating")
        },
    )


@dataclass(frozen=True)
class RetrySpec:
    """The config's `retry:`; a setting left out (None) keeps the runner's default."""

    max_attempts: int | None = None
    base_delay: float | None = None  # seconds before the first retry
    max_delay: float | None = None  # seconds
    timeout: float | None = None  # seconds per HTTP request


@dataclass(frozen=True)
class Config:
    prompts: Sequence[PromptEntry]
    model: str = DEFAULT_MODEL
    params: dict[str, Any] = field(default_factory=dict)
    samples: int = 3
    concurrency: int = 8
    max_calls: int | None = None
    allow_unpinned: bool = False
    allow_fenced: bool = False
    max_error_rate: float = 0.1
    retry: RetrySpec = field(default_factory=RetrySpec)
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    alpha: float = 0.05  # gates.alpha
    gates: dict[GateName, GateSpec] = field(default_factory=gate_specs)
    source: str = DEFAULT_CONFIG_PATH
    model_given: bool = False  # the config names `model:` itself (not the built-in default)
    min_per_stratum: int = 10  # smaller strata are pooled into "other"
    quality_gates: QualityGates = field(default_factory=QualityGates)
    models: tuple[str, ...] = ()  # models a prompt file may move to (empty: the config's and the base's own)
    # review: a prompt leaving the review needs the accept label; allow: it does not
    removal: Removal = "review"
    max_request_chars: int = DEFAULT_MAX_REQUEST_CHARS  # one rendered request, all messages
    sequential: bool = False  # run inputs in batches and stop once the verdict is settled
    # auto: the samples of one input in one request (Chat Completions `n`) where the server honours it; off: never
    sample_batching: SampleBatching = "auto"
    # the uncached calls as provider batches: on, off, or auto (no pull request waiting and enough calls;
    # docs/providers.md#provider-batches)
    batch: BatchMode = "auto"
    # a model a prompt file names (as the file writes it, or as `provider:model-id`) -> the model that stands in
    # for it where the file's own cannot be reached (a provider promptreview does not speak, a key this run lacks)
    models_map: Mapping[str, str] = field(default_factory=dict)
    # CI: a run that could not review fails the check (false: it ends neutral, and says it protects nothing)
    fail_closed: bool = True
    # SHA-256 of the config file's bytes as read (None: no file, a config made from flags)
    sha256: str | None = None

    def entry_for(self, *paths_: str | None) -> PromptEntry | None:
        """The first entry whose globs match one of `paths_`."""
        for entry in self.prompts:
            if any(p and paths.matches_any(p, entry.files) for p in paths_):
                return entry
        return None


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        resources.files("promptreview.sources").joinpath("config.schema.json").read_text("utf-8")
    )
    return schema


def _path_text(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
}


def _describe(error: jsonschema.ValidationError) -> str:
    """One readable line for a schema error: `prompts[0].sample.per_stratum: must be an integer >= 1`."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    where = _path_text(error.absolute_path)
    if error.validator == "additionalProperties":
        instance = error.instance if isinstance(error.instance, dict) else {}
        extra = sorted(set(instance) - set(schema.get("properties", {})))
        allowed = ", ".join(sorted(schema.get("properties", {})))
        prefix = f"{where}." if error.absolute_path else ""
        close = difflib.get_close_matches(str(extra[0]), list(schema.get("properties", {})), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return f"{prefix}{extra[0]}: unknown key ({hint}allowed here: {allowed})"
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"{where}: missing required key '{missing}'"
    if error.validator in ("type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        kind = schema.get("type")
        text = f"must be {_TYPE_WORDS.get(kind, kind)}" if isinstance(kind, str) else "has the wrong type"
        bounds = []
        if "minimum" in schema:
            bounds.append(f">= {schema['minimum']}")
        if "exclusiveMinimum" in schema:
            bounds.append(f"> {schema['exclusiveMinimum']}")
        if "maximum" in schema:
            bounds.append(f"<= {schema['maximum']}")
        if "exclusiveMaximum" in schema:
            bounds.append(f"< {schema['exclusiveMaximum']}")
        return f"{where}: {text}{' ' + ' and '.join(bounds) if bounds else ''}"
    if error.validator == "enum":
        return f"{where}: must be one of {', '.join(map(str, schema['enum']))}"
    if error.validator == "const":
        return f"{where}: must be {schema['const']}"
    if error.validator == "minItems":
        return f"{where}: must not be empty"
    if error.validator == "minLength":
        return f"{where}: must not be empty"
    if error.validator == "pattern" and list(error.absolute_path)[:1] == ["models_map"]:
        return f"{where}: must be a model spec 'provider:model-id', not {error.instance!r}"
    if error.validator == "oneOf" and list(error.absolute_path)[-1:] == ["files"]:
        return f"{where}: must be a glob or a list of globs"
    return f"{where}: {error.message}"


def load_config(root: Path, config_path: str, rev: str | None) -> Config:
    """The config at revision `rev` (None: the working tree)."""
    rel = paths.repo_relative(root, config_path, "--config")
    data = git.read_at(root, rev, rel)
    if data is None:
        where = f" at {rev[:12]}" if rev else ""
        raise UsageError(
            f"config file {config_path!r} not found{where}; run 'promptreview init' to create one"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{config_path}: not valid UTF-8") from None
    return replace(parse_config(text, rel), sha256=hashlib.sha256(data).hexdigest())


def parse_config(text: str, source: str = DEFAULT_CONFIG_PATH) -> Config:
    """Parse and validate config text; every problem is a UsageError naming the key path."""
    try:
        data = safe_load.load_yaml(text)
    except safe_load.Unparsable as exc:
        line = f" line {exc.line}" if exc.line else ""
        raise UsageError(f"{source}:{line} is not valid YAML ({exc.message})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{source}: must be a mapping with at least 'version: 1' and 'prompts:'")
    validator = jsonschema.Draft202012Validator(_schema(), registry=referencing.Registry())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(list(e.absolute_path)), str(e.path)))
    if errors:
        # the deepest error of the first branch is usually the one a person needs
        best = jsonschema.exceptions.best_match(errors)
        raise UsageError(f"{source}: {_describe(best)}")
    return _build(data, source)


def _build(data: dict[str, Any], source: str) -> Config:
    entries: list[PromptEntry] = []
    for item in data["prompts"]:
        at = f"{source}: prompts[{len(entries)}]"
        files = item["files"]
        sample = item.get("sample", {})
        if "per_stratum" in sample and "size" in sample:
            index = data["prompts"].index(item)
            raise UsageError(f"{source}: prompts[{index}].sample: give either per_stratum or size, not both")
        entries.append(
            PromptEntry(
                files=(files,) if isinstance(files, str) else tuple(files),
                suite=item.get("suite"),
                schema=item.get("schema"),
                model=item.get("model"),
                strata=tuple(item.get("strata", ())),
                sample=SampleSpec(
                    per_stratum=sample.get("per_stratum"),
                    size=sample.get("size"),
                    allocation=_word(
                        sample.get("allocation", "proportional"), ALLOCATIONS, f"{at}.sample.allocation"
                    ),
                    seed=sample.get("seed", 0),
                ),
                output=_word(item.get("output", "auto"), CONFIGURED_OUTPUT_MODES, f"{at}.output"),
                id_column=item.get("id"),
                partials=item.get("partials"),
            )
        )
        entries[-1] = _with_quality(entries[-1], item, at)
    # only what the file says: every default lives once, in the dataclasses above
    given: dict[str, Any] = {
        key: data[key]
        for key in ("model", "samples", "concurrency", "allow_unpinned", "max_error_rate", "prices")
        if key in data
    }
    if "model" in data:
        given["model_given"] = True
    if "min_per_stratum" in data:
        given["min_per_stratum"] = data["min_per_stratum"]
    if "params" in data:
        given["params"] = dict(data["params"])
    if "max_calls" in data.get("budget", {}):
        given["max_calls"] = data["budget"]["max_calls"]
    if "allow_fenced" in data.get("parsing", {}):
        given["allow_fenced"] = data["parsing"]["allow_fenced"]
    if "retry" in data:
        given["retry"] = RetrySpec(**data["retry"])
    if "models" in data:
        given["models"] = tuple(data["models"])
    if "models_map" in data:
        given["models_map"] = {str(k): v for k, v in data["models_map"].items()}
    if "removal" in data:
        given["removal"] = _word(data["removal"], REMOVALS, f"{source}: removal")
    if "max_request_chars" in data:
        given["max_request_chars"] = data["max_request_chars"]
    if "sequential" in data:
        given["sequential"] = data["sequential"]
    if "sample_batching" in data:  # YAML 1.1 reads a bare `off` as false
        value = data["sample_batching"]
        given["sample_batching"] = _word(
            {True: "auto", False: "off"}.get(value, value), SAMPLE_BATCHINGS, f"{source}: sample_batching"
        )
    if "fail_closed" in data:
        given["fail_closed"] = data["fail_closed"]
    if "batch" in data:  # YAML 1.1 reads a bare on/off as true/false
        value = data["batch"]
        given["batch"] = _word({True: "on", False: "off"}.get(value, value), BATCH_MODES, f"{source}: batch")
    raw_gates = data.get("gates", {})
    if "alpha" in raw_gates:
        given["alpha"] = raw_gates["alpha"]
    given["quality_gates"] = quality_gates(raw_gates)
    return Config(prompts=tuple(entries), gates=gate_specs(raw_gates), source=source, **given)


def _word(value: object, words: tuple[Word, ...], where: str) -> Word:
    """A value the schema's `enum` admitted, as its closed set's type (the schema refuses any other value
    first; this keeps the types in step with it)."""
    known = one_of(value, words)
    if known is None:
        raise UsageError(f"{where}: must be one of {', '.join(words)}")
    return known


def _with_quality(entry: PromptEntry, item: Mapping[str, Any], where: str) -> PromptEntry:
    """The entry's `expect`, `evaluators` and `must_refuse` (issue 11), parsed after the schema checked them."""
    from dataclasses import replace

    return replace(
        entry,
        expect=parse_expect(item.get("expect", {}), f"{where}.expect"),
        evaluators=parse_evaluators(item.get("evaluators"), f"{where}.evaluators"),
        must_refuse=(
            parse_must_refuse(item["must_refuse"], f"{where}.must_refuse") if "must_refuse" in item else None
        ),
    )
