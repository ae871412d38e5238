"""One review, end to end: plan → check → run → score → analyse → decide → the report.

The two entry points differ only in where the prompts come from: `review_changes` (git: `check`, `ci`) and
`review_files` (two files: `compare`). Nothing here prints, exits or talks to GitHub.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from promptreview.engine import assemble, manifest
from promptreview.engine.execution.cache import ResponseCache, default_cache_path
from promptreview.engine.execution.runner import RunSettings, run_requests
from promptreview.engine.jobs import ProgressCallback, PromptJob, ReviewOptions, ReviewPlan
from promptreview.engine.planning import batch_mode, policy
from promptreview.engine.planning.plan import (
    ModelMove,
    config_model_moves,
    plan_changes,
    plan_files,
    plan_migration,
)
from promptreview.engine.quality import judges
from promptreview.engine.quality.checks import QualityPlan, check_values
from promptreview.errors import CacheMiss, HeadRejected, RejectedRequest, UsageError
from promptreview.notes import Note, PromptWarning, note
from promptreview.providers import parse_model_spec
from promptreview.providers.base import Provider
from promptreview.records import Completion, CompletionRequest
from promptreview.report.document import Manifest, Migration, PromptReport, Report, Rerun, SideProvenance
from promptreview.sources.changes import ChangeSet, changed_prompts, compare_points, current_prompts
from promptreview.sources.config import DEFAULT_CONFIG_PATH, Config, PromptEntry, load_config
from promptreview.vocabulary import ProviderName, Side

if TYPE_CHECKING:  # the measurement stage loads pandas and scipy
    from promptreview.engine.measurement.outcomes import ScoredCall
    from promptreview.engine.sequential import Sequenced

__all__ = ["ReviewOptions", "review_changes", "review_files", "review_migration"]


def review_changes(opts: ReviewOptions) -> Report:
    """`promptreview check` and `promptreview ci`: review the prompt files changed between two revisions."""
    root = opts.repo_root
    if opts.model:  # a bad --model is bad usage even when there turns out to be nothing to review
        parse_model_spec(opts.model)
    config = load_config(root, opts.config_path, opts.config_rev)
    base_sha, head_sha = compare_points(root, opts.base, opts.head)
    changes = changed_prompts(root, config, base_sha, head_sha)
    unmatched = _unmatched_globs(opts, config, changes.unmatched, base_sha, head_sha)
    changes, moves = _config_moves(opts, config, changes)
    plan = plan_changes(opts, config, changes, moves)
    # head None: the working tree, `check`'s default
    rerun = Rerun("check", base_sha, head_sha, rerun_flags(opts))
    files: dict[tuple[Side, str], bytes] = {}
    for change in changes.prompts:
        if change.base is not None and change.base_path is not None:
            files["base", change.base_path] = change.base
        if change.head is not None:
            files["head", change.path] = change.head
    read = manifest.build(opts, "check", config, plan, base_sha, head_sha, files)
    return _review(opts, config, plan, base_sha, head_sha or "working tree", rerun, unmatched, read=read)


def _config_moves(
    opts: ReviewOptions, config: Config, changes: ChangeSet
) -> tuple[ChangeSet, dict[str, ModelMove]]:
    """A pull request that changes the config's models (its default, an entry's, a `models_map` stand-in) moves
    every prompt that resolves through them to another model: each is reviewed as a model migration, the base
    side on the base's config (CI: the base branch tip's; locally the merge base's), the head side on the
    head's, whether or not its file changed (decision 42). What moved is what the pull request changed since
    the fork: the merge base's config against the head's."""
    if opts.model:
        return changes, {}
    root = opts.repo_root
    try:
        fork = load_config(root, opts.config_path, changes.base)
        after = load_config(root, opts.config_path, changes.head)
    except UsageError:
        # no config at the fork (nothing to have moved from), or a head config that does not read (the base's
        # rules, as always)
        return changes, {}
    if fork == after:
        return changes, {}
    try:
        prompts = current_prompts(root, config, changes.head)
    except UsageError:
        return changes, {}  # no prompt file the config covers
    contract = config if opts.config_rev else fork
    moves = config_model_moves(opts, fork, after, contract, prompts, changes.head)
    listed = {c.path for c in changes.prompts}
    added = tuple(
        p for p in prompts if p.path not in listed and any(m.split("#")[0] == p.path for m in moves)
    )
    return replace(changes, prompts=(*changes.prompts, *added)), moves


def _unmatched_globs(
    opts: ReviewOptions, config: Config, globs: Sequence[str], base: str, head: str | None
) -> list[Note]:
    """A `files:` glob that matches no file at the base or the head makes a check that passes forever: in CI
    that is an error naming the glob (a failing check), locally a warning in the report."""
    where = {g: f"prompts[{i}].files" for i, e in reversed(list(enumerate(config.prompts))) for g in e.files}
    if globs and policy.in_ci(opts.env):
        glob = globs[0]
        raise UsageError(
            f"{config.source}: {where[glob]}: the glob {glob!r} matches no file at the base {base[:12]} nor at "
            f"the head {(head or 'working tree')[:12]}, so the check could never fail; fix the glob on the "
            "base branch"
        )
    return [note("glob_matches_nothing", g, where=where[g]) for g in globs]


def review_migration(
    opts: ReviewOptions, target: str, source: str | None = None, only: str | None = None, safety: bool = False
) -> Report:
    """`promptreview migrate`: every prompt the config covers (those `only` selects), as it is now (the working
    tree, or `opts.head`), on the model it runs on today (the base side; `source`: only the prompts on that
    model) against the candidate `target` (the head side): the same prompt and inputs on both sides, the same
    gates and report, whose headline names the migration. `safety`: the packaged must-refuse rows run beside
    every prompt's inputs, and a drop in refusals on them fails the migration."""
    if opts.model:
        raise UsageError("--model sets both sides' model; a migration names them with --from and --to")
    to = parse_model_spec(target)
    away = parse_model_spec(source) if source else None
    if away == to:
        raise UsageError(f"--from and --to name the same model ({to}): nothing to migrate")
    root = opts.repo_root
    config = load_config(root, opts.config_path, opts.config_rev)
    prompts = current_prompts(root, config, opts.head, only)
    plan = plan_migration(opts, config, prompts, to, away, safety)
    asked = ["--to", target, *(["--from", source] if source else []), *(["--prompts", only] if only else [])]
    asked += ["--safety"] if safety else []
    where = opts.head or "working tree"
    rerun = Rerun("migrate", where, opts.head, (*asked, *rerun_flags(opts)))
    froms = sorted({str(job.sides[0].model) for job in plan.jobs})
    migration = Migration(", ".join(froms), str(to)) if froms else None
    # both sides read the same file, as it is at `opts.head` (None: the working tree); the spec keeps the
    # flags that decide what is planned, so `verify` can run the same migration again
    files: dict[tuple[Side, str], bytes] = {}
    for change in prompts:
        if change.head is not None:
            files["base", change.path] = files["head", change.path] = change.head
    read = manifest.build(opts, "migrate", config, plan, opts.head, opts.head, files)
    spec = replace(read.review, migrate_to=target, migrate_from=source, prompts=only, safety=safety)
    read = replace(read, review=spec)
    return _review(opts, config, plan, where, where, rerun, migration=migration, read=read)


