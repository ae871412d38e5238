"""`promptreview drift`: re-ask HEAD's recorded requests on the same model and test whether the answers moved."""

from __future__ import annotations

import os
from pathlib import Path

import click

from promptreview.cli.options import batch_mode, shared_options
from promptreview.cli.output import ProgressBar, review_and_emit
from promptreview.engine.drift import drift as watch
from promptreview.engine.review import ReviewOptions
from promptreview.errors import UsageError
from promptreview.report import ReportFormat
from promptreview.report.document import Report
from promptreview.sources import git


@click.command()
@click.option(
    "--prompts", "glob", default=None, help="Only the prompt files this glob matches (repo-relative)."
)
@click.option(
    "--record",
    is_flag=True,
    help="Record the answers the cache does not hold yet (a review's requests at HEAD), and compare nothing.",
)
@shared_options
def drift(
    glob: str | None,
    record: bool,
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
    """Re-ask the requests a review recorded for HEAD's prompts, on the same model, and test whether the
    answers moved: exit 0 no drift, 1 drift, 2 bad input (or nothing recorded yet), 3 provider outage."""
    if cache_only:
        raise UsageError(
            "drift asks the model again by design; --cache-only would refuse every one of its calls"
        )

    def review(progress: ProgressBar) -> Report:
        return watch(
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
                batch=batch_mode(batch),
                extra_flags=("--prompts", glob) if glob is not None else (),
            ),
            glob,
            record,
        )

    return review_and_emit(review, fmt, output)
