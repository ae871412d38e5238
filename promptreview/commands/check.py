"""`promptreview check`: review the prompt files changed between two git revisions."""

from __future__ import annotations

import os
from pathlib import Path

import click

from promptreview import changes
from promptreview.commands.common import Progress, review_and_emit, shared_options
from promptreview.review import ReviewOptions, review_changes


@click.command()
@click.option("--base", default=None, help="Base revision (default: merge-base with the default branch).")
@click.option("--head", default=None, help="Head revision (default: the working tree).")
@shared_options
def check(base, head, config_path, model, samples, seed, concurrency, fmt, output, no_cache, plan) -> int:
    """Review the prompt files changed between BASE and HEAD."""

    def review(progress: Progress):
        return review_changes(
            ReviewOptions(
                repo_root=changes.repo_root(Path.cwd()),
                config_path=config_path,
                base=base,
                head=head,
                model=model,
                samples=samples,
                seed=seed,
                concurrency=concurrency,
                use_cache=not no_cache,
                plan_only=plan,
                env=dict(os.environ),
                progress=progress,
            )
        )

    return review_and_emit(review, fmt, output)
