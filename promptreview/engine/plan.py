"""Plan a review: for every prompt to review, its sides (template, model, parameters, schema), the sampled
inputs, and one `PlannedCall` per input, sample and side. No model is called here.

The planner checks what can be checked before spending money: template variables against the suite's
columns, schemas, model specs (the provider is created, so an unknown provider fails now).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from promptreview.engine import policy
from promptreview.errors import UsageError
from promptreview.providers import create_provider, parse_model_spec
from promptreview.providers.base import Provider
from promptreview.records import CompletionRequest, Message, ModelSpec
from promptreview.sources import paths
from promptreview.sources.changes import ChangeSet
from promptreview.sources.config import Config, PromptEntry, SampleSpec
from promptreview.sources.prompts import PromptTemplate, check_template, load_prompt
from promptreview.sources.schemas import load_schema, make_validator, resolve_refs
from promptreview.sources.suites import SuiteRow, SuiteSample, load_rows, sample_suite

ProgressCallback = Callable[[int, int], None]  # (calls done, calls in all)


@dataclass(frozen=True)
class ReviewOptions:
    """What a front-end asks of a review (flags over the config)."""

    repo_root: Path
    env: Mapping[str, str]  # provider keys, base URLs, cache location: the front-end's environment, passed in
    config_path: str = "promptreview.yml"  # repo-relative
    config_rev: str | None = None  # read the config (and suites) from this revision: CI passes the base SHA
    base: str | None = None
    head: str | None = None  # None = the working tree
    model: str | None = None
    samples: int | None = None
    seed: int | None = None
    concurrency: int | None = None
    use_cache: bool = True
    plan_only: bool = False
    progress: ProgressCallback | None = None
    judge_review: bool = False  # `--judge`: head's changed judge over base's outputs


@dataclass(frozen=True)
class Side:
    """One version of one prompt: its template, the model it runs on, and its schema."""

    name: str  # base | head
    template: PromptTemplate
    model: ModelSpec
    params: Mapping[str, Any]
    schema: dict[str, Any] | None  # what outputs are validated against
    sends_schema: bool  # the prompt file itself declares it, so it goes on the wire
    # the schema this side's own files declare, when the base's contract (`schema`) differs from it: what goes
    # on the wire, and what the report says the head's schema would have judged
    own_schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class PlannedCall:
    """One model call of the review, and where its answer belongs."""

    job: int  # index of its `PromptJob` in the plan
    side: str  # base | head
    input_id: str
    stratum: str
    sample: int  # 0..K-1
    request: CompletionRequest


@dataclass(frozen=True)
class PromptJob:
    """One prompt file to review: both sides over the same sampled inputs."""

    index: int
    path: str
    change: str  # modified | added | renamed
    old_path: str | None
    suite_sample: SuiteSample  # the inputs both sides run on
    sides: tuple[Side, ...]  # (base, head), or (head,) for an added prompt
    samples: int  # K: completions per input and side
    calls: tuple[PlannedCall, ...]
    notes: tuple[str, ...]
    entry: PromptEntry | None = None  # the config entry that covers it (its quality checks)

    @property
    def head(self) -> Side:
        return self.sides[-1]


@dataclass(frozen=True)
class Version:
    """One side's version of a prompt file, and the revision its config-named schema is read at."""

    side: str  # base | head
    template: PromptTemplate
    rev: str | None  # None: the working tree


@dataclass(frozen=True)
class Listed:
    """A changed prompt with nothing to run (removed, renamed without a change): listed in the report."""

    path: str
    change: str
    old_path: str | None
    note: str
    # a prompt leaving the review (removed, or moved out of the globs): by default it needs the accept label
    needs_acceptance: bool = False


@dataclass(frozen=True)
class ReviewPlan:
    jobs: tuple[PromptJob, ...]
    listed: tuple[Listed, ...]
    providers: Mapping[str, Provider]  # by provider name, for every model a side runs on
    analysis_seed: int  # seeds the permutation tests (the sample's own seed is in each suite sample)

    @property
    def calls(self) -> list[PlannedCall]:
        return [call for job in self.jobs for call in job.calls]

    @property
    def models(self) -> set[ModelSpec]:
        return {side.model for job in self.jobs for side in job.sides}


