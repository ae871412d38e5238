"""`promptreview migrate --to MODEL`: review every prompt the config covers on the model it runs on today
against a candidate model, with the same inputs, gates and report as a pull request's review."""

from __future__ import annotations

import os
from pathlib import Path

import click

from promptreview.cli.options import batch_mode, shared_options
from promptreview.cli.output import ProgressBar, review_and_emit
from promptreview.engine.review import ReviewOptions, review_migration
from promptreview.report import ReportFormat
from promptreview.report.document import Report
from promptreview.sources import git


@click.command()
@click.option("--to", "target", required=True, help="The candidate model, provider:model-id (pinned).")
@click.option(
    "--from",
    "source",
    default=None,
    help="The model migrated away from: only the prompts that run on it today (default: each its own).",
)
@click.option(
    "--prompts",
    "only",
    default=None,
    help="A glob (inside the repository) narrowing the prompt files the config covers.",
)
@click.option(
    "--safety",
    is_flag=True,
    help="Also run promptreview's packaged must-refuse rows: a drop in refusals fails the migration.",
)
@shared_options
def migrate(
    target: str,
    source: str | None,
    only: str | None,
    safety: bool,
    config_path: str,
    model: str | None,
    samples: int | None,
    seed: int | None,
    concurrency: int | None,
    fmt: ReportFormat | None,  # click.Choice(FORMATS) admits only these
    output: str | None,
    no_cache: bool,
    plan: bool,
    sequential: bool | None = None,
    cache_only: bool = False,
    batch: bool | None = None,
) -> int:
    """Review every prompt on its current model (base) against the candidate model --to (head)."""

    def review(progress: ProgressBar) -> Report:
        return review_migration(
            ReviewOptions(
                repo_root=git.repo_root(Path.cwd()),
                config_path=config_path,
                model=model,
                samples=samples,
                seed=seed,
                concurrency=concurrency,
                use_cache=not no_cache,
                plan_only=plan,
                env=dict(os.environ),
                progress=progress,
                batches_waiting=progress.batches_waiting,
                sequential=sequential,
                cache_only=cache_only,
                batch=batch_mode(batch),
            ),
            target,
            source,
            only,
            safety,
        )

    return review_and_emit(review, fmt, output)