def _model_migration(plan: ReviewPlan) -> Migration | None:
    """A pull request whose every reviewed prompt runs on another model at the head than at the base (the
    config's default changed, or the files' own model) reads as a model migration."""
    pairs = [(str(job.sides[0].model), str(job.head.model)) for job in plan.jobs if len(job.sides) == 2]
    if not pairs or any(base == head for base, head in pairs):
        return None
    return Migration(", ".join(sorted({b for b, _ in pairs})), ", ".join(sorted({h for _, h in pairs})))


def review_files(
    opts: ReviewOptions, old: str, new: str, entry: PromptEntry | None, config: Config
) -> Report:
    """`promptreview compare`: the same review for two prompt files, no git."""
    plan = plan_files(opts, config, old, new, entry)
    files: dict[tuple[Side, str], bytes] = {
        ("base", old): Path(old).read_bytes(),
        ("head", new): Path(new).read_bytes(),
    }
    return _review(
        opts,
        config,
        plan,
        old,
        new,
        Rerun("compare", old, new, rerun_flags(opts)),
        read=manifest.build(opts, "compare", config, plan, old, new, files),
    )


def rerun_flags(opts: ReviewOptions) -> tuple[str, ...]:
    """The options a review was asked with that change what it measures, as command-line flags: the
    reproduce line runs the same review (the config, the suite and the prompts say the rest)."""
    flags: list[str] = []
    if opts.config_path != DEFAULT_CONFIG_PATH:
        flags += ["--config", opts.config_path]
    if opts.model:
        flags += ["--model", opts.model]
    if opts.samples is not None:
        flags += ["--samples", str(opts.samples)]
    if opts.seed is not None:
        flags += ["--seed", str(opts.seed)]
    if opts.sequential:
        flags.append("--sequential")
    if opts.judge_review:
        flags.append("--judge")
    return (*flags, *opts.extra_flags)


