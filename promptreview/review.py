"""One review, end to end: plan the calls, run them, classify, analyse, decide. No printing, no exiting."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from promptreview import changes, paths
from promptreview.cache import ResponseCache, default_cache_path
from promptreview.config import Config, PromptEntry, parse_config
from promptreview.errors import UsageError
from promptreview.outcomes import classify, make_validator
from promptreview.prompts import PromptTemplate, check_template, load_prompt
from promptreview.providers import create_provider, parse_model_spec
from promptreview.providers.base import Provider
from promptreview.providers.pinning import served_model_matches
from promptreview.providers.retry import RetryPolicy
from promptreview.records import CompletionRequest, ModelSpec
from promptreview.report.model import PromptReport, Report
from promptreview.runner import RunSettings, run_requests
from promptreview.suites import SuiteSample, load_rows, sample_suite

Progress = Callable[[int, int], None]


@dataclass
class ReviewOptions:
    repo_root: Path
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
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    progress: Progress | None = None


@dataclass
class Side:
    """One version of one prompt: its template, the model it runs on, and its schema."""

    name: str  # base | head
    template: PromptTemplate
    model: ModelSpec
    params: dict[str, Any]
    schema: dict | None  # what outputs are validated against
    sends_schema: bool  # the prompt file itself declares it, so it goes on the wire


@dataclass
class Job:
    report: PromptReport
    entry: PromptEntry
    sample: SuiteSample
    sides: list[Side]
    samples: int
    requests: list[tuple[Side, str, str, int, CompletionRequest]] = field(default_factory=list)


# -- loading -------------------------------------------------------------------------------------------


def load_config_at(root: Path, config_path: str, rev: str | None) -> Config:
    rel = paths.repo_relative(root, config_path, "--config")
    data = changes.read_at(root, rev, rel)
    if data is None:
        where = f" at {rev[:12]}" if rev else ""
        raise UsageError(
            f"config file {config_path!r} not found{where}; run 'promptreview init' to create one"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{config_path}: not valid UTF-8") from None
    return parse_config(text, rel)


def _read(root: Path, rev: str | None, raw: str, what: str) -> tuple[str, bytes]:
    rel = paths.repo_relative(root, raw, what)
    data = changes.read_at(root, rev, rel)
    if data is None:
        where = f" at {rev[:12]}" if rev else ""
        raise UsageError(f"{what}: file {raw!r} does not exist{where}")
    return rel, data


def _load_schema(root: Path, rev: str | None, raw: str, what: str) -> dict:
    import json

    rel, data = _read(root, rev, raw, what)
    try:
        schema = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{rel}: the schema is not valid JSON ({getattr(exc, 'msg', exc)})") from None
    if not isinstance(schema, dict):
        raise UsageError(f"{rel}: a JSON Schema must be an object")
    make_validator(schema, rel)
    return schema


def _entry_for(config: Config, *candidates: str | None) -> PromptEntry | None:
    for entry in config.prompts:
        if any(c and paths.matches_any(c, entry.files) for c in candidates):
            return entry
    return None


# -- planning ------------------------------------------------------------------------------------------


class Planner:
    def __init__(self, opts: ReviewOptions, config: Config, root: Path, suite_rev: str | None) -> None:
        self.opts, self.config, self.root, self.suite_rev = opts, config, root, suite_rev
        self.providers: dict[str, Provider] = {}
        self._samples: dict[tuple, SuiteSample] = {}
        self.samples = opts.samples or config.samples
        self.seed = opts.seed

    def sample_for(self, entry: PromptEntry) -> SuiteSample:
        key = (entry.suite, entry.strata, entry.sample)
        if key not in self._samples:
            rel, data = _read(self.root, self.suite_rev, entry.suite, "suite")
            spec = entry.sample if self.seed is None else replace(entry.sample, seed=self.seed)
            self._samples[key] = sample_suite(rel, load_rows(rel, data), entry.strata, spec)
        return self._samples[key]

    def model_for(self, template: PromptTemplate, entry: PromptEntry) -> ModelSpec:
        text = self.opts.model or template.model or entry.model or self.config.model
        spec = parse_model_spec(text)
        if spec.provider not in self.providers:
            self.providers[spec.provider] = create_provider(spec.provider, self.opts.env)
        return spec

    def side(
        self,
        name: str,
        template: PromptTemplate,
        entry: PromptEntry,
        rev: str | None,
        columns: set[str],
        suite: str,
    ) -> Side:
        check_template(template, columns, suite)
        if template.schema is not None:
            make_validator(template.schema, template.path)
            schema, sends = template.schema, True
        elif entry.schema:
            schema = _load_schema(self.root, rev, entry.schema, "schema")
            sends = False
        else:
            schema, sends = None, False
        params = {**self.config.params, **template.params}
        return Side(name, template, self.model_for(template, entry), params, schema, sends)

    def build_requests(self, job: Job) -> None:
        for side in job.sides:
            params = tuple(sorted(side.params.items()))
            for row in job.sample.rows:
                messages = side.template.render(row.values, f"row {row.input_id!r}")
                for k in range(job.samples):
                    job.requests.append(
                        (
                            side,
                            row.input_id,
                            row.stratum,
                            k,
                            CompletionRequest(
                                model=side.model,
                                messages=messages,
                                params=params,
                                response_schema=side.schema if side.sends_schema else None,
                                schema_name=side.template.schema_name,
                                sample_index=k,
                                expected_schema=None if side.sends_schema else side.schema,
                                json_object=side.template.json_object and not side.sends_schema,
                            ),
                        )
                    )


def _pin_check(planner: Planner, specs: set[ModelSpec], config: Config) -> bool:
    all_pinned = True
    for spec in sorted(specs, key=str):
        provider = planner.providers[spec.provider]
        status = provider.pin_status(spec.model)
        if status == "pinned":
            continue
        all_pinned = False
        if config.allow_unpinned:
            continue
        if status == "floating":
            suggestions = provider.pinned_suggestions(spec.model)
            hint = (
                f"pin a snapshot such as {', '.join(suggestions)}" if suggestions else "pin a dated snapshot"
            )
            raise UsageError(
                f"model {spec} is a floating alias that can change under you; {hint} "
                f"(or set allow_unpinned: true in {config.source})"
            )
        raise UsageError(
            f"model {spec} cannot be verified as pinned on this server; set allow_unpinned: true in "
            f"{config.source} to review with it anyway"
        )
    return all_pinned


# -- the review ----------------------------------------------------------------------------------------


def _jobs_for_changes(
    opts: ReviewOptions, config: Config, planner: Planner
) -> tuple[list[Job], list[PromptReport], str]:
    root = opts.repo_root
    base_ref = opts.base or changes.default_base(root)
    base_sha = changes.merge_base(root, base_ref, opts.head)
    head_rev = changes.resolve_rev(root, opts.head) if opts.head else None
    jobs: list[Job] = []
    listed: list[PromptReport] = []
    for entry in config.prompts:
        paths.check_globs(root, entry.files, "prompts[].files")
    for fc in changes.changed_files(root, base_sha, head_rev):
        entry_new = _entry_for(config, fc.new_path) if fc.new_path else None
        entry_old = _entry_for(config, fc.old_path) if fc.old_path else None
        kind, old_path, new_path = fc.change, fc.old_path, fc.new_path
        if entry_new is None and entry_old is None:
            continue
        if entry_new is None:  # renamed out of the prompt globs: for the review it is gone
            kind, new_path = "removed", None
        elif fc.change == "renamed" and entry_old is None:
            kind, old_path = "added", None
        entry = entry_new or entry_old
        assert entry is not None
        report = PromptReport(
            path=new_path or old_path or "", change=kind, old_path=old_path if kind == "renamed" else None
        )
        if kind == "removed":
            report.notes.append("the prompt file was removed; nothing to run")
            listed.append(report)
            continue
        new_data = changes.read_at(root, head_rev, new_path)
        old_data = changes.read_at(root, base_sha, old_path) if old_path else None
        if new_data is None:
            continue
        if old_data is not None and old_data == new_data:
            report.notes.append("renamed without a change to its content; nothing to run")
            listed.append(report)
            continue
        templates = []
        if old_data is not None:
            templates.append(("base", load_prompt(old_path, old_data), base_sha))
        templates.append(("head", load_prompt(new_path, new_data), head_rev))
        jobs.append(_job(planner, report, entry, templates))
    return jobs, listed, base_sha


def _job(
    planner: Planner,
    report: PromptReport,
    entry: PromptEntry,
    templates: list[tuple[str, PromptTemplate, str | None]],
) -> Job:
    sample = planner.sample_for(entry)
    report.suite = sample.path
    report.notes.extend(sample.notes)
    sides = [planner.side(name, t, entry, rev, sample.columns, sample.path) for name, t, rev in templates]
    for side in sides:
        report.models[side.name] = str(side.model)
    if len(sides) == 1:
        report.notes.append("a new prompt: no base to compare with; its rates are reported on their own")
    elif sides[0].model != sides[1].model:
        report.notes.append(f"model changed: base runs on {sides[0].model}, head on {sides[1].model}")
    job = Job(report, entry, sample, sides, planner.samples)
    planner.build_requests(job)
    return job


def review_changes(opts: ReviewOptions) -> Report:
    """`promptreview check` and `promptreview ci`: review the prompt files changed between two revisions."""
    root = opts.repo_root
    config = load_config_at(root, opts.config_path, opts.config_rev)
    planner = Planner(opts, config, root, opts.config_rev if opts.config_rev else opts.head)
    jobs, listed, base_sha = _jobs_for_changes(opts, config, planner)
    report = Report(
        verdict="skipped",
        base=base_sha,
        head=changes.resolve_rev(root, opts.head) if opts.head else "working tree",
        config=config.source,
        alpha=config.alpha,
    )
    return _finish(opts, config, planner, jobs, listed, report)


def review_files(
    opts: ReviewOptions, old: str, new: str, entry: PromptEntry | None, config: Config
) -> Report:
    """`promptreview compare`: the same review for two prompt files, no git."""
    root = opts.repo_root
    old_path, new_path = Path(old), Path(new)
    for p in (old_path, new_path):
        if not p.is_file():
            raise UsageError(f"prompt file {str(p)!r} does not exist")
    entry = entry or _entry_for(config, new, old) or (config.prompts[0] if config.prompts else None)
    if entry is None:
        raise UsageError("no suite: pass --suite FILE or a config whose prompts entry covers the files")
    planner = Planner(opts, config, root, None)
    report_entry = PromptReport(path=new, change="modified", old_path=old if old != new else None)
    templates = [
        ("base", load_prompt(old, old_path.read_bytes()), None),
        ("head", load_prompt(new, new_path.read_bytes()), None),
    ]
    job = _job(planner, report_entry, entry, templates)
    report = Report(verdict="skipped", base=old, head=new, config=config.source, alpha=config.alpha)
    return _finish(opts, config, planner, [job], [], report)


def _finish(
    opts: ReviewOptions,
    config: Config,
    planner: Planner,
    jobs: list[Job],
    listed: list[PromptReport],
    report: Report,
) -> Report:
    specs = {side.model for job in jobs for side in job.sides}
    report.pinned = _pin_check(planner, specs, config) if specs else None
    report.simulated = any(s.provider == "sim" for s in specs)
    report.model_spec = _model_text(opts, config, specs)
    if report.simulated:
        report.notes.append(
            "simulated model: the numbers come from promptreview's embedded `sim` model, not a real LLM"
        )
    requests = [r for job in jobs for *_, r in job.requests]
    cache = ResponseCache(default_cache_path(opts.env)) if opts.use_cache else None
    try:
        known = cache.lookup(requests) if cache is not None else {}
        uncached = [r for r in requests if r.cache_key() not in known]
        if opts.plan_only:
            from promptreview import plan

            report.plan = plan.plan(jobs, requests, uncached, config)
            return report  # no prompt verdicts: nothing was reviewed yet
        needed = len({r.cache_key() for r in uncached})  # identical requests are one call
        if config.max_calls is not None and needed > config.max_calls:
            raise UsageError(
                f"this review needs {needed} model calls, over budget.max_calls = "
                f"{config.max_calls}; lower samples or the sample size, or raise the budget"
            )
        for name in sorted({r.model.provider for r in uncached}):  # a missing key fails before any call
            getattr(planner.providers[name], "require_credentials", lambda: None)()
        retry = config.retry
        settings = RunSettings(
            concurrency=opts.concurrency or config.concurrency,
            retry=RetryPolicy(
                max_attempts=int(retry.get("max_attempts", RetryPolicy.max_attempts)),
                base_delay=float(retry.get("base_delay", RetryPolicy.base_delay)),
                max_delay=float(retry.get("max_delay", RetryPolicy.max_delay)),
            ),
            timeout=float(retry.get("timeout", RunSettings.timeout)),
        )
        completions = (
            run_requests(requests, planner.providers, cache, settings, opts.progress, known)
            if requests
            else []
        )
    finally:
        if cache is not None:
            cache.close()
    position = 0
    for job in jobs:
        count = len(job.requests)
        _score(job, completions[position : position + count], config, planner.seed)
        position += count
    report.prompts = [job.report for job in jobs] + listed
    for provider in planner.providers.values():
        report.notes.extend(n for n in getattr(provider, "notes", []) if n not in report.notes)
    served = sorted({m for p in report.prompts for ids in p.served.values() for m in ids})
    report.served = served
    _served_warnings(report, jobs)
    if not jobs:
        report.verdict = "skipped"
        report.notes.append("nothing to review: no prompt file covered by the config changed")
        return report
    from promptreview import gates  # scipy and pandas load only when there is something to analyse

    report.verdict = gates.apply_gates(report.prompts, config)
    for p in report.prompts:  # what decided a failing verdict goes to the top, once
        if p.verdict in ("fail", "error"):
            report.warnings.extend(
                w for w in (f"{p.path}: {w}" for w in p.warnings) if w not in report.warnings
            )
    return report


def _model_text(opts: ReviewOptions, config: Config, specs: set[ModelSpec]) -> str:
    if opts.model:
        return opts.model
    if len(specs) == 1:
        return str(next(iter(specs)))
    return config.model if not specs else ", ".join(sorted(map(str, specs)))


def _score(job: Job, completions: list, config: Config, seed: int | None) -> None:
    from promptreview import analysis, plan

    validators = {side.name: make_validator(side.schema, side.template.path) for side in job.sides}
    scored = []
    for (side, input_id, stratum, k, _), completion in zip(job.requests, completions, strict=True):
        outcome = classify(completion, validators[side.name], config.allow_fenced)
        scored.append(analysis.Scored(side.name, input_id, stratum, k, completion, outcome))
    frame = analysis.build_frame(job.report.path, scored)
    schema = job.sides[-1].schema
    analysis.analyse_prompt(job.report, frame, job.sample, job.samples, schema, seed or 0)
    job.report.calls.cost_usd = plan.cost(job, completions, config)
    for side in job.sides:
        part = frame[frame["side"] == side.name]
        errors = int((part["outcome"] == "error").sum())
        if len(part) and (errors / len(part) > config.max_error_rate or errors == len(part)):
            job.report.verdict = "error"
            job.report.warnings.append(
                f"{errors} of {len(part)} {side.name} calls failed after retries "
                f"(over max_error_rate {config.max_error_rate:.0%}): no trustworthy verdict"
            )


def _served_warnings(report: Report, jobs: list[Job]) -> None:
    for job in jobs:
        for side in job.sides:
            served = job.report.served.get(side.name, [])
            requested = side.model.model.split("?")[0]
            if len(served) > 1 and side.model.provider != "sim":
                job.report.warnings.append(
                    f"the provider served several models to the {side.name} side during this run: {', '.join(served)}"
                )
            other = [s for s in served if not served_model_matches(side.model.provider, requested, s)]
            if other:
                job.report.warnings.append(
                    f"requested {requested} but the provider served {', '.join(other)} ({side.name} side)"
                )
    for job in jobs:
        for w in job.report.warnings:
            if "served" in w and w not in report.warnings:
                report.warnings.append(f"{job.report.path}: {w}")
