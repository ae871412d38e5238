"""What reaches the terminal: every write to stdout and stderr passes the one secrets scrubber, and control
characters from files, models or pull requests (escape sequences, a bare carriage return, bidirectional
overrides) are shown escaped.

In GitHub Actions both streams are the job's log, where the runner obeys a line starting with `::` (after
whitespace) and a legacy `##[` anywhere in a line. So there every line is made inert (`inert_commands`), except
the lines `ci`'s own log writer hands to `command_sink` (`github/summary.py` escapes what they quote): whatever
else prints (a library, a report quoting a model, a template helper) cannot issue a workflow command.

`scrubbed_streams` swaps `sys.stdout`/`sys.stderr` for the run of one command and puts them back after.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from promptreview import secrets

# C0 controls but tab and newline, DEL, C1 controls, bidirectional controls (a right-to-left override shows
# `txt.exe` as `exe.txt`); the progress bar's own sequences are let through
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_PROGRESS = re.compile(r"\r|\x1b\[\?25[lh]|\x1b\[2K|\x1b\[\d*[AK]")
# the text report's own colours (`report.text.COLORS`: bold green, red, yellow, cyan, and reset): a model that
# writes one of these can only colour its text, never hide it, move the cursor or set a title
_COLOUR = re.compile(r"\x1b\[(?:3[1236];1|0)m")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert_commands(line: str) -> str:
    """One line of the job's log that promptreview's log writer did not make: no `::` at its start (leading
    whitespace ignored, as the runner ignores it), no legacy `##[` anywhere."""
    line = line.replace("##[", "##%5B")
    stripped = line.lstrip()
    if stripped.startswith("::"):
        return line[: len(line) - len(stripped)] + "%3A%3A" + stripped[2:]
    return line


def terminal_safe(text: str, keep_newlines: bool = True) -> str:
    """`text` with control characters shown as `\\xNN` (newlines kept unless `keep_newlines` is False)."""
    out = _CONTROL.sub(_escape, text)
    return out if keep_newlines else out.replace("\n", "\\x0a")


def _safe_but(allowed: re.Pattern[str], text: str) -> str:
    """`terminal_safe(text)`, except for the sequences `allowed` matches, which pass as they are."""
    parts = allowed.split(text)
    seps = allowed.findall(text)
    return "".join(terminal_safe(part) + (seps[i] if i < len(seps) else "") for i, part in enumerate(parts))


class _Scrubbed(io.TextIOBase):
    """A text stream that scrubs credentials and escapes control characters before writing to `inner`; in
    GitHub Actions (`actions`), line by line, each line made inert (`inert_commands`)."""

    def __init__(self, inner: TextIO, progress: bool, actions: bool = False) -> None:
        self.inner = inner
        self.progress = progress  # stderr: the progress bar's cursor sequences pass
        self.actions = actions
        self._pending = ""  # Actions: the start of a line not yet ended
        self._line_start = True  # Actions: the next text written starts a line

    def write(self, text: str) -> int:
        clean = secrets.scrub(text)
        if self.progress:
            clean = _safe_but(_PROGRESS, clean)
        elif self.inner.isatty():
            clean = _safe_but(_COLOUR, clean)
        else:
            clean = terminal_safe(clean)
        if self.actions:
            self._pending += clean
            *lines, self._pending = self._pending.split("\n")
            if lines:
                self._emit("\n".join(inert_commands(line) for line in lines) + "\n")
        else:
            self.inner.write(clean)
        if self.progress:  # stderr: what it says is seen at once, as an unwrapped stderr would show it
            self.flush()
        return len(text)

    def _emit(self, text: str) -> None:
        if not self._line_start:  # the rest of a line whose start went out on a flush: already judged
            text = text.replace("##[", "##%5B")
        self.inner.write(text)
        self._line_start = text.endswith("\n")

    def write_command(self, line: str) -> None:
        """One line promptreview's own log writer made (a workflow command it means, or a note it escaped)."""
        self.flush()
        self.inner.write(terminal_safe(secrets.scrub(line), keep_newlines=False) + "\n")
        self._line_start = True

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, ""
            self._emit(inert_commands(pending) if self._line_start else pending)
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def fileno(self) -> int:
        return self.inner.fileno()

    # typeshed declares these as plain attributes of TextIOBase, but the C base class makes them read-only
    # descriptors: a property is the only way to answer for `inner`, and mypy calls that an override
    @property
    def encoding(self) -> str:  # type: ignore[override]  # see above
        return getattr(self.inner, "encoding", "utf-8") or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]  # see above
        return getattr(self.inner, "errors", None)

    def writable(self) -> bool:
        return True


def command_sink(line: str) -> None:
    """Where `ci`'s log writer sends its lines: stdout, past the Actions-mode line filter (their untrusted
    parts are escaped already, and the workflow commands among them are meant)."""
    out = sys.stdout
    if isinstance(out, _Scrubbed):
        out.write_command(line)
    elif out is not None:
        out.write(line + "\n")


@contextmanager
def scrubbed_streams(actions: bool = False) -> Iterator[None]:
    """`actions`: the streams are a GitHub Actions job's log (`GITHUB_ACTIONS=true`)."""
    out, err = sys.stdout, sys.stderr
    # a closed stream (`>&-`) is None in Python: left None, what would go there is dropped (click does) and the
    # exit code stays the review's, instead of a crash on the first write
    sys.stdout = _Scrubbed(out, progress=False, actions=actions) if out is not None else out
    sys.stderr = _Scrubbed(err, progress=True, actions=actions) if err is not None else err
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, _Scrubbed):
                stream.flush()
        sys.stdout, sys.stderr = out, err