def _settings(opts: ReviewOptions, config: Config) -> RunSettings:
    spec = config.retry
    policy = opts.retry
    return RunSettings(
        concurrency=opts.concurrency or config.concurrency,
        retry=replace(
            policy,
            max_attempts=spec.max_attempts or policy.max_attempts,
            base_delay=policy.base_delay if spec.base_delay is None else spec.base_delay,
            max_delay=policy.max_delay if spec.max_delay is None else spec.max_delay,
        ),
        timeout=RunSettings.timeout if spec.timeout is None else spec.timeout,
        sample_batching=config.sample_batching != "off",
        cache_only=opts.cache_only,
        batch=batch_mode.run_mode(opts.batch or config.batch, opts.env, waiting=opts.waiting),
        batches_waiting=opts.batches_waiting,
    )


def _review(
    opts: ReviewOptions,
    config: Config,
    plan: ReviewPlan,
    base: str,
    head: str,
    rerun: Rerun,
    notes: Sequence[Note] = (),
    migration: Migration | None = None,
    read: Manifest | None = None,
) -> Report:
    """The review of a plan; `notes`: what finding the changes noticed (said at the report's top);
    `migration`: `migrate`'s models (else a pull request that only moves prompts to another model says so);
    `read`: the manifest of what the review read."""
    migration = migration or _model_migration(plan)
    if opts.cache_only and not opts.use_cache:
        raise UsageError("--cache-only answers from the response cache, so it cannot go with --no-cache")
    pinned = policy.check_pinning(plan.models, plan.providers, config)
    quality, providers = judges.check_quality(plan, config, opts.env, opts.judge_review)  # before any call
    model_spec = assemble.model_text(opts.model, config, plan.models)
    model_id = assemble.model_id(opts.model, plan.models)
    calls = plan.calls
    requests = [call.request for call in calls]
    cache = ResponseCache(default_cache_path(opts.env)) if opts.use_cache else None
    try:
        known = cache.lookup(requests) if cache is not None else {}
        keys = [r.cache_key() for r in requests]  # a hash of the whole request: computed once here
        uncached = set(keys) - set(known)
        if opts.plan_only:
            from promptreview.engine.planning import forecast

            planned = forecast.before_run(
                plan.jobs, uncached, config, plan.providers, known, batch=_settings(opts, config).batch
            )
            return assemble.report(
                plan,
                (),
                model_spec=model_spec,
                model_id=model_id,
                pinned=pinned,
                config=config,
                base=base,
                head=head,
                rerun=rerun,
                forecast=planned,
                provider_notes=[*notes, *judges.plan_notes(plan, quality)],
                migration=migration,
                manifest=read,
            )
        in_batches = config.sequential if opts.sequential is None else opts.sequential
        if opts.cache_only:
            # no call is made, so no key or budget is needed: a sequential review may need only part of its
            # plan, so the runner refuses each batch's missing calls itself
            if uncached and not in_batches:
                raise CacheMiss(len(uncached), len(set(keys)))
        else:
            policy.check_budget(len(uncached), config)
            policy.check_credentials(
                {r.model.provider for r, key in zip(requests, keys, strict=True) if key in uncached},
                plan.providers,
            )
            policy.check_credentials({spec.provider for spec in judges.judge_models(quality)}, providers)
        # `auto` decides on the whole review's uncached calls, as its `--plan` did, not on each part's
        settings = replace(_settings(opts, config), batch_calls=len(uncached))
        # the analysis' imports (pandas, scipy: a second or more) load while the calls wait on the network
        networked = any(
            r.model.provider != "sim" for r, k in zip(requests, keys, strict=True) if k in uncached
        )
        # (a sequential review loads the statistics itself after its first batch: no second importer then)
        warm = _WarmImports(opts.progress) if networked and not in_batches else None
        by_job: dict[int, list[Completion]] = defaultdict(list)
        sequential: dict[int, Sequenced] = {}
        if in_batches:
            from promptreview.engine import sequential as batches

            must_refuse = {i: q.must_refuse for i, q in quality.items()}
            # a gating quality check is not followed batch by batch: such a prompt never stops for futility
            checked = frozenset(i for i, q in quality.items() if any(c.gate.gating for c in q.checks))
            plan, ran, sequential = batches.run_plan(
                plan, cache, settings, config, opts.progress, known, must_refuse, checked
            )
            by_job.update(ran)
        else:
            completions = (
                run_requests(
                    requests, plan.providers, cache, settings, warm.progress if warm else opts.progress, known
                )
                if requests
                else []
            )
            for call, completion in zip(calls, completions, strict=True):
                by_job[call.job].append(completion)
    except RejectedRequest as exc:
        raise _whose(exc, plan, candidate=rerun.command == "migrate") from None
    finally:
        if cache is not None:
            cache.close()
    if warm is not None:
        warm.join()
    run_judges = _judge_runner(opts, config, providers)
    prompts, served = (
        _score_and_decide(plan, by_job, config, quality, run_judges, providers, sequential)
        if plan.jobs
        else ([], [])
    )
    provider_notes = [*notes, *(said for provider in plan.providers.values() for said in provider.notes)]
    return assemble.report(
        plan,
        [*prompts, *(assemble.listed_report(item) for item in plan.listed)],
        model_spec=model_spec,
        model_id=model_id,
        pinned=pinned,
        config=config,
        base=base,
        head=head,
        rerun=rerun,
        provider_notes=provider_notes,
        served_warnings=served,
        migration=migration,
        manifest=read,
    )


