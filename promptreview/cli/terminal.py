"""What reaches the terminal: every write to stdout and stderr passes the one secrets scrubber, and control
characters from files, models or pull requests (escape sequences, a bare carriage return) are shown escaped.

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

# C0 controls but tab and newline, DEL, C1 controls; the progress bar's own sequences are let through
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_PROGRESS = re.compile(r"\r|\x1b\[\?25[lh]|\x1b\[2K|\x1b\[\d*[AK]")
# the text report's own colours (`report.text.COLORS`: bold green, red, yellow, cyan, and reset): a model that
# writes one of these can only colour its text, never hide it, move the cursor or set a title
_COLOUR = re.compile(r"\x1b\[(?:3[1236];1|0)m")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


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
    """A text stream that scrubs credentials and escapes control characters before writing to `inner`."""

    def __init__(self, inner: TextIO, progress: bool) -> None:
        self.inner = inner
        self.progress = progress  # stderr: the progress bar's cursor sequences pass

    def write(self, text: str) -> int:
        clean = secrets.scrub(text)
        if self.progress:
            clean = _safe_but(_PROGRESS, clean)
        elif self.inner.isatty():
            clean = _safe_but(_COLOUR, clean)
        else:
            clean = terminal_safe(clean)
        self.inner.write(clean)
        if self.progress:  # stderr: what it says is seen at once, as an unwrapped stderr would show it
            self.inner.flush()
        return len(text)

    def flush(self) -> None:
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


@contextmanager
def scrubbed_streams() -> Iterator[None]:
    out, err = sys.stdout, sys.stderr
    # a closed stream (`>&-`) is None in Python: left None, what would go there is dropped (click does) and the
    # exit code stays the review's, instead of a crash on the first write
    sys.stdout = _Scrubbed(out, progress=False) if out is not None else out
    sys.stderr = _Scrubbed(err, progress=True) if err is not None else err
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
