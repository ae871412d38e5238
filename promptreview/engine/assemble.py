"""Build the `Report` once, from what the stages returned: the plan, the sequential runs, the decided
statistics and quality checks, the costs, and the notes each stage emitted. Nothing changes a report after
it is built here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from promptreview.engine.jobs import Listed, PromptJob, ReviewPlan
from promptreview.engine.measurement.provenance import combined
from promptreview.notes import Note, PromptWarning, note
from promptreview.providers import parse_model_spec
from promptreview.records import ModelSpec
from promptreview.report.document import (
    Forecast,
    Manifest,
    Migration,
    PromptReport,
    Report,
    Rerun,
    SideProvenance,
)
from promptreview.sources.config import Config
from promptreview.verdicts import PromptVerdict, ReviewVerdict, review_verdict
from promptreview.vocabulary import Side

if TYPE_CHECKING:  # gates.decision loads pandas and scipy, which a review that analyses nothing never needs
    from promptreview.engine.gates.decision import Decision
    from promptreview.engine.measurement.spending import Spending
    from promptreview.engine.sequential import Sequenced


def prompt_report(
    job: PromptJob,
    decision: Decision,
    spending: Spending,
    *,
    sequential: Sequenced | None = None,
    own_schema: Note | None = None,
    unpinned: Note | None = None,
    quality_notes: Sequence[Note] = (),
    provenance: Mapping[Side, SideProvenance] | None = None,
) -> PromptReport:
    """One reviewed prompt's report, from its stages' results: the job (planning, reduced to what ran when
    sequential), how it ran sequentially, the decision (measurement, quality checks, gates), what its calls
    cost, and the review's own notes on it (`own_schema`: what the head's own schema would have judged;
    `unpinned`: a model without dated ids). The notes keep the order of the stages."""
    result = decision.stats
    notes = (
        *job.notes,
        *((sequential.note,) if sequential is not None else ()),
        *((own_schema,) if own_schema is not None else ()),
        *result.notes,
        *((unpinned,) if unpinned is not None else ()),
        *quality_notes,
    )
    calls = replace(
        result.calls,
        cost_usd=spending.cost_usd,
        requests=spending.requests,
        cached_input_tokens=spending.cached_input_tokens,
        cache_savings_usd=spending.cache_savings_usd,
    )
    return PromptReport(
        path=job.path,
        change=job.change,
        old_path=job.old_path,
        verdict=decision.verdict,
        models={side.name: str(side.model) for side in job.sides},
        served=result.served,
        n_inputs=result.n_inputs,
        samples=result.samples,
        suite=job.suite_sample.path,
        weighted=result.weighted,
        rates=result.rates,
        flip_rate=result.flip_rate,
        distribution_shift=result.distribution_shift,
        strata=result.strata,
        calls=calls,
        examples=result.examples,
        notes=notes,
        warnings=decision.warnings,
        failure_details=result.failure_details,
        parse_failure_kinds=result.parse_failure_kinds,
        output_mode=job.output_mode,
        evaluators=decision.evaluators,
        sequential=sequential.info if sequential is not None else None,
        provenance=provenance or {},
        cold_start=spending.cold_start,
    )


def listed_report(item: Listed) -> PromptReport:
    if item.needs_acceptance:
        return PromptReport(
            path=item.path,
            change=item.change,
            old_path=item.old_path,
            verdict=PromptVerdict.FAIL,
            notes=(item.note,),
            warnings=(note("leaves_review"),),
        )
    return PromptReport(path=item.path, change=item.change, old_path=item.old_path, notes=(item.note,))


def model_text(override: str | None, config: Config, models: set[ModelSpec]) -> str:
    """The model the report names at the top: the `--model` flag, the one model, or all of them."""
    if override:
        return override
    if len(models) == 1:
        return str(next(iter(models)))
    return config.model if not models else ", ".join(sorted(map(str, models)))


def model_id(override: str | None, models: set[ModelSpec]) -> str | None:
    """The model id the report's model line names, when it names one model (the `--model` flag's, or the one
    model's); None when it names several."""
    if override:
        return parse_model_spec(override).model
    return next(iter(models)).model if len(models) == 1 else None


def _unique(items: Sequence[Note]) -> tuple[Note, ...]:
    return tuple(dict.fromkeys(items))


def report(
    plan: ReviewPlan,
    prompts: Sequence[PromptReport],
    *,
    model_spec: str,
    model_id: str | None = None,
    pinned: bool | None,
    config: Config,
    base: str | None,
    head: str | None,
    rerun: Rerun | None = None,
    provider_notes: Sequence[Note] = (),
    served_warnings: Sequence[PromptWarning] = (),
    forecast: Forecast | None = None,
    migration: Migration | None = None,
    manifest: Manifest | None = None,
) -> Report:
    """The review's report. `served_warnings` go to the top whatever the verdict; a failing or erroring
    prompt's own warnings follow them, since they decided the verdict."""
    simulated = any(m.provider == "sim" for m in plan.models)
    notes = [note("simulated")] if simulated else []
    notes += provider_notes
    if forecast is not None:  # `--plan`: nothing was reviewed yet, so no prompts and no verdict
        return Report(
            verdict=ReviewVerdict.SKIPPED,
            model_spec=model_spec,
            model_id=model_id,
            pinned=pinned,
            simulated=simulated,
            base=base,
            head=head,
            config=config.source,
            alpha=config.alpha,
            notes=_unique(notes),
            forecast=forecast,
            migration=migration,
            manifest=manifest,
        )
    reviewed = bool(plan.jobs) or any(item.needs_acceptance for item in plan.listed)
    if not reviewed and not prompts:  # a listed prompt (removed, renamed unchanged) is something to read
        notes.append(note("nothing_to_review"))
    warnings = list(served_warnings)
    if reviewed:
        for p in prompts:
            if p.verdict in (PromptVerdict.FAIL, PromptVerdict.ERROR):
                warnings += [PromptWarning(p.path, w) for w in p.warnings]
    return Report(
        verdict=review_verdict((p.verdict for p in prompts), reviewed),
        model_spec=model_spec,
        model_id=model_id,
        served=sorted({m for p in prompts for ids in p.served.values() for m in ids}),
        provenance=combined(part for p in prompts for part in p.provenance.values()),
        pinned=pinned,
        simulated=simulated,
        prompts=tuple(prompts),
        base=base,
        head=head,
        rerun=rerun,
        config=config.source,
        alpha=config.alpha,
        notes=_unique(notes),
        warnings=tuple(dict.fromkeys(warnings)),
        migration=migration,
        manifest=manifest,
    )