def _whose(exc: RejectedRequest, plan: ReviewPlan, candidate: bool = False) -> HeadRejected | RejectedRequest:
    """A request the provider refused: the head's failure when only head calls make it (a parameter, schema or
    prompt only the pull request brings; `candidate`: a migration's candidate model), else the provider's error
    as it was (the base's requests count as production's: a base that cannot run is no verdict on the change)."""
    if not isinstance(exc.request, CompletionRequest):
        return exc
    key = exc.request.cache_key()
    paths = {job.index: job.path for job in plan.jobs}
    sides = {(paths[c.job], c.side) for c in plan.calls if c.request.cache_key() == key}
    if not sides or any(side != "head" for _, side in sides):
        return exc
    path = min(p for p, _ in sides)
    if candidate:
        return HeadRejected(
            f"{path}: the provider refuses the request on the candidate model {exc.request.model} ({exc.reason}); "
            "the prompt cannot migrate to it as it is"
        )
    return HeadRejected(
        f"{path}: the provider refuses the head version's request ({exc.reason}); the change cannot run on "
        f"{exc.request.model}"
    )


def _import_analysis() -> None:
    try:
        from promptreview.engine.gates import decision  # noqa: F401
        from promptreview.engine.measurement.analysis import analyse_prompt  # noqa: F401
        from promptreview.engine.measurement.frame import build_frame  # noqa: F401
        from promptreview.engine.measurement.outcomes import score_job  # noqa: F401
    except Exception:  # noqa: BLE001  the main thread imports them again and reports any error itself
        return


