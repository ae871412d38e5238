"""The review's result as frozen dataclasses: built once by the engine, then only read.

`report.serialize` turns a `Report` into the JSON report (its contract is `report/report.schema.json`); the
format modules (`text`, `markdown`, `html`) and the GitHub layer read these classes directly. Notes and
warnings are `notes.Note` records: `report.notes` words them, for every format alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from promptreview.notes import Note, PromptWarning
from promptreview.verdicts import CheckConclusion, CIVerdict, PromptVerdict, ReviewVerdict
from promptreview.vocabulary import (
    ChangeKind,
    CheckKind,
    CheckUnits,
    ExpectMatch,
    GatedRate,
    LeakKind,
    Outcome,
    OutputMode,
    ParseFailureKind,
    RateName,
    ReviewCommand,
    SequentialReason,
    SequentialStop,
    ShiftKind,
    Side,
    ToolOutcome,
)

SCHEMA_VERSION = 1
Interval = tuple[float, float]
CostKey = Literal[Side, "delta"]  # `CallStats.cost_usd`: each side's cost, and head's minus base's


@dataclass(frozen=True)
class RateRow:
    """One outcome's rate on both sides, the paired change, and (for gated rates) the gate's decision."""

    base: float | None
    head: float | None
    delta: float | None = None
    ci95: Interval | None = None
    p_value: float | None = None  # two-sided
    p_increase: float | None = None  # one-sided, for "head is higher": what the gates test
    p_adjusted: float | None = None
    test: str | None = None
    base_count: int = 0
    head_count: int = 0
    base_n: int = 0  # completions counted (errors excluded, except for the error rate itself)
    head_n: int = 0
    base_ci95: Interval | None = None
    head_ci95: Interval | None = None
    gate: PromptVerdict | None = None  # pass | warn | fail; None: not gated
    max_increase: float | None = None
    min_detectable: float | None = None
    discordant: int | None = None  # inputs whose rate differs between the sides (0: the test cannot fire)
    max_rate: float | None = None  # the ceiling of a prompt with no base (`gates.<metric>.max_rate`)


@dataclass(frozen=True)
class FlipRow:
    """How often answers changed between the sides, against how often they change within a side."""

    head_vs_base: float | None
    noise_floor: float | None
    excess: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    test: str | None = None
    gate: PromptVerdict | None = None


@dataclass(frozen=True)
class StatTest:
    """A statistical test as the report names it: `name` where a table is narrow ("Stuart-Maxwell"), `details`
    the rest of its description ("(cluster-robust), sign-flip permutation over inputs (exact)")."""

    name: str
    details: str = ""

    @property
    def text(self) -> str:
        """The whole description, as the JSON report gives it."""
        return f"{self.name} {self.details}" if self.details else self.name


@dataclass(frozen=True)
class ShiftRow:
    """One output field's distribution, base against head."""

    field: str
    kind: ShiftKind
    test: StatTest
    statistic: float | None
    p_value: float | None
    base: Mapping[str, Any]
    head: Mapping[str, Any]
    effect: float | None = None
    effect_name: str | None = None
    p_adjusted: float | None = None
    matters: bool = False  # significant and beyond the distribution gate's floor: what the gate warns about


@dataclass(frozen=True)
class StratumRow:
    stratum: Mapping[str, Any]  # column -> value
    label: str  # canonical label, e.g. "channel=email"
    n_inputs: int
    population: int
    rates: Mapping[RateName, RateRow]
    flip_rate: FlipRow | None = None
    short: bool = False  # fewer rows than its quota
    pooled: bool = False  # small strata pooled together (`other`): `stratum` holds no row's values


@dataclass(frozen=True)
class CallStats:
    total: int = 0
    cached: int = 0
    retried: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: Mapping[CostKey, float] | None = None
    # provider-side prompt caching: input tokens served from the provider's cache, per side, and what that saved
    cached_input_tokens: Mapping[Side, int] | None = None  # None: the provider reports none
    cache_savings_usd: Mapping[Side, float] | None = None  # USD saved against the full input price
    # HTTP requests sent for the uncached completions (retries not counted): fewer than total - cached when one
    # request answered several samples (`n` > 1); None: not counted (then it is total - cached)
    requests: int | None = None

    @property
    def requests_sent(self) -> int:
        return self.total - self.cached if self.requests is None else self.requests


