"""Plan a review: for every prompt to review, its sides (template, model, parameters, schema), the sampled
inputs, and one `PlannedCall` per input, sample and side. No model is called here.

The planner checks what can be checked before spending money: template variables against the suite's
columns, schemas, model specs (the provider is created, so an unknown provider fails now).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from promptreview.engine.jobs import (
    Listed,
    PlannedCall,
    PromptJob,
    ReviewOptions,
    ReviewPlan,
    Side,
)
from promptreview.engine.planning import policy
from promptreview.engine.planning.contract import config_schema, contract_rows, under_contract
from promptreview.engine.planning.output_mode import mode_note, output_mode
from promptreview.engine.planning.safety import with_safety
from promptreview.errors import UsageError
from promptreview.notes import Note, note
from promptreview.providers import create_provider, parse_model_spec
from promptreview.providers.base import Provider
from promptreview.records import CompletionRequest, Message, ModelSpec
from promptreview.report.document import Conversations
from promptreview.sources import conversations, git, paths, tools
from promptreview.sources.changes import ChangeSet, PromptChange
from promptreview.sources.config import Config, PromptEntry, SampleSpec
from promptreview.sources.formats import load_prompts
from promptreview.sources.formats.base import Beside
from promptreview.sources.formats.plain import pair_parts
from promptreview.sources.safety import SafetyRow, safety_rows
from promptreview.sources.schemas import load_schema, make_validator, resolve_refs
from promptreview.sources.suites import SuiteRow, SuiteSample, load_rows, sample_suite
from promptreview.sources.template import PromptTemplate, check_template
from promptreview.vocabulary import ChangeKind, ProviderName
from promptreview.vocabulary import Side as SideName  # `Side` here is the record of one side


@dataclass(frozen=True)
class Version:
    """One side's version of a prompt file, and the revision its config-named schema is read at."""

    side: SideName
    template: PromptTemplate
    rev: str | None  # None: the working tree


