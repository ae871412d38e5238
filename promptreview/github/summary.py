"""GitHub Actions' file and stdout protocols: the job summary, step outputs, workflow commands.

Writes only the files GitHub Actions names (`GITHUB_STEP_SUMMARY`, `GITHUB_OUTPUT`). Nothing here prints:
`workflow_command` returns the line, and `Log` hands every line to the sink the command line supplies.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from promptreview import secrets

STEP_SUMMARY_LIMIT = 1024 * 1024  # bytes per step summary; GitHub refuses larger ones


def fit_bytes(text: str, limit: int, notice: str) -> str:
    """`text` if it fits in `limit` UTF-8 bytes, else a cut at a line boundary followed by `notice`."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = max(limit - len(notice.encode("utf-8")) - 16, 0)
    cut = data[:room].decode("utf-8", "ignore")
    newline = cut.rfind("\n")
    if newline > room // 2:
        cut = cut[:newline]
    return cut.rstrip("\n") + "\n" + notice


def append_step_summary(path: str | None, markdown: str, limit: int = STEP_SUMMARY_LIMIT) -> bool:
    """Append to `GITHUB_STEP_SUMMARY` within what is left of its limit; False when there is no file."""
    if not path:
        return False
    target = Path(path)
    used = target.stat().st_size if target.exists() else 0
    notice = (
        "\n> [!NOTE]\n> The report was cut to fit the job summary's 1 MiB limit; the complete report is the "
        "`report-path` output of this step (upload it as an artifact to keep it).\n"
    )
    text = fit_bytes(secrets.scrub(markdown).rstrip("\n") + "\n", max(limit - used, 0), notice)
    with target.open("a", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return True


def write_outputs(path: str | None, values: Mapping[str, str | None]) -> bool:
    """Append step outputs to `GITHUB_OUTPUT` in the heredoc form, safe for any value."""
    if not path:
        return False
    with Path(path).open("a", encoding="utf-8", newline="\n") as fh:
        for name, value in values.items():
            text = "" if value is None else secrets.scrub(str(value))
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            fh.write(f"{name}<<{delimiter}\n{text}\n{delimiter}\n")
    return True


# bidirectional controls (a right-to-left override shows `txt.exe` as `exe.txt`): shown as `<U+202E>`
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """Plain text from a pull request as a person should read it in the log, a check's title or an
    annotation: every bidirectional control shown by its code point instead of reordering what follows, and
    the runner's legacy command prefix `##[` (obeyed anywhere in a line) broken as `##%5B`."""
    return _BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", text).replace("##[", "##%5B")


def _escape_data(text: str) -> str:
    return inert(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_line(text: str) -> str:
    """A value from a file, a model or a pull request as one inert log line: no newline or carriage return to
    start a new line with, no `::` at its start (leading whitespace ignored, as the runner ignores it) for the
    runner to obey, no legacy `##[` command anywhere, no bidirectional control, no credential (the one writer's
    rule)."""
    text = _escape_data(secrets.scrub(text))
    stripped = text.lstrip()
    if stripped.startswith("::"):
        return text[: len(text) - len(stripped)] + "%3A%3A" + stripped[2:]
    return text


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


Command = Literal["error", "warning", "notice"]
"""The workflow commands a run writes (each an annotation on the run, and on a file when it names one)."""


def workflow_command(command: Command, message: str, **properties: str | int | None) -> str:
    """`::error file=prompts/a.prompt.yml,line=3,title=…::message` with GitHub's escaping."""
    props = ",".join(
        f"{k}={_escape_property(secrets.scrub(str(v)))}" for k, v in properties.items() if v is not None
    )
    return f"::{command}{' ' + props if props else ''}::{_escape_data(secrets.scrub(message))}"


Sink = Callable[[str], None]
"""Where a CI run's stdout lines go, one call per line: `click.echo` in the command line."""


@dataclass(frozen=True)
class Log:
    """What a CI run says as it goes, in order: plain notes and workflow commands, each one line to `sink`."""

    sink: Sink

    def say(self, text: str) -> None:
        self.sink(f"promptreview: {escape_line(text)}")

    def command(self, command: Command, message: str, **properties: str | int | None) -> None:
        self.sink(workflow_command(command, message, **properties))
