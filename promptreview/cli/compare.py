"""`promptreview compare OLD NEW`: review two prompt files against each other, no git needed."""

from __future__ import annotations

import os
from pathlib import Path

import click

from promptreview.cli.options import batch_mode, shared_options
from promptreview.cli.output import ProgressBar, review_and_emit
from promptreview.engine.review import ReviewOptions, review_files
from promptreview.errors import UsageError
from promptreview.report import ReportFormat
from promptreview.report.document import Report
from promptreview.sources import git, paths
from promptreview.sources.config import DEFAULT_CONFIG_PATH, Config, PromptEntry, SampleSpec, load_config


def _root() -> Path:
    try:
        return git.repo_root(Path.cwd())
    except UsageError:
        return Path.cwd()


@click.command()
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@click.option(
    "--suite", default=None, help="Suite file (JSONL or CSV); otherwise the config's entry for NEW."
)
@click.option("--schema", default=None, help="JSON Schema outputs must satisfy.")
@click.option("--strata", default=None, help="Comma-separated suite columns that define the strata.")
@click.option("--per-stratum", type=click.IntRange(1), default=None, help="Inputs to sample per stratum.")
@click.option("--size", type=click.IntRange(1), default=None, help="Total inputs to sample (proportional).")
@click.option(
    "--judge",
    "judge_review",
    is_flag=True,
    help="Review a changed LLM judge: head's judge over base's outputs, against base's judge.",
)
@shared_options
def compare(
    old: str,
    new: str,
    suite: str | None,
    schema: str | None,
    strata: str | None,
    per_stratum: int | None,
    size: int | None,
    config_path: str,
    model: str | None,
    samples: int | None,
    seed: int | None,
    concurrency: int | None,
    fmt: ReportFormat | None,  # click.Choice(FORMATS) admits only these
    output: str | None,
    no_cache: bool,
    plan: bool,
    judge_review: bool,
    sequential: bool | None = None,
    cache_only: bool = False,
    batch: bool | None = None,
) -> int:
    """Review prompt file NEW against OLD over the same sample."""
    root = _root()
    if (root / paths.repo_relative(root, config_path, "--config")).is_file():
        config = load_config(root, config_path, None)
    elif config_path != DEFAULT_CONFIG_PATH:  # asked for by name: a missing one is a mistake, not "no config"
        raise UsageError(f"--config {config_path}: no such file")
    else:
        # no config: the suite comes from --suite, or from the prompt files' own testData / sample
        config = Config(prompts=[], source="(flags)")
    entry = None
    if per_stratum is not None and size is not None:
        raise UsageError("give either --per-stratum or --size, not both")
    if suite is not None:
        entry = PromptEntry(
            files=(new,),
            suite=suite,
            schema=schema,
            strata=tuple(s.strip() for s in strata.split(",") if s.strip()) if strata else (),
            sample=SampleSpec(per_stratum=per_stratum, size=size, seed=seed or 0),
        )
    elif any(v is not None for v in (schema, strata, per_stratum, size)):
        raise UsageError("--schema, --strata, --per-stratum and --size need --suite")
    elif not config.prompts:
        entry = PromptEntry(files=(new,), suite=None)

    # what the reproduce line must repeat beyond the shared options
    given = {
        "--suite": suite,
        "--schema": schema,
        "--strata": strata,
        "--per-stratum": per_stratum,
        "--size": size,
    }
    extra = tuple(word for flag, value in given.items() if value is not None for word in (flag, str(value)))

    def review(progress: ProgressBar) -> Report:
        opts = ReviewOptions(
            repo_root=root,
            config_path=config_path,
            model=model,
            samples=samples,
            seed=seed,
            concurrency=concurrency,
            use_cache=not no_cache,
            plan_only=plan,
            judge_review=judge_review,
            env=dict(os.environ),
            progress=progress,
            batches_waiting=progress.batches_waiting,
            sequential=sequential,
            cache_only=cache_only,
            batch=batch_mode(batch),
            extra_flags=extra,
        )
        return review_files(opts, old, new, entry, config)

    return review_and_emit(review, fmt, output)
