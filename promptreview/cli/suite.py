"""`promptreview suite import FILE --output SUITE.jsonl`: logged model calls into a suite (docs/suites.md#traces).

The reading, cleaning and writing are `sources/traces`'s; this command only parses the options and says what
was written, counted.
"""

from __future__ import annotations

from pathlib import Path

import click

from promptreview.exitcodes import ExitCode
from promptreview.sources.traces import FORMATS, TraceFormat, import_suite


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"


def _names(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


@click.group()
def suite() -> None:
    """Make suites from what production saw."""


@suite.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--output", "-o", required=True, type=click.Path(dir_okay=False), help="The suite to write (.jsonl)."
)
@click.option(
    "--from",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default=None,
    help="The log's format (default: from its first bytes: an OTLP export, a Langfuse export of "
    "observations, else OpenAI JSONL).",
)
@click.option("--strata", default=None, help="Comma-separated keys to stratify by: metadata.<key> or model.")
@click.option(
    "--mask", default=None, help="Comma-separated metadata fields written as *** (secrets are dropped)."
)
def import_(file: str, output: str, fmt: TraceFormat | None, strata: str | None, mask: str | None) -> int:
    """Read FILE (OpenAI chat-completions JSONL, an OTLP JSON export of GenAI spans: OpenTelemetry
    semantic conventions or OpenInference, as Arize Phoenix exports them, or Langfuse's observations: its
    blob storage export, its public API's pages, its UI's trace download) into a suite."""
    done = import_suite(Path(file), Path(output), fmt, _names(strata), _names(mask))
    c = done.counts
    # a stratum key the log never holds (a typo in --strata) writes `unknown` in every row: say how often
    missing = (
        f"; {c.missing_strata} stratum {_plural(c.missing_strata, 'value')} missing, written as unknown"
        if done.strata
        else ""
    )
    click.echo(
        f"{done.suite}: {c.kept} {_plural(c.kept, 'row')} from {c.calls} model {_plural(c.calls, 'call')} "
        f"({done.fmt}; {c.read} {_plural(c.read, 'record')} read); "
        f"{c.duplicates} duplicates, {c.mid_turn} mid-turn, {c.tool_history} with tool turns in their history "
        f"and {c.no_user_message} without a user turn left out; "
        f"{c.dropped_fields + c.masked_fields + c.masked_values} fields dropped or masked{missing}"
    )
    click.echo(f"provenance: {done.provenance}")
    return ExitCode.OK
