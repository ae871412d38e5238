"""`promptreview check`: review the prompt files changed between two git revisions."""

from __future__ import annotations

import os
from pathlib import Path

import click

from promptreview.cli.options import batch_mode, shared_options
from promptreview.cli.output import ProgressBar, review_and_emit
from promptreview.engine.review import ReviewOptions, review_changes
from promptreview.report import ReportFormat
from promptreview.report.document import Report
from promptreview.sources import git


@click.command()
@click.option("--base", default=None, help="Base revision (default: merge-base with the default branch).")
@click.option("--head", default=None, help="Head revision (default: the working tree).")
@click.option(
    "--judge",
    "judge_review",
    is_flag=True,
    help="Review a changed LLM judge: head's judge over base's outputs, against base's judge.",
)
@shared_options
def check(
    base: str | None,
    head: str | None,
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
    """Review the prompt files changed between BASE and HEAD."""

    def review(progress: ProgressBar) -> Report:
        return review_changes(
            ReviewOptions(
                repo_root=git.repo_root(Path.cwd()),
                config_path=config_path,
                base=base,
                head=head,
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
            )
        )

    return review_and_emit(review, fmt, output)
