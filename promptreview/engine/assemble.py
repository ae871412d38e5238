"""Build the `Report` once, from what the stages returned: the plan, the decided statistics, the costs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from promptreview.engine.jobs import Listed, PromptJob, ReviewPlan
from promptreview.providers import parse_model_spec
from promptreview.records import ModelSpec
from promptreview.report.document import CostKey, Estimate, PromptReport, Report
from promptreview.sources.config import Config
from promptreview.verdicts import PromptVerdict, ReviewVerdict, review_verdict

if TYPE_CHECKING:  # decide loads pandas and scipy, which a review that analyses nothing never needs
    from promptreview.engine.gates.decision import Decision

SIMULATED_NOTE = "simulated model: the numbers come from promptreview's embedded `sim` model, not a real LLM"
NOTHING_TO_REVIEW = "nothing to review: no prompt file covered by the config changed"


def prompt_report(job: PromptJob, decision: Decision, cost: Mapping[CostKey, float] | None) -> PromptReport:
    result = decision.stats
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
        calls=replace(result.calls, cost_usd=cost),
        examples=result.examples,
        notes=(*job.notes, *result.notes),
        warnings=decision.warnings,
        failure_details=result.failure_details,
        output_mode=job.output_mode,
        evaluators=result.evaluators,
    )


LEAVES_REVIEW = (
    "this prompt leaves the review (removed, or moved out of the config's globs): it needs the accept label "
    "(or removal: allow in the base config)"
)


def listed_report(item: Listed) -> PromptReport:
    if item.needs_acceptance:
        return PromptReport(
            path=item.path,
            change=item.change,
            old_path=item.old_path,
            verdict=PromptVerdict.FAIL,
            notes=(item.note,),
            warnings=(LEAVES_REVIEW,),
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


def _unique(items: Sequence[str]) -> tuple[str, ...]:
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
    provider_notes: Sequence[str] = (),
    served_warnings: Sequence[str] = (),
    estimate: Estimate | None = None,
) -> Report:
    """The review's report. `served_warnings` ("path: warning") go to the top whatever the verdict; a failing
    or erroring prompt's own warnings follow them, since they decided the verdict."""
    simulated = any(m.provider == "sim" for m in plan.models)
    notes = [SIMULATED_NOTE] if simulated else []
    notes += provider_notes
    if estimate is not None:  # `--plan`: nothing was reviewed yet, so no prompts and no verdict
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
            estimate=estimate,
        )
    reviewed = bool(plan.jobs) or any(item.needs_acceptance for item in plan.listed)
    if not reviewed and not prompts:  # a listed prompt (removed, renamed unchanged) is something to read
        notes.append(NOTHING_TO_REVIEW)
    warnings = list(served_warnings)
    if reviewed:
        for p in prompts:
            if p.verdict in (PromptVerdict.FAIL, PromptVerdict.ERROR):
                warnings += [f"{p.path}: {w}" for w in p.warnings]
    return Report(
        verdict=review_verdict((p.verdict for p in prompts), reviewed),
        model_spec=model_spec,
        model_id=model_id,
        served=sorted({m for p in prompts for ids in p.served.values() for m in ids}),
        pinned=pinned,
        simulated=simulated,
        prompts=tuple(prompts),
        base=base,
        head=head,
        config=config.source,
        alpha=config.alpha,
        notes=_unique(notes),
        warnings=_unique(warnings),
    )