class _Planner:
    def __init__(
        self, opts: ReviewOptions, config: Config, suite_rev: str | None, contract_rev: str | None = None
    ) -> None:
        self.opts, self.config, self.suite_rev = opts, config, suite_rev
        # the revision that owns the contract: the config's schema files are read there for both sides
        self.contract_rev = contract_rev
        self.root = opts.repo_root
        self.providers: dict[ProviderName, Provider] = {}
        self.samples = opts.samples or config.samples
        self._suites: dict[tuple[str, tuple[str, ...], SampleSpec], SuiteSample] = {}
        self.free_paths = False  # read suites from any local path (set for `compare` outside a repository)
        self._base_models: list[str] | None = None
        # a model migration (`migrate`): the head side runs on `target`; the base side on `source` when given,
        # else on the model the prompt runs on today
        self.target: ModelSpec | None = None
        self.source: ModelSpec | None = None
        self.safety: tuple[SafetyRow, ...] = ()  # `migrate --safety`: must-refuse rows added to every prompt
        # a pull request whose config moves prompts to another model: per prompt, what each side runs on
        self.moves: Mapping[str, ModelMove] = {}

    def suite(
        self, entry: PromptEntry, versions: Sequence[Version] = (), contract: PromptTemplate | None = None
    ) -> SuiteSample:
        spec = entry.sample if self.opts.seed is None else replace(entry.sample, seed=self.opts.seed)
        if entry.suite is None:
            return self._file_suite(entry, spec, versions, contract)
        key = (entry.suite, entry.strata, entry.sample)
        if key not in self._suites:
            rel, data = self._read_suite(entry.suite)
            self._suites[key] = sample_suite(
                rel, load_rows(rel, data), entry.strata, spec, entry.id_column, self.config.min_per_stratum
            )
        return self._suites[key]

    def _read_suite(self, raw: str) -> tuple[str, bytes]:
        """A suite inside the repository (at the config's revision); outside a repository (`compare` run
        anywhere), any local path: there is no revision to read it at and nothing to keep it inside."""
        if self.free_paths:
            path = Path(raw) if Path(raw).is_absolute() else self.root / raw
            if not path.is_file():
                raise UsageError(f"suite: file {raw!r} does not exist")
            return raw, path.read_bytes()
        return paths.read_inside(self.root, self.suite_rev, raw, "suite")

    def _file_suite(
        self,
        entry: PromptEntry,
        spec: SampleSpec,
        versions: Sequence[Version],
        contract: PromptTemplate | None,
    ) -> SuiteSample:
        """The inputs the prompt file carries (`testData`, `sample`). The base's rows are the contract
        (`contract`: the base's version of the file): they all run, and they alone (the head's rows new to them
        are counted in a note, `contract_rows_added`: pooled, they would dilute a regression on the contract's);
        a base row the head drops or edits is named (`contract_rows_removed`, which needs the accept label)."""
        head = versions[-1].template if versions else None
        if self.contract_rev is None and head is not None and head.suite:
            contract = None  # `compare`: the operator's own files: the new one's rows, else the old's
        fork = versions[0].template if len(versions) == 2 else None
        rows, _, added = contract_rows(contract, head, entry.id_column, fork)
        source = contract if contract is not None and contract.suite else head
        if rows and source is not None:
            where = f"{source.path} ({source.suite_source})"
            sample = sample_suite(
                where, rows, entry.strata, spec, entry.id_column, self.config.min_per_stratum
            )
            said = [note("file_suite", source.path, inputs=len(rows), source=source.suite_source)]
            if added:
                said.append(note("contract_rows_added", source.path, count=added))
            return replace(sample, notes=(*said, *sample.notes))
        path = head.path if head is not None else "the prompt file"
        raise UsageError(
            f"{path}: no suite: name one (suite: in the config, --suite for compare) or give the prompt file "
            "its own inputs (testData in a .prompt.yml, sample in a .prompty)"
        )

    def model(self, template: PromptTemplate, entry: PromptEntry) -> tuple[ModelSpec, Note | None]:
        """The model a side runs on (its provider created, so a misconfigured one fails before any call), and
        the note that says what stood in for the file's own, if anything (`resolve`)."""
        spec, said = self.resolve(template, entry)
        return self._provided(spec), said

    def resolve(self, template: PromptTemplate, entry: PromptEntry) -> tuple[ModelSpec, Note | None]:
        """The model a prompt file runs on, and the note that says what stood in for the file's own, if any.

        `--model` wins; then the file's own model, in any spelling of a provider we speak (production sends it:
        the config's `model` fills only what a file leaves out); where the config's `models_map` names a stand-in
        for it, that; a model no provider of ours serves runs on the entry's or the config's model, with a note.
        """
        if self.opts.model:
            return parse_model_spec(self.opts.model), None
        own = template.model or template.model_hint
        named = template.model_named or own
        fallback = entry.model or self.config.model
        if named is None:
            return parse_model_spec(fallback), None
        key = next((k for k in (named, own and _canonical(own)) if k and k in self.config.models_map), None)
        if key is not None:
            try:
                spec = parse_model_spec(self.config.models_map[key])
            except UsageError as exc:
                raise UsageError(f"{self.config.source}: models_map[{key!r}]: {exc}") from None
            said = note("model_stand_in", template.path, named=named, model=str(spec), mapped=True)
            return spec, said
        if own is not None:
            try:
                return parse_model_spec(own), None
            except UsageError as exc:
                raise UsageError(f"{template.path}: {exc}") from None
        spec = parse_model_spec(fallback)
        if policy.in_ci(self.opts.env):  # a green check would say production's model was reviewed
            raise UsageError(
                f"{template.path}: the file's model {named!r} is not one promptreview can call, and a CI review "
                f"on {spec} instead would pass for it; name what stands in for it under models_map: in "
                f"{self.config.source} on the base branch"
            )
        return spec, note("model_stand_in", template.path, named=named, model=str(spec), mapped=False)

    def _provided(self, spec: ModelSpec) -> ModelSpec:
        """`spec`, its provider created (so an unknown or misconfigured one fails now, before any call)."""
        if spec.provider not in self.providers:
            self.providers[spec.provider] = create_provider(spec.provider, self.opts.env)
        return spec

    def side(
        self,
        name: SideName,
        template: PromptTemplate,
        entry: PromptEntry,
        rev: str | None,
        suite: SuiteSample,
    ) -> tuple[Side, Note | None]:
        """One side of a prompt, and the note that says what stood in for the file's model, if anything."""
        check_template(template, suite.columns, suite.path)
        schema: dict[str, Any] | None = None
        own: dict[str, Any] | None = None
        if template.schema is not None:
            schema = resolve_refs(template.schema, template.path, self.root, rev, template.path)
            make_validator(schema, template.path)
        elif entry.schema:
            if self.free_paths:  # `compare` outside a repository: any local path, read where it is
                where = Path(entry.schema) if Path(entry.schema).is_absolute() else self.root / entry.schema
                schema = load_schema(where.parent, None, where.name)
            else:
                own = load_schema(self.root, rev, entry.schema)  # this side's version: it must be valid too
                schema = config_schema(self.root, self.contract_rev, entry.schema, rev)
        params = {**self.config.params, **template.params}  # the config's fill only what the file leaves out
        model, stand_in = self.model(template, entry)
        if self.target is not None and name == "head":
            model, stand_in = self._provided(self.target), None
        elif self.source is not None:
            model = self._provided(self.source)
        elif template.path in self.moves:
            move = self.moves[template.path]
            model, stand_in = self._provided(move.base if name == "base" else move.head), None
        policy.check_params(params, model.provider, template.path)
        declared, choice = _side_tools(template, entry, params, self.config.source)
        params = {k: v for k, v in params.items() if k not in ("tools", "tool_choice")}  # request fields
        sends = template.schema is not None
        own_schema = own if own != schema else None
        side = Side(name, template, model, params, schema, sends, own_schema, declared, choice)
        return side, stand_in

    def check_models(self, path: str, sides: tuple[Side, ...], base_stand_in: Note | None) -> None:
        """Every side on a model the base names (a git review only: `compare` is the operator's own pair of
        files, with no base commit to own the contract). The base prompt file names the model its side runs
        on when it names one that ran as itself (`base_stand_in` None: no `models_map` entry nor the config's
        model stood in for it; those the base config names itself)."""
        if self.opts.model or self.contract_rev is None:
            return
        base = sides[0] if len(sides) == 2 else None
        head = sides[-1]
        named = []
        if base is not None and _names_model(base.template) and base_stand_in is None:
            named.append(str(base.model))

        def check(base_named: list[str]) -> None:
            policy.check_models(
                path, base.model if base else None, head.model, self.config, self.opts.env, base_named,
                head_names_one=_names_model(head.template),
            )  # fmt: skip

        try:
            check(named)
        except UsageError:
            # the base's other prompt files name models too: a new prompt on the model its neighbours run on
            # is no migration (read only on this path: most reviews never need every base prompt file)
            wider = [*named, *self.models_at_base()]
            if len(wider) == len(named):
                raise
            check(wider)

    def models_at_base(self) -> list[str]:
        """The models the base's prompt files name and run on as themselves (no stand-in): read once."""
        if self._base_models is None:
            rev = self.contract_rev
            assert rev is not None  # a git review: `compare` has no base to name models
            wanted = [
                p
                for p in git.list_files(self.root, rev)
                if self.config.entry_for(p) is not None and not paths.is_partial(p)
            ]
            found: list[str] = []
            for file, data in git.read_many(self.root, rev, wanted).items():
                entry = self.config.entry_for(file)
                assert entry is not None
                try:
                    beside = Beside(paths.reader(self.root, rev), entry.partials)
                    for template in load_prompts(file, data, beside):
                        if _names_model(template):
                            # resolved only: no provider is made for a model this review does not call
                            spec, stand_in = self.resolve(template, entry)
                            if stand_in is None:
                                found.append(str(spec))
                except UsageError:
                    continue  # a base file that cannot be read names nothing
            self._base_models = sorted(set(found))
        return self._base_models

    def check_model_change_reviewed(
        self, path: str, sides: tuple[Side, ...], stand_ins: Sequence[Note | None]
    ) -> None:
        """A file that changes the model it names is reviewed old model against new: where a model that cannot
        be reached would run on the config's model, the very model on the other side, the change would go
        unreviewed, so it is refused (a `models_map` stand-in is the operator's word, model by model: it runs)."""
        if self.opts.model or len(sides) < 2:
            return
        base, head = sides
        names = [s.template.model_named or s.template.model or s.template.model_hint for s in sides]
        if names[0] == names[1] or base.model != head.model:
            return
        if not any(n is not None and not n.data["mapped"] for n in stand_ins):
            return
        raise UsageError(
            f"{path}: the prompt file moves from model {names[0]!r} to {names[1]!r}, but both would run on "
            f"{head.model} and the change would go unreviewed; say what stands in for each under models_map: "
            f"in {self.config.source}"
        )

    def job(
        self,
        index: int,
        path: str,
        change: ChangeKind,
        old_path: str | None,
        entry: PromptEntry,
        versions: Sequence[Version],
        tip: PromptTemplate | None = None,
        moved: Sequence[Note] = (),
    ) -> PromptJob:
        """One prompt's job. `tip`: the file's version at the base branch's tip, when that is not the merge
        base's (the contract is the tip's; the base side runs the merge base's version); `moved`: what finding
        the change noticed (a move between entries)."""
        contract = tip if tip is not None else versions[0].template if len(versions) == 2 else None
        suite = self.suite(entry, versions, contract)
        safety: list[Note] = []
        if self.safety:
            suite, entry, said = with_safety(suite, entry, [v.template for v in versions], self.safety)
            safety.append(said)
        planned = [self.side(v.side, v.template, entry, v.rev, suite) for v in versions]
        sides = tuple(side for side, _ in planned)
        self.check_models(path, sides, planned[0][1] if len(planned) == 2 else None)
        self.check_model_change_reviewed(path, sides, [said for _, said in planned])
        sides, contract_notes = under_contract(sides, self.tip_schema(tip))
        breaches: list[Note] = []
        if entry.suite is None and self.contract_rev is not None:
            fork = versions[0].template if len(versions) == 2 else None
            _, removed, _ = contract_rows(contract, versions[-1].template, entry.id_column, fork)
            if removed:
                breaches.append(note("contract_rows_removed", path, rows=removed[:10], count=len(removed)))
        stand_ins = list(dict.fromkeys(said for _, said in planned if said is not None))
        notes = [*moved, *suite.notes, *safety, *contract_notes, *(n for n in stand_ins if n.data["mapped"])]
        replay = _conversations(suite, sides[-1])
        if replay is not None:  # the replay's blind spot, said out loud
            depths = tuple(replay.depths.items())
            notes.append(
                note("conversation_replay", rows=replay.rows, other=replay.other, unknown=replay.unknown,
                     depths=depths)
            )  # fmt: skip
        warnings = [w for v in versions for w in v.template.warnings]
        warnings += [n for n in stand_ins if not n.data["mapped"]]
        used = frozenset(n for side in sides for n in side.template.variables()) & suite.columns
        used |= (
            frozenset({conversations.COLUMN}) & suite.columns
        )  # the history is sent, whatever the template
        if not used and len(suite.rows) > 1:
            warnings.append(note("unused_columns", suite.path, columns=tuple(sorted(suite.columns))))
        mode = output_mode(entry.output, sides)
        notes.append(mode_note(mode, entry.output))
        if len(sides) == 1:
            notes.append(note("new_prompt"))
        elif sides[0].model != sides[1].model:
            notes.append(note("model_changed", base=str(sides[0].model), head=str(sides[1].model)))
        calls = tuple(
            PlannedCall(index, side.name, row.input_id, row.stratum, k, request)
            for side in sides
            for row in suite.rows
            for k, request in enumerate(_requests(side, self.render(side, row), self.samples))
        )
        return PromptJob(
            index, path, change, old_path, suite, sides, self.samples, calls, tuple(notes), entry,
            output_mode=mode, warnings=tuple(dict.fromkeys(warnings)), variables=used, contract=contract,
            needs_acceptance=tuple(breaches), head_trusted=self.contract_rev is None,
            expected_tools=_expected_tools(sides, suite),
            conversations=replay,
        )  # fmt: skip

    def tip_schema(self, tip: PromptTemplate | None) -> dict[str, Any] | None:
        """The schema the prompt file declares at the base branch's tip (None: none, or no tip version)."""
        if tip is None or tip.schema is None:
            return None
        schema = resolve_refs(tip.schema, tip.path, self.root, self.contract_rev, tip.path)
        make_validator(schema, tip.path)
        return schema

    def render(self, side: Side, row: SuiteRow) -> tuple[Message, ...]:
        """One request's messages: every value the template needs present, the whole within
        `max_request_chars`; either failure names the row, before any call."""
        label = f"row {row.input_id!r}"
        for name in sorted(side.template.variables()):
            # a format whose engine renders a null (Dotprompt's Handlebars: empty) takes it as a value
            if name in row.values and row.values[name] is None and not side.template.null_is_value:
                raise UsageError(
                    f"{side.template.path}: suite {label} has no value for template variable '{name}'"
                )
        messages = side.template.render(row.values, label)
        if row.values.get(
            conversations.COLUMN
        ):  # a conversation: the prompt's system, the history, its own turn
            messages = conversations.compose(messages, row.values[conversations.COLUMN])
        # the schema sent as structured output is part of every request, and is counted as such
        schema = side.wire_schema_chars
        size = sum(len(m.content) for m in messages) + schema
        limit = self.config.max_request_chars
        if size > limit:
            with_schema = f" with its {schema:,}-character schema" if schema else ""
            raise UsageError(
                f"{side.template.path}: the request rendered for suite {label}{with_schema} is {size:,} "
                f"characters, over max_request_chars = {limit:,} (set in {self.config.source})"
            )
        return messages

    def plan(self, jobs: list[PromptJob], listed: list[Listed]) -> ReviewPlan:
        return ReviewPlan(tuple(jobs), tuple(listed), dict(self.providers), self.opts.seed or 0)


