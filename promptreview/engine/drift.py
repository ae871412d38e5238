"""`promptreview drift`: re-ask the requests a review recorded, on the same pinned model, and test whether the
answers moved (weights rotated behind a stable name).

Every prompt the config covers at HEAD is planned as a review of an unchanged prompt (`plan.plan_current`): both
sides make the same requests. The base side is the answers the response cache recorded for them (a review, or
`drift --record`, made them); the head side is the same requests asked again now, each under a sample index
that names this run (`drift@<time>#k`), so the cache key differs, the recorded answer is never read for it, and
the fresh answer is kept beside it. Both then go through the review's own scoring, analysis and gates
(`review.review_plan`): under no drift the two sides are independent draws of one model, an A/A review, whose
false alarms the review's calibration bounds (benchmarks/drift.py measures them here).

A prompt is compared only when every answer its plan needs is recorded; one with none or only some is listed
with a warning, never counted as a pass. With nothing recorded for any prompt there is nothing to compare: bad
input (exit 2) that says how to record.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timezone

from promptreview.engine import assemble, manifest
from promptreview.engine.execution.cache import ResponseCache, default_cache_path
from promptreview.engine.jobs import Listed, PromptJob, ReviewOptions, ReviewPlan
from promptreview.engine.planning import policy
from promptreview.engine.planning.plan import plan_current
from promptreview.engine.review import rerun_flags, review_plan, run_through_cache
from promptreview.errors import UsageError
from promptreview.notes import note
from promptreview.providers import parse_model_spec
from promptreview.report.document import DriftWindow, Report, Rerun
from promptreview.sources import git
from promptreview.sources.changes import prompts_at
from promptreview.sources.config import Config, load_config
from promptreview.vocabulary import NoteKind, Side

__all__ = ["drift", "fresh_sample", "gating_answers"]

NOTHING_RECORDED = "run a review or `promptreview drift --record` first"


def fresh_sample(asked_at: str, k: int) -> str:
    """The sample index of the k-th sample asked again by the drift run of `asked_at`: a text, so its cache key
    is none of a review's (whose indexes are 0..K-1) and none of another run's."""
    return f"drift@{asked_at}#{k}"


def _when(seconds: float, precise: bool = False) -> str:
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    if precise:
        return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def drift(
    opts: ReviewOptions,
    prompts: str | None = None,
    record: bool = False,
    at: str | None = None,
    asked_at: str | None = None,
) -> Report:
    """`promptreview drift`: HEAD's prompts, their recorded answers against the same requests asked again now
    (`record`: record the answers not recorded yet, and compare nothing). `verify` replays a drift run: `at` is
    the commit it watched (instead of HEAD) and `asked_at` its stamp, so its fresh answers are read from the
    cache under their own sample indexes."""
    root = opts.repo_root
    if opts.model:
        parse_model_spec(opts.model)
    if not opts.use_cache:
        raise UsageError(
            "drift compares against the answers the response cache recorded; it cannot run with --no-cache"
        )
    if record and opts.plan_only:
        raise UsageError("give either --record or --plan, not both")
    rev = git.resolve_rev(root, at or "HEAD")
    config = load_config(root, opts.config_path, rev)
    # everything is read at the HEAD commit: prompts, suites, schemas (what production runs, not an edit)
    opts = replace(opts, config_rev=rev, base=rev, head=rev)
    found = prompts_at(root, config, rev, prompts)  # a selection with no prompt file is a UsageError there
    plan = plan_current(opts, config, found)
    cache = ResponseCache(default_cache_path(opts.env))
    try:
        recorded = cache.recorded_at([c.request.cache_key() for c in plan.calls if c.side == "base"])
    finally:
        cache.close()
    rerun = Rerun("drift", rev, None, rerun_flags(opts))
    if record:
        return _record(opts, config, plan, recorded, rev, rerun)
    asked = time.time() if asked_at is None else _seconds(asked_at)
    stamp = asked_at or _when(asked, precise=True)
    kept: list[PromptJob] = []
    listed: list[Listed] = []
    for job in plan.jobs:
        keys = [c.request.cache_key() for c in job.calls if c.side == "base"]
        held = sum(key in recorded for key in keys)
        if held == len(keys):
            kept.append(_asked_again(job, len(kept), stamp))
            continue
        kind: NoteKind = "drift_partly_recorded" if held else "drift_nothing_recorded"
        said = note(kind, job.path, held=held, answers=len(keys))
        listed.append(Listed(job.path, job.change, None, said, warns=True))
    if not kept:
        raise UsageError(
            f"nothing recorded yet for the {len(plan.jobs)} prompt(s) at HEAD ({rev[:12]}) in the response "
            f"cache {default_cache_path(opts.env)}: {NOTHING_RECORDED}"
        )
    times = [recorded[c.request.cache_key()] for job in kept for c in job.calls if c.side == "base"]
    said = note(
        "drift", recorded_from=_when(min(times)), recorded_to=_when(max(times)), asked_at=_when(asked)
    )
    watched = replace(plan, jobs=tuple(kept), listed=tuple(listed))
    # the manifest: both sides read HEAD's files; the stamp names the fresh answers, so `verify` can replay
    # the run from the cache (recorded and fresh answers alike) with no call
    files: dict[tuple[Side, str], bytes] = {}
    for change in found.prompts:
        if change.head is not None:
            files["base", change.path] = files["head", change.path] = change.head
    read = manifest.build(opts, "drift", config, watched, rev, rev, files)
    read = replace(read, review=replace(read.review, prompts=prompts, asked_at=stamp))
    report = review_plan(opts, gating_answers(config), watched, rev, rev, rerun, [said], read=read)
    if opts.plan_only:  # nothing was asked again
        return report
    window = DriftWindow(_iso(min(times)), _iso(max(times)), _iso(asked))
    return replace(report, drift=window)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _seconds(stamp: str) -> float:
    """The time of a run's stamp (`_when(..., precise=True)`); a stamp that is no time is bad input."""
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise UsageError(f"the drift run's time {stamp[:40]!r} is not an ISO 8601 time") from None