@dataclass(frozen=True)
class Example:
    """An input that was fine on base and broke on head: what a reviewer reads first."""

    input_id: str
    stratum: str
    sample: int
    base_outcome: Outcome | ToolOutcome | None  # a tool fault when the base's answer had one
    head_outcome: GatedRate  # a gated outcome, or a tool fault (a prompt with tools)
    input_text: str
    head_text: str
    detail: str | None = None
    base_text: str | None = None  # the base output for the same input and sample (None: no base side)


@dataclass(frozen=True)
class SequentialInfo:
    """How a sequential review (`sequential: true`, `--sequential`) ran one prompt: where it stopped and why."""

    stopped: bool  # True: it stopped before running every planned input
    after_inputs: int  # inputs that ran
    planned_inputs: int
    reason: SequentialReason  # completed: ran every input; not applicable: no base side
    looks: int  # interim looks taken
    planned_calls: int = 0
    calls: int = 0  # calls its inputs needed (made or cached)
    e_values: Mapping[GatedRate, Mapping[SequentialStop, float]] = field(
        default_factory=dict
    )  # last look: gated rate -> what it is evidence for -> e
    # a stop for regression: the gated rates whose evidence stopped it (the verdict fails their gates)
    stopped_on: tuple[GatedRate, ...] = ()


@dataclass(frozen=True)
class EvaluatorExample:
    """A completion that passed a quality check on base and failed it on head (same input, same sample)."""

    input_id: str
    stratum: str
    sample: int
    input_text: str
    base_text: str
    head_text: str
    base_value: float | None = None
    head_value: float | None = None


@dataclass(frozen=True)
class JudgeInfo:
    """An LLM check's judge: a versioned dependency, recorded like the model (its spec, pin status, served ids)."""

    spec: str  # provider:model-id
    served: tuple[str, ...]  # the model ids the provider said it served
    pinned: bool
    temperature: float
    choices: Mapping[str, float]  # the answer the judge may give -> its score
    origin: str | None  # where the evaluator was declared
    unanswered: int  # judge calls that failed or named no choice (left out of the mean)
    head_spec: str | None = None  # --judge: head's changed judge, over base's outputs
    mode: str | None = None  # --judge: what the row compares


@dataclass(frozen=True)
class CheckStratum:
    """A quality check in one stratum: each side's value (a pass rate or a judge's mean score; None where no
    completion of the stratum counted) and the completions counted."""

    base: float | None
    head: float | None
    base_n: int
    head_n: int


WITH_LEAKED = " (leaked rows in)"
"""The name of a quality check's twin over every row, leaked ones included: the check's own name, then this."""


@dataclass(frozen=True)
class LeakedRow:
    """A suite row the prompt under review holds (an evaluation set leaked into its examples): which value,
    and how much of it. Such a row is left out of the quality gates."""

    input_id: str
    column: str
    kind: LeakKind  # a template variable's value, or an expectation's expected answer
    overlap: float  # the share of the value's runs of words the prompt holds (1.0: all of them)
    verbatim: bool  # the value appears in the prompt as it is (whitespace and case aside)


@dataclass(frozen=True)
class EvaluatorRow:
    """One quality check, base vs head: an expectation's or a string evaluator's pass rate, an LLM judge's mean
    score, or the refusal rate on must-refuse rows. A *decrease* is the regression its gate tests."""

    name: str
    kind: CheckKind
    field: str | None
    base: float | None
    head: float | None
    delta: float | None = None
    ci95: Interval | None = None
    p_value: float | None = None  # two-sided
    gate: PromptVerdict | None = None  # pass | warn | fail; None: not gated
    units: CheckUnits = "rate"  # rate: a share in [0, 1]; score: the judge's choices' scores
    base_n: int = 0  # completions counted (errors and completions the check does not apply to excluded)
    head_n: int = 0
    base_count: int | None = None  # completions that passed (rates only)
    head_count: int | None = None
    p_decrease: float | None = None  # one-sided, for "head is lower": what the gate tests
    p_adjusted: float | None = None
    test: str | None = None
    discordant: int | None = None
    max_decrease: float | None = None
    column: str | None = None  # expect: the suite column; must_refuse: the marking column
    match: ExpectMatch | None = None  # expect's
    judge: JudgeInfo | None = None  # llm: spec, served ids, temperature, whether it changed
    note: Note | None = None
    examples: Sequence[EvaluatorExample] = ()
    strata: Mapping[str, CheckStratum] | None = None  # by stratum label; None: fewer than two strata