def _names_model(template: PromptTemplate) -> bool:
    """Whether a prompt file names a model of its own, in any spelling."""
    return any(m is not None for m in (template.model, template.model_hint, template.model_named))


def _canonical(spec: str) -> str:
    """`spec` as `provider:model-id` (the spelling `models_map` keys may use), or as it is if it is none."""
    try:
        return str(parse_model_spec(spec))
    except UsageError:
        return spec


def _side_tools(
    template: PromptTemplate, entry: PromptEntry, params: Mapping[str, Any], config_source: str
) -> tuple[tools.Tools, tools.ToolChoice]:
    """The tools a side sends and its `tool_choice`: the prompt file's own, else its config entry's; each
    tool's parameter schema compiled before any call (a schema that cannot be is exit 2, naming the tool)."""
    if "tools" in template.params or not entry.tools:
        where, raw, choice = template.path, params.get("tools"), params.get("tool_choice")
    else:
        where, raw, choice = (
            f"{config_source}: the entry of {template.path}",
            list(entry.tools),
            entry.tool_choice,
        )
    declared = tools.function_tools(where, raw)
    tools.parameter_validators(declared, where)
    return declared, tools.tool_choice(where, choice, declared)


def _conversations(suite: SuiteSample, head: Side) -> Conversations | None:
    """A suite of conversations' depths and its replay's blind spot against the head's model (None: the suite
    has no `messages`)."""
    if conversations.COLUMN not in suite.columns:
        return None
    histories = [row.values.get(conversations.COLUMN) or [] for row in suite.rows]
    # a prompt with a user turn of its own replays a history's last answer too (`conversations.replayed`)
    own_turn = any(role not in ("system", "developer") for role, _ in head.template.messages)
    origins = [conversations.origin(h, str(head.model), own_turn=own_turn) for h in histories]
    depths: dict[str, int] = {}
    for row in suite.rows:
        label = str(row.values.get(conversations.DEPTH))
        depths[label] = depths.get(label, 0) + 1
    return Conversations(
        rows=len(suite.rows),
        with_history=sum(bool(h) for h in histories),
        depths=dict(sorted(depths.items())),
        other=origins.count("other"),
        unknown=origins.count("unknown"),
    )