class _WarmImports:
    """Import the analysis in a background thread while the calls wait on the network: the interpreter is free
    to load pandas and scipy meanwhile (the imports hold the lock only between waits). The thread starts when
    the first answer is in, not before: started with the calls, it held the first requests back by a fifth of
    a second (the runner's setup and the imports competing for the interpreter). `join` before the analysis."""

    def __init__(self, progress: ProgressCallback | None) -> None:
        self._progress = progress
        self._first: int | None = None
        self._thread: threading.Thread | None = None

    def progress(self, done: int, total: int) -> None:
        if self._first is None:
            self._first = done  # the runner's first report: what the cache already held
        elif self._thread is None and done > self._first:
            self._thread = threading.Thread(
                target=_import_analysis, name="promptreview-warm-imports", daemon=True
            )
            self._thread.start()
        if self._progress is not None:
            self._progress(done, total)

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()  # never import a module from two threads at once


def _judge_runner(
    opts: ReviewOptions, config: Config, providers: Mapping[ProviderName, Provider]
) -> Callable[[list[CompletionRequest]], list[Completion]]:
    """Judge calls run like the prompts' calls: same cache, retries and concurrency."""

    def run(requests: list[CompletionRequest]) -> list[Completion]:
        if not requests:
            return []
        cache = ResponseCache(default_cache_path(opts.env)) if opts.use_cache else None
        try:
            return run_requests(requests, providers, cache, _settings(opts, config), opts.progress)
        finally:
            if cache is not None:
                cache.close()

    return run


