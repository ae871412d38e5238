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


def test_in_github_actions_no_line_but_the_ci_logs_own_is_a_workflow_command():
    """A library, a template helper or a report quoting a model writes to the job's log: the runner must not
    obey what it says, while `ci`'s own workflow commands (through `command_sink`) still work."""
    inner = _Tty(tty=False)
    out = _Scrubbed(inner, progress=False, actions=True)
    out.write("report line\n::error file=a::smuggled\n   ::warning::indented\nsays ##[error]legacy\n")
    out.write(":")  # a line split across writes is judged whole
    out.write(":notice::split\n")
    out.write("prompts/\u202egpj.prompt.yml\n")
    out.write_command("::error file=prompts/a.prompt.yml,line=3::regression")
    out.write("tail without newline ::x")
    out.flush()
    lines = inner.getvalue().split("\n")
    commands = [line for line in lines if line.lstrip().startswith("::") or "##[" in line]
    assert commands == ["::error file=prompts/a.prompt.yml,line=3::regression"]
    assert "%3A%3Aerror file=a::smuggled" in lines and "   %3A%3Awarning::indented" in lines
    assert "says ##%5Berror]legacy" in lines and "%3A%3Anotice::split" in lines
    assert "prompts/\\u202egpj.prompt.yml" in lines
    assert lines[-1] == "tail without newline ::x"


def test_outside_github_actions_lines_pass_as_they_are():
    inner = _Tty(tty=False)
    _Scrubbed(inner, progress=False).write("::error::x ##[y]\n")
    assert inner.getvalue() == "::error::x ##[y]\n"