def _expected_tools(sides: Sequence[Side], suite: SuiteSample) -> dict[str, str | bool]:
    """Per input, the call it expects (`tools.expected_call`): its row's `expect_tool`, else the `tool_choice`
    of the base (the contract: a head that drops `required` still owes the call). Empty without tools."""
    if not any(side.tools for side in sides):
        return {}
    names = list(dict.fromkeys(n for side in sides for n in tools.tool_names(side.tools)))
    choice = sides[0].tool_choice
    return {
        row.input_id: tools.expected_call(
            row.values.get(tools.EXPECT_COLUMN), choice, f"{suite.path}: row {row.input_id!r}", names
        )
        for row in suite.rows
    }


def _requests(side: Side, messages: tuple[Message, ...], samples: int) -> list[CompletionRequest]:
    first = CompletionRequest(
        model=side.model,
        messages=messages,
        params=tuple(sorted(side.params.items())),
        response_schema=side.wire_schema,
        schema_name=side.template.schema_name,
        schema_strict=side.template.schema_strict if side.sends_schema else None,
        sample_index=0,
        expected_schema=None if side.sends_schema else side.schema,
        json_object=side.template.json_object and not side.sends_schema,
        tools=side.tools,
        tool_choice=side.tool_choice,
    )
    return [first, *(first.with_sample(k) for k in range(1, samples))]


