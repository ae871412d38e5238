"""Options and output shared by the review commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from promptreview.errors import ProviderError
from promptreview.report import render


def shared_options(func: Callable) -> Callable:
    options = [
        click.option(
            "--config",
            "config_path",
            default="promptreview.yml",
            show_default=True,
            help="Config file, relative to the repository root.",
        ),
        click.option(
            "--model", default=None, help="Model spec provider:model-id (overrides prompt files and config)."
        ),
        click.option(
            "--samples", type=click.IntRange(1, 50), default=None, help="Completions per input and side."
        ),
        click.option("--seed", type=int, default=None, help="Sampling seed (overrides the config)."),
        click.option(
            "--concurrency", type=click.IntRange(1, 256), default=None, help="Model calls in flight."
        ),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(["text", "markdown", "json", "html"]),
            default="text",
            show_default=True,
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
    ]
    for option in reversed(options):
        func = option(func)
    return func


class Progress:
    """A progress bar on stderr while calls run; silent when stderr is not a terminal."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty() or total == 0:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="model calls", file=sys.stderr, show_pos=True)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def emit(report: Any, fmt: str, output: str | None) -> int:
    """Render and write the report; return the exit code its verdict maps to."""
    text = render(report, fmt)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"promptreview: {report.verdict} (report written to {output})", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))
    return 0 if report.plan is not None else report.exit_code()


def write_failure(exc: Exception, fmt: str, output: str | None) -> None:
    """When the provider fails (exit 3) a script that asked for `--output` still finds a report saying so."""
    if not output:
        return
    if fmt == "json":
        data = {
            "schema_version": 1,
            "verdict": "error",
            "error": str(exc),
            "model": {"spec": None, "served": [], "pinned": None},
            "prompts": [],
        }
        text = json.dumps(data, indent=2) + "\n"
    else:
        text = f"promptreview: ERROR: no trustworthy verdict\n{exc}\n"
    Path(output).write_text(text, encoding="utf-8")


def review_and_emit(make_report: Callable[[Progress], Any], fmt: str, output: str | None) -> int:
    """Run a review with a progress bar, write its report, and return the exit code it maps to."""
    progress = Progress()
    try:
        report = make_report(progress)
    except ProviderError as exc:
        write_failure(exc, fmt, output)
        raise
    finally:
        progress.close()
    return emit(report, fmt, output)
