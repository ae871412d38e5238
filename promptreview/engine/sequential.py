"""Sequential reviews: run one prompt's inputs in seeded batches and stop once the verdict is settled.

After each batch the gated rates' per-input differences (the outcomes' and, for a prompt with tools, its tool
faults') go to `stats.sequential.decide_look` (anytime-valid
e-processes): a regression beyond doubt, or an increase that can no longer reach any gate's margin, stops the
run. What ran is then analysed exactly like a fixed review of those inputs; the report says where it stopped
and why (`SequentialInfo`, and a note that says it). Nothing here prints, exits or talks to GitHub.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from promptreview.engine.execution.cache import ResponseCache
from promptreview.engine.execution.runner import RunSettings, run_requests
from promptreview.engine.jobs import ProgressCallback, PromptJob, ReviewPlan
from promptreview.engine.measurement.outcomes import score_job
from promptreview.engine.planning.forecast import gate_family
from promptreview.notes import Note, note
from promptreview.providers.base import Provider
from promptreview.records import RATE_OUTCOMES, Completion, ProviderResponse
from promptreview.report.document import SequentialInfo
from promptreview.sources.config import Config
from promptreview.sources.suites import SuiteRow
from promptreview.vocabulary import (
    GATED_RATES,
    TOOL_RATES,
    GatedRate,
    ProviderName,
    RateOutcome,
    SequentialReason,
)

#: Inputs per batch: a tenth of the planned inputs, but at least this many (a look needs some data).
MIN_BATCH = 10
LOOKS = 10


@dataclass(frozen=True)
class SequentialRun:
    job: PromptJob  # reduced to the inputs that ran
    completions: list[Completion]  # one per call of `job`, in its order
    info: SequentialInfo


@dataclass(frozen=True)
class Sequenced:
    """How one prompt ran sequentially: the report's record of it, and the note that says it."""

    info: SequentialInfo
    note: Note


def sequential_note(info: SequentialInfo) -> Note:
    return note(
        "sequential",
        stopped=info.stopped,
        reason=info.reason,
        after_inputs=info.after_inputs,
        planned_inputs=info.planned_inputs,
        calls=info.calls,
        planned_calls=info.planned_calls,
        looks=info.looks,
    )


def input_order(rows: tuple[SuiteRow, ...], seed: int) -> list[SuiteRow]:
    """The planned inputs in a seeded order that interleaves the strata in proportion, so every batch (and
    every prefix) is a stratified sample of its own."""
    by_stratum: dict[str, list[SuiteRow]] = defaultdict(list)
    for row in rows:
        by_stratum[row.stratum].append(row)
    keyed = []
    for rank, (label, members) in enumerate(sorted(by_stratum.items())):
        shuffled = list(members)
        random.Random(f"{seed}:{label}").shuffle(shuffled)
        keyed += [((i + 0.5) / len(shuffled), rank, row) for i, row in enumerate(shuffled)]
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [row for _, _, row in keyed]


def batch_size(n_inputs: int) -> int:
    return max(MIN_BATCH, math.ceil(n_inputs / LOOKS))


def gated_rates(job: PromptJob, config: Config) -> list[GatedRate]:
    """The gated rates that apply to `job` (in text mode, parse failures and schema violations do not; the
    tool faults' to a prompt with tools only), as the verdict gates them."""
    applies: tuple[RateOutcome, ...] = ("refusal",) if job.output_mode == "text" else RATE_OUTCOMES
    tooled: tuple[GatedRate, ...] = TOOL_RATES if job.has_tools else ()
    return [m for m in (*applies, *tooled) if config.gates[m].gating]


