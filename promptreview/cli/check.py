"""`promptreview check`: review the prompt files changed between two git revisions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from promptreview.cli.options import review_options, shared_options
from promptreview.cli.output import ProgressBar, review_and_emit
from promptreview.engine.review import review_changes
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
    judge_review: bool,
    fmt: ReportFormat | None,  # click.Choice(FORMATS) admits only these
    output: str | None,
    **shared: Any,  # the other shared options (`review_options`)
) -> int:
    """Review the prompt files changed between BASE and HEAD."""

    def review(progress: ProgressBar) -> Report:
        return review_changes(
            review_options(
                git.repo_root(Path.cwd()), shared, progress, base=base, head=head, judge_review=judge_review
            )
        )

    return review_and_emit(review, fmt, output)
