"""The command line: click commands that call the engine, print, and map errors to exit codes.

This is the only module that prints or exits. Expected failures (`errors.PromptReviewError`) print one line;
anything else writes its traceback to a log file and says where (set PROMPTREVIEW_RAISE_ERRORS=1 to re-raise).
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback

import click

from promptreview import __version__
from promptreview.errors import PromptReviewError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="promptreview")
def main_group() -> None:
    """Review prompt changes: run the old and the new prompt over the same sample, and report what moved."""


def _register() -> None:
    from promptreview.commands.check import check
    from promptreview.commands.compare import compare

    main_group.add_command(check)
    main_group.add_command(compare)
    for name in ("ci", "init"):
        try:
            module = __import__(f"promptreview.commands.{name}", fromlist=[name])
        except ImportError:
            continue
        main_group.add_command(getattr(module, name))


_register()


def main(argv: list[str] | None = None) -> None:
    try:
        code = main_group.main(args=argv, prog_name="promptreview", standalone_mode=False)
    except PromptReviewError as exc:
        click.echo(f"promptreview: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("promptreview: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code not in (0,) else 0)
    except KeyboardInterrupt:
        click.echo("promptreview: interrupted; completed calls are cached, re-run to resume", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: keep the traceback, but out of the user's terminal
        if os.environ.get("PROMPTREVIEW_RAISE_ERRORS"):
            raise
        fd, log = tempfile.mkstemp(prefix="promptreview-crash-", suffix=".log")
        with os.fdopen(fd, "w") as fh:
            traceback.print_exc(file=fh)
        click.echo(
            f"promptreview: internal error: {type(exc).__name__}: {exc} (traceback in {log})", err=True
        )
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