@dataclass(frozen=True)
class SideProvenance:
    """What the provider said about the answers of one side (or of the whole review): the model ids it served
    and its fingerprints (OpenAI `system_fingerprint`, Ollama's model digest), each with how many answers
    carried it, and the provider's timestamps of the first and last answer (seconds since the epoch, UTC; None:
    the provider gave none). A cached answer counts with the provenance of when it was made."""

    served: Mapping[str, int] = field(default_factory=dict)
    fingerprints: Mapping[str, int] = field(default_factory=dict)
    first: float | None = None
    last: float | None = None
    answers: int = 0  # answers counted (a failed call has none)


@dataclass(frozen=True)
class ColdStart:
    """The provider's prompt cache is keyed on the model: when head runs on another model than base, its cache
    starts cold. The base side's cached share of input tokens, billed at the full input price on the head's
    model instead of its cached rate, is what the head costs extra until its cache warms. None where unknown:
    the share (no base answer reported cached tokens yet) or the price (no price for the head's model)."""

    base_model: str
    head_model: str
    cached_share: float | None  # base's cached input tokens over its input tokens
    head_prompt_tokens_per_call: float | None  # measured (a review) or estimated (`--plan`)
    head_calls: int  # the head's calls this estimate covers (`extra_usd`)
    extra_usd_per_1000_calls: float | None
    extra_usd: float | None  # for the head's calls of this review


@dataclass(frozen=True)
class Conversations:
    """A suite of conversations (rows with a `messages` history): how deep they are, and the replay's blind
    spot, the rows whose history holds assistant turns the prompt under review did not write: by another
    model or a recorded prompt version (`other`), or by nobody the row names (`unknown`)."""

    rows: int  # sampled rows
    with_history: int  # of them, rows with a history
    depths: Mapping[str, int]  # rows by depth bucket (`sources/conversations.py`)
    other: int  # rows with an assistant turn by another model or a recorded prompt version
    unknown: int  # rows with assistant turns, none said to be by another, at least one that says nothing

    @property
    def share_other(self) -> float | None:
        return self.other / self.rows if self.rows else None

    @property
    def share_unknown(self) -> float | None:
        return self.unknown / self.rows if self.rows else None


@dataclass(frozen=True)
class PromptReport:
    path: str
    change: ChangeKind
    old_path: str | None = None
    verdict: PromptVerdict = PromptVerdict.PASS
    models: Mapping[Side, str | None] = field(default_factory=dict)  # the spec each side asked for
    served: Mapping[Side, Sequence[str]] = field(default_factory=dict)  # served model ids
    n_inputs: int = 0
    samples: int = 0
    suite: str | None = None
    weighted: bool = False
    rates: Mapping[RateName, RateRow] = field(default_factory=dict)
    flip_rate: FlipRow | None = None
    distribution_shift: Sequence[ShiftRow] = ()
    strata: Sequence[StratumRow] = ()
    calls: CallStats = field(default_factory=CallStats)
    examples: Sequence[Example] = ()
    notes: Sequence[Note] = ()
    warnings: Sequence[Note] = ()
    failure_details: Mapping[Outcome, Mapping[str, int]] = field(default_factory=dict)  # why -> n
    parse_failure_kinds: Mapping[ParseFailureKind, int] = field(default_factory=dict)  # head's, by remedy
    output_mode: OutputMode = "json"  # text: parse_failure / schema_violation absent from rates
    evaluators: Sequence[EvaluatorRow] = ()  # quality checks: expectations, evaluators, must-refuse rows
    sequential: SequentialInfo | None = None  # set when the review ran sequentially
    provenance: Mapping[Side, SideProvenance] = field(default_factory=dict)  # served ids, fingerprints, times
    cold_start: ColdStart | None = None  # set when the sides run on different models
    leakage: Sequence[LeakedRow] = ()  # suite rows the prompt holds: left out of the quality gates
    conversations: Conversations | None = None  # set when the suite's rows carry conversations