def _differences(
    job: PromptJob, completions: list[Completion], config: Config, excluded: frozenset[str] = frozenset()
) -> tuple[dict[GatedRate, np.ndarray], list[str]]:
    """Per gated rate: head minus base per-input rate (over non-error completions), inputs in run order; and
    those inputs' ids.

    `job.calls` and `completions` correspond one to one."""
    scored = score_job(job, completions, config.allow_fenced)
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    order: dict[str, int] = {}
    for s in scored:
        order.setdefault(s.call.input_id, len(order))
        outcome = s.classification.outcome
        if outcome == "error":
            continue
        cell = counts[(s.call.input_id, s.call.side)]
        cell["n"] += 1
        cell[outcome] += 1
        if s.classification.tool is not None:  # a tool fault: beside the outcome, over the same answers
            cell[s.classification.tool] += 1
    gated = gated_rates(job, config)
    out: dict[GatedRate, list[float]] = {m: [] for m in gated}
    kept: list[str] = []
    for input_id in order:
        if input_id in excluded:  # a must-refuse row: its refusals are no regression, as in the analysis
            continue
        base, head = counts.get((input_id, "base")), counts.get((input_id, "head"))
        if not base or not head or not base["n"] or not head["n"]:
            continue  # no answer on a side: the input says nothing about the change
        kept.append(input_id)
        for m in gated:
            out[m].append(head[m] / head["n"] - base[m] / base["n"])
    return {m: np.asarray(v, dtype=np.float64) for m, v in out.items()}, kept