def plan_changes(
    opts: ReviewOptions, config: Config, changes: ChangeSet, moves: Mapping[str, ModelMove] | None = None
) -> ReviewPlan:
    """The plan for `check`/`ci`: every changed prompt file; suites come from the config's revision. `moves`:
    the prompts the pull request's config moves to another model (`config_model_moves`), by prompt path."""
    # the contract (config-named schemas, a prompt file's own schema, evaluators and rows) is read at the base
    # branch's tip (CI's config revision), the diff from the merge base
    contract_rev = opts.config_rev or changes.base
    planner = _Planner(opts, config, opts.config_rev if opts.config_rev else opts.head, contract_rev)
    planner.moves = moves or {}
    jobs: list[PromptJob] = []
    listed: list[Listed] = []
    for change in changes.prompts:
        if change.listed is not None:
            leaves = change.change == "removed" and config.removal != "allow"
            listed.append(Listed(change.path, change.change, change.old_path, change.listed, leaves))
            continue
        assert change.head is not None  # only a removed prompt lacks a head, and it is listed
        # each side reads the files beside its prompt (partials, a config.json) at its own commit
        partials = change.entry.partials
        heads = load_prompts(
            change.path, change.head, Beside(paths.reader(opts.repo_root, changes.head), partials)
        )
        bases: tuple[PromptTemplate, ...] = ()
        tips: tuple[PromptTemplate, ...] = ()
        moved = _moved(config, change.base_path, change.path, change.copied_from)
        if change.base is not None and change.base_path is not None:
            at_base = Beside(paths.reader(opts.repo_root, changes.base), partials)
            bases = load_prompts(change.base_path, change.base, at_base)
            if contract_rev != changes.base:
                at_tip = git.read_at(opts.repo_root, contract_rev, change.base_path)
                if at_tip is not None and at_tip != change.base:  # main changed the file since the fork
                    at_contract = Beside(paths.reader(opts.repo_root, contract_rev), partials)
                    tips = load_prompts(change.base_path, at_tip, at_contract)
        # Front matter added to a plain `.md`, or a `---` line that splits a `.txt` into promptfoo parts, changes
        # how the file is read: the change is said, the head is reviewed as its format reads it, and a base that
        # was one prompt is the base of every part (no part is "added", none skipped as unchanged)
        changed_format = _format_change(bases, heads)
        multi = len(heads) > 1 or len(bases) > 1
        # otherwise a multi-prompt file (promptfoo) pairs its prompts by identity, not position: inserting one
        # is one added prompt, not every later one modified
        one_base = changed_format is not None and len(bases) == 1
        pairs = [(bases[0], head) for head in heads] if one_base else pair_parts(bases, heads)
        for base, head in pairs:
            if head is None:
                assert base is not None
                gone = note("removed_from_file")
                listed.append(Listed(base.path, "removed", None, gone, config.removal != "allow"))
                continue
            unchanged = base is not None and replace(base, path=head.path) == head
            if multi and not one_base and unchanged and head.path not in planner.moves:
                continue  # an unchanged part of a multi-prompt file: nothing to review
            versions = [Version("base", base, changes.base)] if base is not None else []
            versions.append(Version("head", head, changes.head))
            kind = change.change if base is not None else "added"
            old = change.old_path if base is not None else None
            # the base file at the contract's revision: its part in the base's place (main's edit of it); a base
            # that was one prompt is the base of every part of a file whose format changed
            tip_at = (
                0
                if changed_format and len(tips) == 1
                else bases.index(base)
                if base is not None
                else len(tips)
            )
            tip = tips[tip_at] if base is not None and tip_at < len(tips) else None
            job = planner.job(len(jobs), head.path, kind, old, change.entry, versions, tip, moved)
            if changed_format is not None:
                job = replace(job, notes=(changed_format, *job.notes))
            jobs.append(job)
    return planner.plan(jobs, listed)


