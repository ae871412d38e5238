"""The records a review's stages hand each other: what a front-end asks (`ReviewOptions`), and the plan
(`ReviewPlan` of `PromptJob`s, each with its `Side`s and `PlannedCall`s, and the `Listed` prompts with nothing
to run). A leaf: it imports no stage, so every stage can import it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from promptreview.notes import Note
from promptreview.providers.base import Provider
from promptreview.providers.retry import RetryPolicy
from promptreview.records import CompletionRequest, ModelSpec
from promptreview.report.document import Conversations
from promptreview.sources.config import DEFAULT_CONFIG_PATH, PromptEntry
from promptreview.sources.suites import SuiteSample
from promptreview.sources.template import PromptTemplate
from promptreview.vocabulary import BatchMode, ChangeKind, OutputMode, ProviderName
from promptreview.vocabulary import Side as SideName  # `Side` here is the record of one side

ProgressCallback = Callable[[int, int], None]  # (calls done, calls in all)
# (the ids of the provider batches a run waits on, whether the cache records them): said once a set is waited on
BatchesWaiting = Callable[[tuple[str, ...], bool], None]


@dataclass(frozen=True)
class ReviewOptions:
    """What a front-end asks of a review (flags over the config)."""

    repo_root: Path
    env: Mapping[str, str]  # provider keys, base URLs, cache location: the front-end's environment, passed in
    config_path: str = DEFAULT_CONFIG_PATH  # repo-relative
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
    sequential: bool | None = None  # --sequential; None: the config's `sequential`
    # what else the front-end was asked that the reproduce line must repeat (`compare`'s --suite, --strata, ...)
    extra_flags: tuple[str, ...] = ()
    # the retry policy the config's `retry:` settings are laid over; a caller that passes one with its own `sleep`
    # sees every delay of the review instead of sleeping through it
    retry: RetryPolicy = RetryPolicy()
    # --cache-only: answer every call from the response cache; a call not in it is an error, never made
    cache_only: bool = False
    batch: BatchMode | None = None  # --batch (on) / --no-batch (off); None: the config's `batch`
    # a pull request waits for this run's verdict (`ci`, the maintainer-triggered run included): `batch: auto`
    # stays off, whatever the event
    waiting: bool = False
    # told the provider batches a run waits on (the front-end says their ids and how to resume)
    batches_waiting: BatchesWaiting | None = None


@dataclass(frozen=True)
class Side:
    """One version of one prompt: its template, the model it runs on, and its schema."""

    name: SideName
    template: PromptTemplate
    model: ModelSpec
    params: Mapping[str, Any]
    schema: dict[str, Any] | None  # what outputs are validated against
    sends_schema: bool  # the prompt file itself declares it, so it goes on the wire
    # the schema this side's own files declare, when the base's contract (`schema`) differs from it: what goes
    # on the wire, and what the report says the head's schema would have judged
    own_schema: dict[str, Any] | None = None
    # the function tools this side's prompt declares (or its config entry), in Chat Completions' spelling,
    # and its `tool_choice` (`sources/tools.py`): sent with every request, and what its tool calls are judged by
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | dict[str, Any] | None = None

    @property
    def wire_schema(self) -> dict[str, Any] | None:
        """The schema sent as structured output with every request (None: none is sent)."""
        return (self.own_schema or self.schema) if self.sends_schema else None

    @cached_property
    def wire_schema_chars(self) -> int:
        """The characters `wire_schema` adds to every request (it counts toward `max_request_chars`)."""
        schema = self.wire_schema
        return 0 if schema is None else len(json.dumps(schema, ensure_ascii=False))


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One model call of the review, and where its answer belongs."""

    job: int  # index of its `PromptJob` in the plan
    side: SideName
    input_id: str
    stratum: str
    sample: int  # 0..K-1
    request: CompletionRequest


@dataclass(frozen=True)
class PromptJob:
    """One prompt file to review: both sides over the same sampled inputs."""

    index: int
    path: str
    change: ChangeKind  # never `removed`: a removed prompt is `Listed`
    old_path: str | None
    suite_sample: SuiteSample  # the inputs both sides run on
    sides: tuple[Side, ...]  # (base, head), or (head,) for an added prompt
    samples: int  # K: completions per input and side
    calls: tuple[PlannedCall, ...]
    notes: tuple[Note, ...]  # what planning noticed (the suite, the contract, the output mode, ...)
    entry: PromptEntry | None = None  # the config entry that covers it (its quality checks)
    output_mode: OutputMode = "json"  # what the answers are scored as
    warnings: tuple[Note, ...] = ()  # what reading the prompt files and the suite noticed
    variables: frozenset[str] = frozenset()  # suite columns the templates use (examples carry only these)
    # the base's version of the prompt file, whose evaluators (and rows, and schema) are the contract: the base
    # branch tip's, else the base side's; None for an added prompt
    contract: PromptTemplate | None = None
    # what the head took out of the base's contract (base rows of the file's testData): each one makes the
    # prompt fail until the accept label accepts it
    needs_acceptance: tuple[Note, ...] = ()
    # `compare`: the operator's own two files, with no base commit to own the contract (the head's own
    # evaluators gate, its rows are the suite)
    head_trusted: bool = False
    # a prompt with tools: what each input expects (a tool's name, True: some tool, False: nothing said), from
    # its suite row's `expect_tool` or the base's `tool_choice` (`sources/tools.py`); empty without tools
    expected_tools: Mapping[str, str | bool] = field(default_factory=dict)
    # a suite of conversations: their depths and who wrote their replayed assistant turns (None: no `messages`)
    conversations: Conversations | None = None

    @property
    def has_tools(self) -> bool:
        return any(side.tools for side in self.sides)

    @property
    def head(self) -> Side:
        return self.sides[-1]


@dataclass(frozen=True)
class Listed:
    """A changed prompt with nothing to run (removed, renamed without a change): listed in the report."""

    path: str
    change: ChangeKind
    old_path: str | None
    note: Note  # why there is nothing to run
    # a prompt leaving the review (removed, or moved out of the globs): by default it needs the accept label
    needs_acceptance: bool = False
    # the note is a warning: a prompt that should have been compared was not (`drift`: nothing recorded yet)
    warns: bool = False


@dataclass(frozen=True)
class ReviewPlan:
    jobs: tuple[PromptJob, ...]
    listed: tuple[Listed, ...]
    providers: Mapping[ProviderName, Provider]  # by provider name, for every model a side runs on
    analysis_seed: int  # seeds the permutation tests (the sample's own seed is in each suite sample)

    @property
    def calls(self) -> list[PlannedCall]:
        return [call for job in self.jobs for call in job.calls]

    @property
    def models(self) -> set[ModelSpec]:
        return {side.model for job in self.jobs for side in job.sides}