def gating_answers(config: Config) -> Config:
    """The config's gates with the flip rate (answers that differ from the recorded ones beyond the noise floor
    of the recorded answers themselves) and the output-distribution shift gating, each at the config's own
    margin: answers that moved behind the same name are the drift this command is for, where a review of a
    prompt edit only warns about them. Their p-values then join the gated Holm family, so the false alarms
    stay bounded (benchmarks/drift.py measures them)."""
    gates = dict(config.gates)
    for name in ("flip_rate", "distribution_shift"):
        gates[name] = replace(gates[name], gating=True)
    return replace(config, gates=gates)


def _asked_again(job: PromptJob, index: int, asked_at: str) -> PromptJob:
    """`job` as the `index`-th job of the drift plan, its head calls the same requests under this run's own
    sample indexes."""
    calls = tuple(
        replace(
            call,
            job=index,
            request=call.request
            if call.side == "base"
            else call.request.with_sample(fresh_sample(asked_at, call.sample)),
        )
        for call in job.calls
    )
    return replace(job, index=index, calls=calls)


def _record(
    opts: ReviewOptions,
    config: Config,
    plan: ReviewPlan,
    recorded: dict[str, float],
    rev: str,
    rerun: Rerun,
) -> Report:
    """`drift --record`: ask the requests whose answers are not recorded yet, through the cache (an answer
    recorded already stays as it was: it is what later runs compare against), and list what each prompt holds."""
    pinned = policy.check_pinning(plan.models, plan.providers, config)
    base = [c.request for c in plan.calls if c.side == "base"]
    missing = list({r.cache_key(): r for r in base if r.cache_key() not in recorded}.values())
    policy.check_budget(len(missing), config)
    policy.check_credentials({r.model.provider for r in missing}, plan.providers)
    done = run_through_cache(opts, config, plan.providers, missing) if missing else []
    stored = {c.request.cache_key() for c in done if c.response is not None}
    listed: list[Listed] = []
    for job in plan.jobs:
        keys = {c.request.cache_key() for c in job.calls if c.side == "base"}
        said = note("drift_recorded", job.path, new=len(keys & stored), held=len(keys & set(recorded)))
        listed.append(Listed(job.path, job.change, None, said))
    return assemble.report(
        replace(plan, jobs=(), listed=tuple(listed)),
        [assemble.listed_report(item) for item in listed],
        model_spec=assemble.model_text(opts.model, config, plan.models),
        model_id=assemble.model_id(opts.model, plan.models),
        pinned=pinned,
        config=config,
        base=rev,
        head=rev,
        rerun=replace(rerun, flags=(*rerun.flags, "--record")),
    )