def _moved(config: Config, old: str | None, new: str, copied_from: str | None = None) -> list[Note]:
    """A prompt renamed from one config entry to another, or a copy of another entry's prompt, is reviewed under
    the strictest of the two (`sources.changes.strictest`): the note says so."""
    if copied_from is not None:
        before, after = config.entry_for(copied_from), config.entry_for(new)
        assert before is not None and after is not None
        files = {"before": ", ".join(before.files), "after": ", ".join(after.files)}
        return [note("entry_copied", new, source=copied_from, **files)]
    before, after = (config.entry_for(old) if old else None), config.entry_for(new)
    if before is None or after is None or before == after:
        return []
    return [note("entry_moved", new, before=", ".join(before.files), after=", ".join(after.files))]


def _format_change(bases: Sequence[PromptTemplate], heads: Sequence[PromptTemplate]) -> Note | None:
    """The note that a file is read in another format at head than at base (None: the same, or no base)."""
    if not bases:
        return None
    base, head = bases[0].format, heads[0].format
    if base == head:
        return None
    return note("format_changed", heads[0].path.split("#", 1)[0], base=base, head=head, parts=len(heads))


def plan_files(
    opts: ReviewOptions, config: Config, old: str, new: str, entry: PromptEntry | None
) -> ReviewPlan:
    """The plan for `compare`: NEW against OLD, read from disk; no git."""
    old_path, new_path = Path(old), Path(new)
    for p in (old_path, new_path):
        if not p.is_file():
            raise UsageError(f"prompt file {str(p)!r} does not exist")
    # no entry covers the files: they bring their own inputs (testData, sample) or --suite does; another entry's
    # suite and checks would review them against inputs and rules that are not theirs
    entry = entry or config.entry_for(new, old) or PromptEntry(files=(new,), suite=None)
    planner = _Planner(opts, config, None)
    planner.free_paths = not (opts.repo_root / ".git").exists()  # not a repository: no git, no inside
    bases = load_prompts(
        old, old_path.read_bytes(), Beside(paths.disk_reader(opts.repo_root, old_path), entry.partials)
    )
    heads = load_prompts(
        new, new_path.read_bytes(), Beside(paths.disk_reader(opts.repo_root, new_path), entry.partials)
    )
    jobs: list[PromptJob] = []
    listed: list[Listed] = []
    # a multi-prompt file: every part is reviewed, paired by identity as in `check`
    for base, head in pair_parts(bases, heads):
        if head is None:
            assert base is not None
            gone = note("removed_from_file")
            listed.append(Listed(base.path, "removed", None, gone, config.removal != "allow"))
            continue
        versions = [Version("base", base, None)] if base is not None else []
        versions.append(Version("head", head, None))
        renamed = base is not None and base.path.partition("#")[0] != head.path.partition("#")[0]
        old_name = base.path if renamed and base is not None else None
        kind: ChangeKind = "modified" if base is not None else "added"
        jobs.append(planner.job(len(jobs), head.path, kind, old_name, entry, versions))
    return planner.plan(jobs, listed)


