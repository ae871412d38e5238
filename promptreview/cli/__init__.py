"""The command line: one click command per file (`check`, `compare`, `ci`, `init`), each calling the engine or
the GitHub workflow once and returning an exit code.

This package is the only place that prints or exits, and `main` the only place that turns an exception into
an exit code (through `exitcodes`): an expected failure (`errors.PromptReviewError`) prints one line; anything
else is a bug, whose traceback goes to a log file the message names (set PROMPTREVIEW_RAISE_ERRORS=1 to
re-raise instead).
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from typing import NoReturn

import click

from promptreview import __version__, secrets
from promptreview.cli.check import check
from promptreview.cli.ci import ci
from promptreview.cli.compare import compare
from promptreview.cli.demo import demo
from promptreview.cli.drift import drift
from promptreview.cli.init import init
from promptreview.cli.migrate import migrate
from promptreview.cli.suite import suite
from promptreview.cli.terminal import scrubbed_streams, terminal_safe
from promptreview.cli.verify import verify
from promptreview.errors import BatchesRunning, PromptReviewError
from promptreview.exitcodes import ExitCode, for_error


# invoke_without_command: a bare `promptreview` is a request for help (exit 0), not a usage error (click's
# default exits 2 with the help as an error)
@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(__version__, prog_name="promptreview")
@click.pass_context
def main_group(ctx: click.Context) -> None:
    """Review prompt changes: run the old and the new prompt over the same sample, and report what moved."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


for command in (check, compare, ci, init, demo, migrate, verify, suite, drift):
    main_group.add_command(command)


def _crash(exc: Exception) -> ExitCode:
    """A bug: keep the traceback, but out of the user's terminal (and scrubbed of every credential)."""
    fd, log = tempfile.mkstemp(prefix="promptreview-crash-", suffix=".log")
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.scrub(traceback.format_exc()))
    click.echo(
        f"promptreview: internal error: {one_line(f'{type(exc).__name__}: {exc}')} (traceback in {log})",
        err=True,
    )
    return ExitCode.CRASH


def one_line(text: str) -> str:
    """`text` as one terminal line: control characters (newlines, escape sequences) shown escaped."""
    return terminal_safe(" ".join(text.splitlines()) if "\n" in text else text, keep_newlines=False)


# The collector's default (a young-generation pass every 700 allocations, and full passes that walk every live
# object) spent a second of a 50,000-completion review on records that are never garbage: they live until exit.
# A higher first threshold keeps cycles collected, just less often (mypy's entry point does the same).
_GC_THRESHOLD = (50_000, 20, 20)


def main(argv: list[str] | None = None) -> NoReturn:
    """The console script (`argv` None: the process is ours, and exits the fast way) and the in-process entry of
    the tests (`argv` given: a plain `SystemExit`)."""
    if argv is None:
        gc.set_threshold(*_GC_THRESHOLD)
    secrets.remember_env(os.environ)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        # before anything else is printed: the runner hides every form of every credential in the log
        for line in secrets.mask_commands():
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
    try:
        with scrubbed_streams(actions=os.environ.get("GITHUB_ACTIONS") == "true"):
            _main(argv)
    except SystemExit as exc:
        if argv is not None:
            raise
        _hard_exit(exc)


def _hard_exit(exc: SystemExit) -> NoReturn:
    """Exit without tearing the interpreter down: freeing a large review's records one by one took longer than
    a cached review's analysis. Everything the review writes is closed by now (report files, the response
    cache); the standard streams are flushed here."""
    code = exc.code
    if code is not None and not isinstance(code, int):
        _quietly(lambda: sys.stderr.write(f"{code}\n"))
        code = 1
    _quietly(lambda: sys.stdout.flush())
    _quietly(lambda: sys.stderr.flush())
    os._exit(code or 0)


def _quietly(write: Callable[[], object]) -> None:
    """A last write that must not change the exit code: a stream may be a closed pipe (`| head`) or missing
    altogether (`>&-`: Python then has None for it)."""
    try:
        write()
    except Exception:  # noqa: BLE001, S110 - nothing more can be written, and the exit code stays the review's
        pass


def _interrupted() -> NoReturn:
    """Ctrl-C: every answer that came in is in the cache already, so the same command picks up from there."""
    click.echo("promptreview: interrupted; completed calls are cached, re-run to resume", err=True)
    sys.exit(ExitCode.INTERRUPTED)


def _batches_running(exc: BatchesRunning) -> NoReturn:
    """Ctrl-C while provider batches run: they keep running, their ids are in the cache, and the same command
    collects them."""
    running = (
        f"promptreview: interrupted; provider batches {', '.join(exc.batch_ids)} keep running at the provider"
    )
    if exc.recorded:
        click.echo(
            f"{running} and their ids are in the cache: run the same command again (here, or where this cache is "
            "restored) to collect them without sending their calls again",
            err=True,
        )
    else:
        click.echo(
            f"{running}; without the cache nothing recorded them, so a re-run sends their calls again",
            err=True,
        )
    sys.exit(ExitCode.INTERRUPTED)


def _main(argv: list[str] | None) -> NoReturn:
    try:
        code = main_group.main(args=argv, prog_name="promptreview", standalone_mode=False)
    except PromptReviewError as exc:
        click.echo(f"promptreview: error: {one_line(str(exc))}", err=True)
        sys.exit(for_error(exc))
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C into Abort, the interrupt as its cause
        if isinstance(exc.__cause__, BatchesRunning):
            _batches_running(exc.__cause__)
        if isinstance(exc.__cause__, KeyboardInterrupt):
            _interrupted()
        click.echo("promptreview: aborted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except BatchesRunning as exc:
        _batches_running(exc)
    except KeyboardInterrupt:
        _interrupted()
    except click.ClickException as exc:
        # one line: the problem and where to look, not click's three-line usage block
        hint = ""
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        click.echo(f"promptreview: error: {one_line(exc.format_message())}{hint}", err=True)
        sys.exit(ExitCode.BAD_INPUT if exc.exit_code else ExitCode.OK)
    except Exception as exc:
        if os.environ.get("PROMPTREVIEW_RAISE_ERRORS"):
            raise
        sys.exit(_crash(exc))
    sys.exit(code if isinstance(code, int) else ExitCode.OK)
