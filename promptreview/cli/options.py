"""The options the review commands share (README's shared options), and the `ReviewOptions` they make.

`batch_mode` turns `--batch/--no-batch` (a flag, None when not given) into the review's `BatchMode`."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from promptreview.cli.output import ProgressBar
from promptreview.engine.jobs import ReviewOptions
from promptreview.report import FORMATS
from promptreview.sources.config import DEFAULT_CONFIG_PATH
from promptreview.vocabulary import BatchMode


def shared_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--config",
            "config_path",
            default=DEFAULT_CONFIG_PATH,
            show_default=True,
            help="Config file, relative to the repository root.",
        ),
        click.option(
            "--model", default=None, help="Model spec provider:model-id (overrides prompt files and config)."
        ),
        click.option(
            "--samples", type=click.IntRange(1, 50), default=None, help="Completions per input and side."
        ),
        click.option(
            "--seed", type=click.IntRange(min=0), default=None, help="Sampling seed (overrides the config)."
        ),
        click.option(
            "--concurrency", type=click.IntRange(1, 256), default=None, help="Model calls in flight."
        ),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default=None,
            help="Report format [default: from the --output file's extension (.json, .md, .html), else text].",
        ),
        click.option(
            "--output",
            type=click.Path(dir_okay=False, writable=True),
            default=None,
            help="Write the report to FILE instead of stdout.",
        ),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the response cache."),
        click.option(
            "--plan", is_flag=True, help="Print what would run (calls, tokens, cost); call no model."
        ),
        click.option(
            "--sequential",
            is_flag=True,
            default=None,
            help="Run inputs in seeded batches and stop once the verdict is settled (or set `sequential: true`).",
        ),
        click.option(
            "--cache-only",
            is_flag=True,
            help="Answer every call from the response cache and call no model; a missing answer is an error (exit 3).",
        ),
        click.option(
            "--batch/--no-batch",
            "batch",
            default=None,
            help="Send the uncached calls as provider batches (OpenAI, Anthropic: half the price, answered "
            "within 24 h), or never [default: the config's `batch:`, auto].",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def batch_mode(batch: bool | None) -> BatchMode | None:
    """`--batch` is on, `--no-batch` off, neither: None (the config decides)."""
    return None if batch is None else "on" if batch else "off"


def review_options(root: Path, shared: Mapping[str, Any], progress: ProgressBar, **own: Any) -> ReviewOptions:
    """The review a command asks for: the shared options as click passed them (`shared`; `--format` and
    `--output` are the command's own business) and the command's own fields (`own`: base, head, extra flags...)."""
    return ReviewOptions(
        repo_root=root,
        config_path=shared["config_path"],
        model=shared["model"],
        samples=shared["samples"],
        seed=shared["seed"],
        concurrency=shared["concurrency"],
        use_cache=not shared["no_cache"],
        plan_only=shared["plan"],
        sequential=shared["sequential"],
        cache_only=shared["cache_only"],
        batch=batch_mode(shared["batch"]),
        env=dict(os.environ),
        progress=progress,
        batches_waiting=progress.batches_waiting,
        **own,
    )
