"""One review, end to end: plan → check → run → score → analyse → decide → the report.

The two entry points differ only in where the prompts come from: `review_changes` (git: `check`, `ci`) and
`review_files` (two files: `compare`). Nothing here prints, exits or talks to GitHub.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import replace

from promptreview.engine import assemble, policy
from promptreview.engine.cache import ResponseCache, default_cache_path
from promptreview.engine.plan import ReviewOptions, ReviewPlan, plan_changes, plan_files
from promptreview.engine.run import RunSettings, run_requests
from promptreview.providers.retry import RetryPolicy
from promptreview.records import Completion
from promptreview.report.model import PromptReport, Report, SequentialInfo
from promptreview.sources.changes import changed_prompts, compare_points
from promptreview.sources.config import Config, PromptEntry, load_config

__all__ = ["ReviewOptions", "review_changes", "review_files"]


def review_changes(opts: ReviewOptions) -> Report:
    """`promptreview check` and `promptreview ci`: review the prompt files changed between two revisions."""
    root = opts.repo_root
    config = load_config(root, opts.config_path, opts.config_rev)
    base_sha, head_sha = compare_points(root, opts.base, opts.head)
    plan = plan_changes(opts, config, changed_prompts(root, config, base_sha, head_sha))
    return _review(opts, config, plan, base_sha, head_sha or "working tree")


def review_files(
    opts: ReviewOptions, old: str, new: str, entry: PromptEntry | None, config: Config
) -> Report:
    """`promptreview compare`: the same review for two prompt files, no git."""
    return _review(opts, config, plan_files(opts, config, old, new, entry), old, new)


def _settings(opts: ReviewOptions, config: Config) -> RunSettings:
    spec = config.retry
    policy = RetryPolicy()
    return RunSettings(
        concurrency=opts.concurrency or config.concurrency,
        retry=replace(
            policy,
            max_attempts=spec.max_attempts or policy.max_attempts,
            base_delay=policy.base_delay if spec.base_delay is None else spec.base_delay,
            max_delay=policy.max_delay if spec.max_delay is None else spec.max_delay,
        ),
        timeout=RunSettings.timeout if spec.timeout is None else spec.timeout,
    )


def _review(opts: ReviewOptions, config: Config, plan: ReviewPlan, base: str, head: str) -> Report:
    pinned = policy.check_pinning(plan.models, plan.providers, config)
    model_spec = assemble.model_text(opts.model, config, plan.models)
    calls = plan.calls
    requests = [call.request for call in calls]
    cache = ResponseCache(default_cache_path(opts.env)) if opts.use_cache else None
    try:
        known = cache.lookup(requests) if cache is not None else {}
        keys = [r.cache_key() for r in requests]  # a hash of the whole request: computed once here
        uncached = set(keys) - set(known)
        if opts.plan_only:
            from promptreview.engine import estimate

            planned = estimate.before_run(plan.jobs, uncached, config)
            return assemble.report(
                plan,
                (),
                model_spec=model_spec,
                pinned=pinned,
                config=config,
                base=base,
                head=head,
                estimate=planned,
            )
        policy.check_budget(len(uncached), config)
        policy.check_credentials(
            {r.model.provider for r, key in zip(requests, keys, strict=True) if key in uncached},
            plan.providers,
        )
        settings = _settings(opts, config)
        # the analysis' imports (pandas, scipy: a second or more) load while the calls wait on the network
        networked = any(
            r.model.provider != "sim" for r, k in zip(requests, keys, strict=True) if k in uncached
        )
        in_batches = config.sequential if opts.sequential is None else opts.sequential
        # (a sequential review loads the statistics itself after its first batch: no second importer then)
        warm = _warm_analysis() if networked and not in_batches else None
        by_job: dict[int, list[Completion]] = defaultdict(list)
        sequential: dict[int, SequentialInfo] = {}
        if in_batches:
            from promptreview.engine import sequential as batches

            plan, ran, sequential = batches.run_plan(plan, cache, settings, config, opts.progress, known)
            by_job.update(ran)
        else:
            completions = (
                run_requests(requests, plan.providers, cache, settings, opts.progress, known)
                if requests
                else []
            )
            for call, completion in zip(calls, completions, strict=True):
                by_job[call.job].append(completion)
    finally:
        if cache is not None:
            cache.close()
    if warm is not None:
        warm.join()  # never import a module from two threads at once
    prompts, served = _score_and_decide(plan, by_job, config) if plan.jobs else ([], [])
    prompts = [
        replace(p, sequential=sequential[job.index]) if job.index in sequential else p
        for p, job in zip(prompts, plan.jobs, strict=True)
    ]
    provider_notes = [note for provider in plan.providers.values() for note in provider.notes]
    return assemble.report(
        plan,
        [*prompts, *(assemble.listed_report(item) for item in plan.listed)],
        model_spec=model_spec,
        pinned=pinned,
        config=config,
        base=base,
        head=head,
        provider_notes=provider_notes,
        served_warnings=served,
    )


def _import_analysis() -> None:
    try:
        from promptreview.engine import decide, estimate  # noqa: F401
        from promptreview.engine.analyse import analyse_prompt  # noqa: F401
        from promptreview.engine.frame import build_frame  # noqa: F401
        from promptreview.engine.score import score_job  # noqa: F401
    except Exception:  # noqa: BLE001  the main thread imports them again and reports any error itself
        return


def _warm_analysis() -> threading.Thread:
    """Import the analysis in a background thread: a review's calls spend their time waiting on the network,
    so the interpreter is free to load pandas and scipy meanwhile (the imports hold the lock only between
    waits). The thread is joined before the analysis starts."""
    thread = threading.Thread(target=_import_analysis, name="promptreview-warm-imports", daemon=True)
    thread.start()
    return thread


def _score_and_decide(
    plan: ReviewPlan, by_job: dict[int, list[Completion]], config: Config
) -> tuple[list[PromptReport], list[str]]:
    # pandas and scipy load only when there is something to analyse
    from promptreview.engine import decide, estimate
    from promptreview.engine.analyse import analyse_prompt
    from promptreview.engine.frame import build_frame
    from promptreview.engine.score import score_job

    candidates, served = [], []
    for job in plan.jobs:
        completions = by_job[job.index]
        frame = build_frame(job.path, score_job(job, completions, config.allow_fenced))
        result = analyse_prompt(frame, job.suite_sample, job.samples, job.head.schema, plan.analysis_seed)
        warnings = decide.served_warnings({side.name: side.model for side in job.sides}, result.served)
        served += [f"{job.path}: {w}" for w in warnings]
        candidates.append(decide.Candidate(job.change, result, tuple(warnings)))
    decisions = decide.decide(candidates, config)
    prompts = [
        assemble.prompt_report(job, decision, estimate.cost(job, by_job[job.index], config))
        for job, decision in zip(plan.jobs, decisions, strict=True)
    ]
    for i, job in enumerate(plan.jobs):
        tokens, saved = estimate.prompt_cache(job, by_job[job.index], config)
        if tokens is not None:
            calls = replace(prompts[i].calls, cached_input_tokens=tokens, cache_savings_usd=saved)
            prompts[i] = replace(prompts[i], calls=calls)
    return prompts, served
