"""`promptreview verify REPORT.json`: check a JSON report's digests against the repository at its commits, then
replay the review from the response cache (no model call) and compare its verdict and numbers.

One line per check; exit 0 when everything matches, 1 when a digest or a number differs, 2 for bad input (a
file that is no report, a commit the repository lacks), 3 when the cache lacks answers (the CLI's error handler
says how many)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from promptreview.cli.terminal import terminal_safe
from promptreview.engine import verify as verifying
from promptreview.exitcodes import ExitCode
from promptreview.sources import git


@click.command()
@click.argument("report", metavar="REPORT.json", type=click.Path(dir_okay=False))
@click.option(
    "--commit",
    default=None,
    help="Read the head side at this revision instead of the report's head (e.g. a review of the working tree).",
)
@click.option(
    "--cache-only",
    is_flag=True,
    help="Answer from the response cache only (always so: verify never calls a model).",
)
def verify(report: str, commit: str | None, cache_only: bool) -> int:
    """Check REPORT.json's digests against the repository and replay it from the response cache."""
    del cache_only  # verify is cache-only whatever is asked: the flag says so on the command line
    root = git.repo_root(Path.cwd())
    recorded = verifying.read_report(Path(report))
    opts = verifying.replay_options(recorded, root, dict(os.environ), commit)
    differs = 0
    for finding in verifying.verify(recorded, opts):
        differs += finding.status == "differs"
        line = f"{finding.status:<8}{finding.subject}: {finding.detail}"
        click.echo(terminal_safe(line, keep_newlines=False))
    if differs:
        click.echo(f"verify: {differs} check{'s differ' if differs > 1 else ' differs'} from the report")
        return ExitCode.REGRESSION
    click.echo("verify: every digest and number matches the report")
    return ExitCode.OK