def _score_and_decide(
    plan: ReviewPlan,
    by_job: dict[int, list[Completion]],
    config: Config,
    quality: Mapping[int, QualityPlan],
    run_judges: Callable[[list[CompletionRequest]], list[Completion]],
    providers: Mapping[ProviderName, Provider],
    sequential: Mapping[int, Sequenced],
) -> tuple[list[PromptReport], list[PromptWarning]]:
    """Score, judge, measure and decide every prompt that ran, and build each one's report from what those
    stages returned; and the served-model warnings, which the review's report puts at its top."""
    # pandas and scipy load only when there is something to analyse
    from promptreview.engine.gates import decision
    from promptreview.engine.measurement import provenance, spending
    from promptreview.engine.measurement.analysis import analyse_prompt
    from promptreview.engine.measurement.frame import build_frame
    from promptreview.engine.measurement.outcomes import score_job
    from promptreview.engine.quality.results import evaluator_rows

    scored = {job.index: score_job(job, by_job[job.index], config.allow_fenced) for job in plan.jobs}
    work = judges.JudgeWork()
    for job in plan.jobs:
        judges.plan_judging(work, job, quality[job.index], scored[job.index])
    judged = judges.collect(work, run_judges(work.requests))
    candidates: list[decision.Candidate] = []
    served: list[PromptWarning] = []
    origins: dict[int, dict[Side, SideProvenance]] = {}
    for job in plan.jobs:
        checks = quality[job.index]
        frame = build_frame(job.path, scored[job.index])
        for column, values in check_values(
            job, checks, scored[job.index], judged.scores.get(job.index, {})
        ).items():
            frame[column] = values
        result = analyse_prompt(
            frame,
            job.suite_sample,
            job.samples,
            job.head.schema,
            plan.analysis_seed,
            output_mode=job.output_mode,
            variables=job.variables,
            excluded=checks.must_refuse,
            tools=job.has_tools,
        )
        rows = evaluator_rows(
            frame,
            checks,
            job.suite_sample,
            plan.analysis_seed,
            judges.judge_records(job.index, checks, judged, providers),
        )
        sources, changed = provenance.provenance(job, by_job[job.index])
        origins[job.index] = sources
        # a served id that changed within a side is said once, with when (`changed`), not also as several ids
        timed = {w.subject for w in changed if w.data.get("what") == "served model"}
        warnings = [
            w
            for w in decision.served_warnings({side.name: side.model for side in job.sides}, result.served)
            if not (w.kind == "served_several" and w.subject in timed)
        ] + changed
        served += [PromptWarning(job.path, w) for w in warnings]
        ran = sequential.get(job.index)
        candidates.append(
            decision.Candidate(
                job.change,
                result,
                rows,
                (*job.warnings, *warnings),
                needs_acceptance=job.needs_acceptance,
                sequential=ran.info if ran is not None else None,
                leakage=checks.leakage_note,
                leakage_fails=checks.leakage_fails,
            )
        )
    decisions = decision.decide(candidates, config)
    return [
        assemble.prompt_report(
            job,
            decided,
            spending.spending(job, by_job[job.index], config),
            sequential=sequential.get(job.index),
            own_schema=_own_schema_note(job, scored[job.index], config.allow_fenced),
            unpinned=_unpinned_note(job, decided.stats.served),
            quality_notes=quality[job.index].notes,
            provenance=origins[job.index],
            leakage=quality[job.index].leakage,
        )
        for job, decided in zip(plan.jobs, decisions, strict=True)
    ], served


def _unpinned_note(job: PromptJob, served: Mapping[Side, Sequence[str]]) -> Note | None:
    """A model with no dated ids (GitHub Models) is reviewed, and the report says what that means."""
    if not any(side.model.provider in policy.UNPINNABLE for side in job.sides):
        return None
    return note("unpinned", served=tuple(sorted({m for ids in served.values() for m in ids})))


def _own_schema_note(job: PromptJob, scored: Sequence[ScoredCall], allow_fenced: bool) -> Note | None:
    """When the head's own schema differs from the contract (the base's), say what it would have judged."""
    from promptreview.engine.measurement.outcomes import classify
    from promptreview.sources.schemas import make_validator

    head = job.head
    if len(job.sides) < 2 or head.own_schema is None or head.own_schema == head.schema:
        return None
    own = make_validator(head.own_schema, head.template.path)
    mine = [s for s in scored if s.call.side == "head"]
    by_contract = sum(s.classification.outcome == "schema_violation" for s in mine)
    by_own = sum(classify(s.completion, own, allow_fenced).outcome == "schema_violation" for s in mine)
    return note("own_schema", head.template.path, violations=by_own, answers=len(mine), contract=by_contract)


def review_plan(
    opts: ReviewOptions,
    config: Config,
    plan: ReviewPlan,
    base: str,
    head: str,
    rerun: Rerun,
    notes: Sequence[Note] = (),
    read: Manifest | None = None,
) -> Report:
    """A plan made by another composition (`drift`'s: recorded answers against the same requests asked
    again) reviewed exactly as a change is: the same cache, calls, scoring, analysis, gates and report."""
    return _review(opts, config, plan, base, head, rerun, notes, read=read)


def run_through_cache(
    opts: ReviewOptions,
    config: Config,
    providers: Mapping[ProviderName, Provider],
    requests: list[CompletionRequest],
) -> list[Completion]:
    """Run `requests` as a review runs its calls (the cache read and written, the config's retries, timeout
    and concurrency): `drift --record` records a review's answers without reviewing."""
    return _judge_runner(opts, config, providers)(requests)