@dataclass(frozen=True)
class Weights:
    """The stratum weights the verdict uses, so the stopping rule reads the same change: per stratum its share
    of the suite over its share of the plan (mean 1 over the planned sample; all 1 when the sample is
    proportional, as the analysis then weights nothing)."""

    planned: Mapping[str, float]  # stratum label -> the input's weight, fixed before any call
    share: Mapping[str, float]  # stratum label -> its share of the suite (W_h), for the analysis' W_h / n_h
    stratum_of: Mapping[str, str]  # input id -> stratum label

    @classmethod
    def of(cls, job: PromptJob) -> Weights | None:
        sample = job.suite_sample
        if sample.proportional or len(sample.strata) < 2:
            return None
        population = sum(s.population for s in sample.strata)
        sampled = sum(s.sampled for s in sample.strata)
        share = {s.label: s.population / population for s in sample.strata}
        planned = {s.label: share[s.label] / (s.sampled / sampled) for s in sample.strata if s.sampled}
        return cls(planned, share, {row.input_id: row.stratum for row in sample.rows})

    @property
    def bound(self) -> float:
        return max(self.planned.values(), default=1.0)

    def of_inputs(self, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(the planned weights, the analysis' W_h / n_h over these inputs) of `ids`, in their order."""
        labels = [self.stratum_of[i] for i in ids]
        present: dict[str, int] = defaultdict(int)
        for label in labels:
            present[label] += 1
        planned = np.array([self.planned[label] for label in labels], dtype=np.float64)
        estimate = np.array([self.share[label] / present[label] for label in labels], dtype=np.float64)
        return planned, estimate


def run_sequential(
    job: PromptJob,
    providers: Mapping[ProviderName, Provider],
    cache: ResponseCache | None,
    settings: RunSettings,
    config: Config,
    seed: int,
    progress: ProgressCallback | None = None,
    known: Mapping[str, ProviderResponse] | None = None,
    excluded: frozenset[str] = frozenset(),
    *,
    futility: bool = True,
    family: int | None = None,
) -> SequentialRun:
    """Run `job` batch by batch until `decide_look` stops it or every input has run. `futility`: whether
    "no gate can fail any more" may stop it (not when a gate the e-process does not follow could still fail);
    `family`: the review's Holm family of gated tests (default: this prompt's gated rates)."""
    from promptreview.stats.sequential import decide_look, regression_stops, weighted_mean

    planned = len(job.suite_sample.rows)
    order = input_order(job.suite_sample.rows, seed)
    size = batch_size(planned)
    calls_of: dict[str, list[int]] = defaultdict(list)
    for i, call in enumerate(job.calls):
        calls_of[call.input_id].append(i)
    ran: list[int] = []  # indexes into job.calls, in run order
    completions: list[Completion] = []
    margins = {m: config.gates[m].max_increase for m in gated_rates(job, config)}
    # a gate the e-processes do not follow (the flip rate, a distribution shift) could still fail
    futility_allowed = futility and all(
        not spec.gating for name, spec in config.gates.items() if name not in GATED_RATES
    )
    reason: SequentialReason = "completed"
    looks, last = 0, None
    stopped_on: tuple[GatedRate, ...] = ()
    weights = Weights.of(job)
    done_inputs = 0
    while done_inputs < planned:
        batch = order[done_inputs : done_inputs + size]
        indexes = [i for row in batch for i in calls_of[row.input_id]]
        offset = len(ran)

        def step(done: int, total: int, offset: int = offset) -> None:
            if progress:
                progress(offset + done, len(job.calls))

        completions += run_requests(
            [job.calls[i].request for i in indexes], providers, cache, settings, step, known
        )
        ran += indexes
        done_inputs += len(batch)
        if done_inputs >= planned or not margins:
            continue
        partial = replace(job, calls=tuple(job.calls[i] for i in ran))
        differences, ids = _differences(partial, completions, config, excluded)
        planned_w, estimate_w = weights.of_inputs(ids) if weights else (None, None)
        decision, last = decide_look(
            differences,
            margins,
            config.alpha,
            config.alpha / 2,
            futility_allowed,
            weights=planned_w,
            weight_bound=weights.bound if weights else 1.0,
            estimate_weights=estimate_w,
            family=family,
        )
        looks += 1
        if decision is not None:
            reason = decision
            if decision == "regression":
                change = {m: weighted_mean(d, estimate_w) for m, d in differences.items()}
                stopped_on = regression_stops(last, change, margins, config.alpha, family)
            break
    kept = sorted(range(len(ran)), key=lambda j: ran[j])  # back to plan order
    ran_ids = {job.calls[i].input_id for i in ran}
    sample = replace(job.suite_sample, rows=tuple(r for r in job.suite_sample.rows if r.input_id in ran_ids))
    reduced = replace(job, calls=tuple(job.calls[ran[j]] for j in kept), suite_sample=sample)
    info = SequentialInfo(
        stopped=reason != "completed",
        after_inputs=len(ran_ids),
        planned_inputs=planned,
        reason=reason,
        looks=looks,
        planned_calls=len(job.calls),
        calls=len(ran),
        e_values={
            m: {"regression": last.regression[m], "futility": last.futility[m]} for m in last.regression
        }
        if last is not None
        else {},
        stopped_on=stopped_on,
    )
    return SequentialRun(reduced, [completions[j] for j in kept], info)


def run_plan(
    plan: ReviewPlan,
    cache: ResponseCache | None,
    settings: RunSettings,
    config: Config,
    progress: ProgressCallback | None = None,
    known: Mapping[str, ProviderResponse] | None = None,
    excluded: Mapping[int, frozenset[str]] | None = None,
    quality_gated: frozenset[int] = frozenset(),
) -> tuple[ReviewPlan, dict[int, list[Completion]], dict[int, Sequenced]]:
    """A whole review sequentially: each prompt with a base side stops on its own; an added prompt (nothing
    to compare) runs every input. Returns the plan reduced to what ran, the completions by job, and how each
    compared prompt ran."""
    by_job: dict[int, list[Completion]] = {}
    runs: dict[int, Sequenced] = {}
    jobs = []
    # the verdict's Holm family: every gated rate of every compared prompt, its tool faults' too; a stop must
    # clear it too
    compared = [job for job in plan.jobs if len(job.sides) >= 2]
    family = gate_family(config, len(compared), sum(1 for job in compared if job.has_tools))
    for job in plan.jobs:
        if len(job.sides) < 2:
            by_job[job.index] = run_requests(
                [c.request for c in job.calls], plan.providers, cache, settings, progress, known
            )
            jobs.append(job)
            continue
        result = run_sequential(
            job,
            plan.providers,
            cache,
            settings,
            config,
            plan.analysis_seed,
            progress,
            known,
            (excluded or {}).get(job.index, frozenset()),
            futility=job.index not in quality_gated,
            family=family,
        )
        jobs.append(result.job)
        by_job[job.index] = result.completions
        runs[job.index] = Sequenced(result.info, sequential_note(result.info))
    return replace(plan, jobs=tuple(jobs)), by_job, runs