class _Planner:
    def __init__(
        self, opts: ReviewOptions, config: Config, suite_rev: str | None, contract_rev: str | None = None
    ) -> None:
        self.opts, self.config, self.suite_rev = opts, config, suite_rev
        # the revision that owns the contract: the config's schema files are read there for both sides
        self.contract_rev = contract_rev
        self.root = opts.repo_root
        self.providers: dict[str, Provider] = {}
        self.samples = opts.samples or config.samples
        self._suites: dict[tuple[str, tuple[str, ...], SampleSpec], SuiteSample] = {}

    def suite(self, entry: PromptEntry) -> SuiteSample:
        key = (entry.suite, entry.strata, entry.sample)
        if key not in self._suites:
            rel, data = paths.read_inside(self.root, self.suite_rev, entry.suite, "suite")
            spec = entry.sample if self.opts.seed is None else replace(entry.sample, seed=self.opts.seed)
            self._suites[key] = sample_suite(rel, load_rows(rel, data), entry.strata, spec)
        return self._suites[key]

    def model(self, template: PromptTemplate, entry: PromptEntry) -> ModelSpec:
        spec = parse_model_spec(self.opts.model or template.model or entry.model or self.config.model)
        if spec.provider not in self.providers:
            self.providers[spec.provider] = create_provider(spec.provider, self.opts.env)
        return spec

    def side(
        self, name: str, template: PromptTemplate, entry: PromptEntry, rev: str | None, suite: SuiteSample
    ) -> Side:
        check_template(template, suite.columns, suite.path)
        schema: dict[str, Any] | None = None
        own: dict[str, Any] | None = None
        if template.schema is not None:
            schema = resolve_refs(template.schema, template.path, self.root, rev, template.path)
            make_validator(schema, template.path)
        elif entry.schema:
            own = load_schema(self.root, rev, entry.schema)  # this side's version: it must be valid too
            schema = self.config_schema(entry.schema, rev)
        params = {**self.config.params, **template.params}
        model = self.model(template, entry)
        policy.check_params(params, model.provider, template.path)
        sends = template.schema is not None
        return Side(name, template, model, params, schema, sends, own if own != schema else None)

    def config_schema(self, raw: str, rev: str | None) -> dict[str, Any]:
        """A config-named schema file, read at the contract's revision (the base commit), not the side's own:
        a pull request cannot loosen the schema it is judged by. A file the base lacks is read at `rev`."""
        if self.contract_rev is not None and self.contract_rev != rev:
            try:
                return load_schema(self.root, self.contract_rev, raw)
            except UsageError as exc:
                if "does not exist" not in str(exc):
                    raise
        return load_schema(self.root, rev, raw)

    def under_contract(self, sides: tuple[Side, ...]) -> tuple[tuple[Side, ...], list[str]]:
        """Both sides judged by the base side's schema (the head's own goes on the wire); the notes say so."""
        if len(sides) < 2:
            return sides, []
        base, head = sides
        contract = base.schema if base.schema is not None else head.schema
        head_own = head.own_schema if head.own_schema is not None else head.schema
        if head.schema == contract and head_own == contract:
            return sides, []
        notes = [
            "the output schema changed in this pull request: both sides are validated against the base "
            "commit's schema"
            + ("" if base.schema is not None else " (the base had none: the head's, for both)")
        ]
        sides = (
            replace(base, schema=contract),
            replace(head, schema=contract, own_schema=head_own),
        )
        return sides, notes

    def check_models(self, path: str, sides: tuple[Side, ...], entry: PromptEntry) -> None:
        """A prompt file that names its own model may move only to a model the base config allows (a git review
        only: `compare` is the operator's own pair of files, with no base commit to own the contract)."""
        if self.opts.model or self.contract_rev is None:
            return
        head = sides[-1]
        base_model = sides[0].model if len(sides) == 2 else None
        if base_model is not None and head.model == base_model:
            return
        named = [head.template.model] if head.template.model else []
        if base_model is None and not named:
            return
        policy.check_model_change(path, base_model, head.model, self.config, entry, self.opts.env)

    def job(
        self,
        index: int,
        path: str,
        change: str,
        old_path: str | None,
        entry: PromptEntry,
        versions: Sequence[Version],
    ) -> PromptJob:
        suite = self.suite(entry)
        sides = tuple(self.side(v.side, v.template, entry, v.rev, suite) for v in versions)
        self.check_models(path, sides, entry)
        sides, contract_notes = self.under_contract(sides)
        notes = [*suite.notes, *contract_notes]
        if len(sides) == 1:
            notes.append("a new prompt: no base to compare with; its rates are reported on their own")
        elif sides[0].model != sides[1].model:
            notes.append(f"model changed: base runs on {sides[0].model}, head on {sides[1].model}")
        calls = tuple(
            PlannedCall(index, side.name, row.input_id, row.stratum, k, request)
            for side in sides
            for row in suite.rows
            for k, request in enumerate(_requests(side, self.render(side, row), self.samples))
        )
        return PromptJob(
            index, path, change, old_path, suite, sides, self.samples, calls, tuple(notes), entry
        )

    def render(self, side: Side, row: SuiteRow) -> tuple[Message, ...]:
        """One request's messages: every value the template needs present, the whole within
        `max_request_chars`; either failure names the row, before any call."""
        label = f"row {row.input_id!r}"
        for name in sorted(side.template.variables()):
            if name in row.values and row.values[name] is None:
                raise UsageError(
                    f"{side.template.path}: suite {label} has no value for template variable '{name}'"
                )
        messages = side.template.render(row.values, label)
        size = sum(len(m.content) for m in messages)
        limit = self.config.max_request_chars
        if size > limit:
            raise UsageError(
                f"{side.template.path}: the request rendered for suite {label} is {size:,} characters, "
                f"over max_request_chars = {limit:,} (set in {self.config.source})"
            )
        return messages

    def plan(self, jobs: list[PromptJob], listed: list[Listed]) -> ReviewPlan:
        return ReviewPlan(tuple(jobs), tuple(listed), dict(self.providers), self.opts.seed or 0)