# -- --plan --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SideForecast:
    model: str
    calls: int
    uncached_calls: int
    prompt_tokens: int  # estimated
    max_completion_tokens: int
    cost_usd_max: float | None  # None: no price known


@dataclass(frozen=True)
class StratumForecast:
    population: int
    sampled: int


@dataclass(frozen=True)
class PromptForecast:
    path: str
    change: ChangeKind
    n_inputs: int
    samples: int
    strata: Mapping[str, StratumForecast]
    sides: Mapping[Side, SideForecast]
    min_detectable_increase: Mapping[GatedRate, float]  # gated rate -> smallest increase caught, 80 % power
    min_detectable_assumes_base_rate: float
    cold_start: ColdStart | None = None  # set when the sides run on different models


@dataclass(frozen=True)
class Forecast:
    """What a review would run and cost, before any call (`--plan`)."""

    calls: int
    uncached_calls: int
    cost_usd_max: float | None
    budget_max_calls: int | None
    over_budget: bool
    prompts: Sequence[PromptForecast]
    # the fewest HTTP requests for the uncached calls: the samples of one input in one request (`n`) where the
    # provider can; "up to" uncached_calls, since whether a server honours `n` is found out on the first request
    requests: int | None = None
    # the uncached calls would go out as provider batches: the cost is at the batch rate where a provider has one
    batch_rate: bool = False


# -- CI ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acceptance:
    """The accept label on the PR, and who added it when (from the event, or the issue's events)."""

    label: str
    actor: str | None = None
    at: str | None = None  # ISO 8601

    def by(self) -> str:
        who = f" by {self.actor}" if self.actor else ""
        when = f" on {self.at.replace('T', ' ').replace('Z', ' UTC')}" if self.at else ""
        return f"{who}{when}"


ConfigFrom = Literal["base", "head (new in this pull request)"]
"""Where a CI run's gates came from: the base commit's config, or the pull request's own new one."""


@dataclass(frozen=True)
class CISection:
    """What a `ci` run concluded, kept in its report.json beside the review. A record of its own, not a field
    of `Report`: it is decided from the finished report (its verdict, the accept label), so the serialiser
    takes the two side by side (`serialize.to_dict(report, ci)`) and neither is changed after it is built."""

    verdict: CIVerdict
    conclusion: CheckConclusion
    exit_code: int
    event: str
    pull_request: int | None
    accepted: Acceptance | None = None
    config_from: ConfigFrom | None = None
    reason: str | None = None  # for a run without a review: why


# -- the review ----------------------------------------------------------------------------------------

P_VALUE_ADJUSTMENTS: Mapping[str, str] = {
    "gated": "holm",
    "strata": "benjamini-hochberg",
    "distribution_shift": "benjamini-hochberg",
}


@dataclass(frozen=True)
class Rerun:
    """How to run a review again: `check` between two revisions (`head` None: the working tree), or `compare`
    of the two files it read. Said by the engine (or CI) that ran it, never inferred from `base`'s text."""

    command: ReviewCommand
    base: str
    head: str | None = None
    flags: tuple[str, ...] = ()  # the options the review was asked with: `--model M`, `--samples 1`, ...


# -- the manifest: what a review read, as digests --------------------------------------------------------


@dataclass(frozen=True)
class FileDigest:
    """A file as a review read it: its path and the SHA-256 of its bytes."""

    path: str
    sha256: str


@dataclass(frozen=True)
class PromptManifest:
    """What one reviewed prompt read: each side's prompt file, each side's schema, the suite rows it ran."""

    path: str  # the prompt's report path
    files: Mapping[Side, FileDigest]  # each side's prompt file, its bytes as reviewed
    schemas: Mapping[Side, str | None]  # SHA-256 of each side's schema as canonical JSON (None: no schema)
    suite: str | None  # the suite's path (or where in the prompt file its rows are)
    rows: int  # the sampled rows, in the order they ran
    rows_sha256: str  # SHA-256 of the sampled rows as canonical JSON, in order


