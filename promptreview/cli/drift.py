"""`promptreview drift`: re-ask HEAD's recorded requests on the same model and test whether the answers moved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from promptreview.cli.options import review_options, shared_options
from promptreview.cli.output import ProgressBar, review_and_emit
from promptreview.engine.drift import drift as watch
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
    fmt: ReportFormat | None,  # click.Choice(FORMATS) admits only these
    output: str | None,
    **shared: Any,  # the other shared options (`review_options`)
) -> int:
    """Re-ask the requests a review recorded for HEAD's prompts, on the same model, and test whether the
    answers moved: exit 0 no drift, 1 drift, 2 bad input (or nothing recorded yet), 3 provider outage."""
    if shared["cache_only"]:
        raise UsageError(
            "drift asks the model again by design; --cache-only would refuse every one of its calls"
        )

    def review(progress: ProgressBar) -> Report:
        return watch(
            review_options(
                git.repo_root(Path.cwd()),
                shared,
                progress,
                extra_flags=("--prompts", glob) if glob is not None else (),
            ),
            glob,
            record,
        )

    return review_and_emit(review, fmt, output)