# -- a model migration: every prompt the config covers, on the model it runs on today and on a candidate -----


def plan_migration(
    opts: ReviewOptions,
    config: Config,
    prompts: Sequence[PromptChange],
    target: ModelSpec,
    source: ModelSpec | None = None,
    safety: bool = False,
) -> ReviewPlan:
    """The plan for `migrate`: every prompt of `prompts` (as it is now) twice over the same sampled inputs,
    the base side on the model it runs on today (`source` when given: then only the prompts that run on it),
    the head side on `target`. A prompt already on `target` is listed, not run. The candidate must be a model
    the config allows (`policy.check_migration`), before any call. `safety`: the packaged must-refuse rows run
    beside every prompt's inputs (`engine.planning.safety`)."""
    planner = _Planner(opts, config, opts.head)
    planner.target, planner.source = target, source
    planner.safety = safety_rows() if safety else ()
    jobs: list[PromptJob] = []
    listed: list[Listed] = []
    today: dict[str, str] = {}  # prompt → the model it runs on now
    named: list[str] = []  # the models the prompt files name and run on as themselves
    for change in prompts:
        assert change.head is not None
        beside = Beside(paths.reader(opts.repo_root, opts.head), change.entry.partials)
        for template in load_prompts(change.path, change.head, beside):
            current, stand_in = planner.resolve(template, change.entry)
            today[template.path] = str(current)
            if _names_model(template) and stand_in is None:
                named.append(str(current))
            if source is not None and current != source:
                continue  # another model's prompt: not this migration's
            if current == target:
                listed.append(
                    Listed(template.path, "modified", None, note("already_on_model", model=str(target)))
                )
                continue
            versions = [Version("base", template, opts.head), Version("head", template, opts.head)]
            jobs.append(planner.job(len(jobs), template.path, "modified", None, change.entry, versions))
    if source is not None and not jobs and not listed:
        runs = ", ".join(sorted(set(today.values())))
        raise UsageError(f"--from {source}: no selected prompt runs on it (they run on {runs})")
    policy.check_migration(target, config, named)
    return planner.plan(jobs, listed)