def _requests(side: Side, messages: tuple[Message, ...], samples: int) -> list[CompletionRequest]:
    params = tuple(sorted(side.params.items()))
    return [
        CompletionRequest(
            model=side.model,
            messages=messages,
            params=params,
            response_schema=(side.own_schema or side.schema) if side.sends_schema else None,
            schema_name=side.template.schema_name,
            sample_index=k,
            expected_schema=None if side.sends_schema else side.schema,
            json_object=side.template.json_object and not side.sends_schema,
        )
        for k in range(samples)
    ]


def plan_changes(opts: ReviewOptions, config: Config, changes: ChangeSet) -> ReviewPlan:
    """The plan for `check`/`ci`: every changed prompt file; suites come from the config's revision."""
    planner = _Planner(opts, config, opts.config_rev if opts.config_rev else opts.head, changes.base)
    jobs: list[PromptJob] = []
    listed: list[Listed] = []
    for change in changes.prompts:
        if change.listed is not None:
            leaves = change.change == "removed" and config.removal != "allow"
            listed.append(Listed(change.path, change.change, change.old_path, change.listed, leaves))
            continue
        assert change.head is not None  # only a removed prompt lacks a head, and it is listed
        versions = []
        if change.base is not None and change.base_path is not None:
            versions.append(Version("base", load_prompt(change.base_path, change.base), changes.base))
        versions.append(Version("head", load_prompt(change.path, change.head), changes.head))
        jobs.append(
            planner.job(len(jobs), change.path, change.change, change.old_path, change.entry, versions)
        )
    return planner.plan(jobs, listed)


def plan_files(
    opts: ReviewOptions, config: Config, old: str, new: str, entry: PromptEntry | None
) -> ReviewPlan:
    """The plan for `compare`: NEW against OLD, read from disk; no git."""
    old_path, new_path = Path(old), Path(new)
    for p in (old_path, new_path):
        if not p.is_file():
            raise UsageError(f"prompt file {str(p)!r} does not exist")
    entry = entry or config.entry_for(new, old) or (config.prompts[0] if config.prompts else None)
    if entry is None:
        raise UsageError("no suite: pass --suite FILE or a config whose prompts entry covers the files")
    planner = _Planner(opts, config, None)
    versions = [
        Version("base", load_prompt(old, old_path.read_bytes()), None),
        Version("head", load_prompt(new, new_path.read_bytes()), None),
    ]
    job = planner.job(0, new, "modified", old if old != new else None, entry, versions)
    return planner.plan([job], [])
