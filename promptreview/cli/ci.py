"""`promptreview ci`: the GitHub Actions entry point.

Reads the event, reviews the prompt files the PR changed (config and gates from the base commit), then
publishes: the sticky PR comment, the check run (or a commit status), the job summary, the step outputs and
`::error` workflow commands. The exit code follows `--fail-on`, so either the job or the check run can be
the required check. Every option also reads a `PROMPTREVIEW_*` variable: that is how action.yml passes its
inputs, never by interpolating them into a shell script.

The run itself is `promptreview.github.workflow`, which neither prints nor exits: this command hands it the
options and `click.echo` for its stdout lines, and returns the exit code it gets back.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from promptreview.exitcodes import FAIL_ON, ExitCode, FailOn
from promptreview.github.event import DEFAULT_ACCEPT_LABEL


@click.command()
@click.option(
    "--config",
    "config_path",
    default="promptreview.yml",
    envvar="PROMPTREVIEW_CONFIG",
    show_default=True,
    help="Config file, relative to the repository root (read from the base commit).",
)
@click.option(
    "--model",
    default=None,
    envvar="PROMPTREVIEW_MODEL",
    help="Model spec (overrides prompt files and config).",
)
@click.option(
    "--comment/--no-comment",
    default=True,
    envvar="PROMPTREVIEW_COMMENT",
    show_default=True,
    help="Post or update the sticky PR comment.",
)
@click.option(
    "--check-name",
    default="promptreview",
    envvar="PROMPTREVIEW_CHECK_NAME",
    show_default=True,
    help="Name of the check run (the required check).",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="regression",
    envvar="PROMPTREVIEW_FAIL_ON",
    show_default=True,
    help="When the job itself fails: a regression, also a warning, or never.",
)
@click.option(
    "--accept-label",
    default=DEFAULT_ACCEPT_LABEL,
    envvar="PROMPTREVIEW_ACCEPT_LABEL",
    show_default=True,
    help="PR label that accepts a failing verdict.",
)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="PROMPTREVIEW_REPORT_DIR",
    help="Where report.json and report.md go (default: under RUNNER_TEMP).",
)
@click.option("--samples", type=click.IntRange(1, 50), default=None, help="Completions per input and side.")
@click.option("--seed", type=int, default=None, help="Sampling seed (overrides the config).")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None, help="Model calls in flight.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the response cache.")
@click.option(
    "--cache-key",
    "cache_key_only",
    is_flag=True,
    help="Only compute the actions/cache key (outputs cache-key, cache-restore-keys) and exit.",
)
def ci(
    config_path: str,
    model: str | None,
    comment: bool,
    check_name: str,
    fail_on: FailOn,  # click.Choice(FAIL_ON) admits only these
    accept_label: str,
    report_dir: Path | None,
    samples: int | None,
    seed: int | None,
    concurrency: int | None,
    no_cache: bool,
    cache_key_only: bool,
) -> ExitCode:
    """GitHub Actions entry point: review the PR, comment, set the check, write the job summary."""
    # imported here: PyGithub and the GitHub layer load only when `ci` runs, not for `promptreview --help`
    from promptreview.cli.terminal import command_sink
    from promptreview.github.workflow import Settings, run

    settings = Settings(
        config_path=config_path,
        check_name=check_name,
        fail_on=fail_on,
        accept_label=accept_label,
        comment=comment,
        env=dict(os.environ),
        workdir=Path.cwd(),
        report_dir=report_dir,
        model=model,
        samples=samples,
        seed=seed,
        concurrency=concurrency,
        use_cache=not no_cache,
        cache_key_only=cache_key_only,
    )
    return run(settings, command_sink)