# -- a pull request that changes the config's models: the prompts it moves are a model migration -----------


@dataclass(frozen=True)
class ModelMove:
    """What a prompt runs on before and after a pull request's config change."""

    base: ModelSpec
    head: ModelSpec


def _model_keys(config: Config) -> tuple[Any, ...]:
    """Everything in a config that decides which model a prompt runs on."""
    return (config.model, tuple(e.model for e in config.prompts), tuple(sorted(config.models_map.items())))


def config_model_moves(
    opts: ReviewOptions,
    fork: Config,
    after: Config,
    contract: Config,
    prompts: Sequence[PromptChange],
    rev: str | None,
) -> dict[str, ModelMove]:
    """The prompts (of `prompts`: every covered prompt file at the head) whose model the pull request's config
    changes (its default `model:`, an entry's `model:`, a `models_map` stand-in: `fork`, the merge base's
    config, against `after`, the head's): each runs on the `contract` config's resolution at the base side
    (CI: the base tip's, what production runs; a change main made since the fork is no move of this pull
    request's) and on `after`'s at the head side. A changed default model is a change to what production runs,
    so it is reviewed like a prompt file that changes its own model; which models a prompt may move to stays
    the base config's to say (`policy.check_models`). `rev`: the head's revision (None: the working tree).
    Nothing when `--model` overrides both sides, or when no model key changed."""
    if opts.model or _model_keys(fork) == _model_keys(after):
        return {}
    old, new, now = _Planner(opts, fork, None), _Planner(opts, after, None), _Planner(opts, contract, None)
    moves: dict[str, ModelMove] = {}
    for change in prompts:
        assert change.head is not None
        entries = (fork.entry_for(change.path), after.entry_for(change.path), contract.entry_for(change.path))
        if any(e is None for e in entries):
            continue
        was, becomes, runs = entries
        assert was is not None and becomes is not None and runs is not None
        beside = Beside(paths.reader(opts.repo_root, rev), change.entry.partials)
        for template in load_prompts(change.path, change.head, beside):
            head, _ = new.resolve(template, becomes)
            if old.resolve(template, was)[0] == head:
                continue  # the pull request did not move it
            base, _ = now.resolve(template, runs)
            if base != head:
                moves[template.path] = ModelMove(base, head)
    return moves


# -- drift: every prompt the config covers, asked again on the requests a review recorded ------------------


def plan_current(opts: ReviewOptions, config: Config, prompts: ChangeSet) -> ReviewPlan:
    """The plan for `drift`: every prompt of `prompts` (`changes.prompts_at`: one revision's files, the same
    bytes on both sides) planned as a review of an unchanged prompt, both sides the same requests; every part
    of a multi-prompt file is planned (none is skipped as unchanged). The suites, the config's schemas and the
    contract are read at that revision."""
    rev = prompts.base
    planner = _Planner(opts, config, rev, rev)
    jobs: list[PromptJob] = []
    for change in prompts.prompts:
        assert change.head is not None  # `prompts_at` lists no removed prompt
        beside = Beside(paths.reader(opts.repo_root, rev), change.entry.partials)
        for template in load_prompts(change.path, change.head, beside):
            versions = [Version("base", template, rev), Version("head", template, rev)]
            jobs.append(planner.job(len(jobs), template.path, "modified", None, change.entry, versions))
    return planner.plan(jobs, [])
