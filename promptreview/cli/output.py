"""What the review commands write: a progress bar on stderr, the report (stdout or `--output`), and, when
a review ends without a verdict (provider outage, crash), a `verdict: error` report a script still finds."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import click

from promptreview import exitcodes, secrets
from promptreview.errors import HeadRejected, ProviderError, UsageError
from promptreview.report import ReportFormat, render
from promptreview.report.document import Report, error_report


class ProgressBar:
    """A progress bar of model calls on stderr; silent when stderr is not a terminal."""

    def __init__(self) -> None:
        self.bar: Any = None  # click's progress bar, once calls start (its class is private to click)
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if sys.stderr is None or not sys.stderr.isatty() or total == 0:  # None: stderr closed (`2>&-`)
            return
        if self.bar is None:  # a new run of calls (the judges run after the prompts' calls)
            self.shown = 0
            self.bar = click.progressbar(length=total, label="model calls", file=sys.stderr, show_pos=True)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done
        if done >= total:
            self.close()

    def batches_waiting(self, batch_ids: tuple[str, ...], recorded: bool) -> None:
        """The run waits on provider batches: say which, and how to resume, on a terminal and in a CI log alike
        (a batch may take hours, and the bar, terminal-only, counts calls, not batches)."""
        if sys.stderr is None:
            return
        if self.bar is not None:  # below the bar's line, which is drawn again at its next update
            click.echo("", err=True)
        resume = (
            "the same command run again (here, or where this cache is restored) collects them"
            if recorded
            else "but without the cache a re-run sends their calls again"
        )
        click.echo(
            f"promptreview: waiting for provider batches {', '.join(batch_ids)} (a batch may take up to 24 "
            f"hours); Ctrl-C leaves them running at the provider, and {resume}",
            err=True,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def check_output(output: str | None) -> None:
    """`--output` must be writable before any model call is spent: its directory exists, it is no directory."""
    if not output:
        return
    target = Path(output)
    if target.is_dir():
        raise UsageError(f"--output {output!r} is a directory; name a file")
    if not target.parent.is_dir():
        raise UsageError(f"--output {output!r}: the directory {str(target.parent)!r} does not exist")


def use_color() -> bool:
    """Colour on a terminal only, and never when NO_COLOR is set (https://no-color.org)."""
    return sys.stdout is not None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def write_report(report: Report, fmt: ReportFormat, output: str | None) -> None:
    if fmt == "text" and not output and use_color():
        from promptreview.report import text as text_format

        text = secrets.scrub(text_format.render(report, color=True))
    else:
        text = secrets.scrub(render(report, fmt))
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"promptreview: {report.verdict} (report written to {output})", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


_BY_EXTENSION: dict[str, ReportFormat] = {
    ".json": "json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}


def report_format(fmt: ReportFormat | None, output: str | None) -> ReportFormat:
    """`--format`, or else the one the `--output` file's extension names (`report.html` is HTML), else text."""
    if fmt:
        return fmt
    return _BY_EXTENSION.get(Path(output).suffix.lower(), "text") if output else "text"


def review_and_emit(
    make_report: Callable[[ProgressBar], Report], fmt: ReportFormat | None, output: str | None
) -> int:
    """Run a review with a progress bar, write its report, and return the exit code its verdict maps to.

    When the review ends without a verdict (the provider failed, or promptreview crashed), a script that
    asked for `--output` still finds a report there, with `verdict: error` and why; the exception then goes
    on to the CLI's one error handler, which picks the exit code.
    """
    check_output(output)
    fmt = report_format(fmt, output)
    try:
        with ProgressBar() as progress:
            report = make_report(progress)
    except (UsageError, HeadRejected):
        raise  # bad input, or a change the provider refuses: not a review, and the one-line error says why
    except Exception as exc:
        if output:
            why = (
                str(exc) if isinstance(exc, ProviderError) else f"internal error: {type(exc).__name__}: {exc}"
            )
            Path(output).write_text(secrets.scrub(render(error_report(why), fmt)), encoding="utf-8")
        raise
    write_report(report, fmt, output)
    return exitcodes.for_review(report.verdict, planned_only=report.forecast is not None)
