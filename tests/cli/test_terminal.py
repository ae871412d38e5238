"""What reaches a terminal: the report's own colours pass on a TTY; every other control sequence is escaped."""

from __future__ import annotations

import io

from promptreview.cli.terminal import _Scrubbed
from promptreview.report.text import _paint


class _Tty(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_the_reports_colours_reach_a_terminal_and_nothing_else_does():
    inner = _Tty(tty=True)
    painted = _paint("FAIL", "fail", color=True)
    _Scrubbed(inner, progress=False).write(
        f"{painted} model said \x1b[2J\x1b]0;title\x07 \x1b[30;40mhidden\n"
    )
    out = inner.getvalue()
    assert out.startswith(painted)  # real colour, not `\x1b[31;1m` as text
    assert "\x1b[2J" not in out and "\x1b]0" not in out and "\x1b[30;40m" not in out
    assert "\\x1b[2J" in out and "\\x07" in out


def test_piped_output_has_no_escape_sequence_at_all():
    inner = _Tty(tty=False)
    _Scrubbed(inner, progress=False).write(_paint("FAIL", "fail", color=True))
    assert "\x1b" not in inner.getvalue()