@dataclass(frozen=True)
class ReplaySpec:
    """How to run the review again exactly: the command, its revisions and the options that change what it
    measures (`promptreview verify` replays it from the response cache)."""

    command: ReviewCommand
    base: str | None  # the base commit (`compare`: the old file)
    head: str | None  # the head commit; None: the working tree (`compare`: the new file)
    config_path: str
    config_revision: str | None  # where the config (and the suites) were read; None: the working tree
    model: str | None = None
    samples: int | None = None
    seed: int | None = None
    sequential: bool | None = None
    judge: bool = False
    # `migrate`: the candidate, the model migrated away from, `--safety`; `migrate`, `drift`: `--prompts GLOB`
    migrate_to: str | None = None
    migrate_from: str | None = None
    prompts: str | None = None
    safety: bool = False
    # `drift`: the run's own sample index stamp (`drift@<asked_at>#k`): its fresh answers' cache keys
    asked_at: str | None = None


@dataclass(frozen=True)
class Manifest:
    """The digests a review can be checked against later (`promptreview verify`): what it read, what it ran
    with, and one digest over the requests it planned, so a replay can prove it asked the same."""

    version: str  # promptreview's version
    commit: str | None  # the commit promptreview was built from (None: unknown)
    dirty: bool  # built from uncommitted changes
    lock_sha256: str | None  # requirements.lock, when packaged or beside the package
    config: FileDigest | None  # the config's bytes as read (None: no config file, `compare` on flags)
    review: ReplaySpec
    prompts: tuple[PromptManifest, ...]
    requests: int  # distinct requests planned
    requests_sha256: str  # SHA-256 over the sorted request keys


@dataclass(frozen=True)
class Migration:
    """A review of a model change: what the base side ran on and what the head side runs on (several models,
    joined, when the prompts moved from different ones). `migrate` says it; a pull request that changes only
    models (the config's default, or a prompt file's own) reads the same."""

    source: str
    target: str


@dataclass(frozen=True)
class DriftWindow:
    """When a drift run's two sides were made: the recorded answers (the earliest and the latest the cache
    wrote) and the same requests asked again (ISO 8601 times, UTC)."""

    recorded_from: str
    recorded_to: str
    asked_at: str


@dataclass(frozen=True)
class Report:
    verdict: ReviewVerdict
    model_spec: str | None = None
    model_id: str | None = (
        None  # the model id when the review names one model: a served id equal to it is no news
    )
    served: Sequence[str] = ()
    pinned: bool | None = None
    simulated: bool = False
    prompts: Sequence[PromptReport] = ()
    base: str | None = None
    head: str | None = None
    config: str | None = None
    alpha: float = 0.05
    notes: Sequence[Note] = ()
    warnings: Sequence[PromptWarning] = ()  # a prompt's warnings the review repeats at its top
    forecast: Forecast | None = None  # `--plan`: what the review would run and cost (JSON: `plan`)
    adjustments: Mapping[str, str] = field(default_factory=lambda: dict(P_VALUE_ADJUSTMENTS))
    error: str | None = None  # why there is no verdict (the provider failed, promptreview crashed, ...)
    rerun: Rerun | None = None  # the command that runs this review again (not in the JSON report)
    provenance: SideProvenance | None = (
        None  # every prompt's and side's answers together (JSON: model.provenance)
    )
    migration: Migration | None = None  # a model migration: the headline names it (JSON: `migration`)
    manifest: Manifest | None = None  # digests of what the review read (JSON: `manifest`)
    drift: DriftWindow | None = None  # `drift`: when the recorded answers were made and asked again

    @property
    def warned(self) -> bool:
        """A prompt's verdict is `warn` (the review itself still passes)."""
        return any(p.verdict is PromptVerdict.WARN for p in self.prompts)

    @property
    def reviewed(self) -> Sequence[PromptReport]:
        """The prompts whose file is still there (all but removed ones; a pure rename is counted, unrun)."""
        return [p for p in self.prompts if p.change != "removed"]


def error_report(
    message: str, *, base: str | None = None, head: str | None = None, rerun: Rerun | None = None
) -> Report:
    """A report that says there is no verdict, and why (provider outage, crash, a CI run that could not run)."""
    return Report(verdict=ReviewVerdict.ERROR, error=message, base=base, head=head, rerun=rerun)
