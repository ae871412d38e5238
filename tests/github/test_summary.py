"""Job summary (1 MiB), step outputs (heredoc form), workflow commands (escaping)."""

from __future__ import annotations

import re

from promptreview.github.summary import (
    STEP_SUMMARY_LIMIT,
    append_step_summary,
    escape_line,
    fit_bytes,
    inert,
    workflow_command,
    write_outputs,
)


def read_outputs(path) -> dict[str, str]:
    """Parse GITHUB_OUTPUT the way the runner does."""
    text = path.read_text("utf-8")
    out = {}
    for m in re.finditer(r"^([^\n<]+)<<(\S+)\n(.*?)\n\2$", text, re.S | re.M):
        out[m.group(1)] = m.group(3)
    return out


def test_outputs_survive_newlines_and_odd_characters(tmp_path):
    path = tmp_path / "output"
    path.write_text("earlier=1\n")
    write_outputs(
        str(path), {"verdict": "fail", "comment-url": "https://x/y#issuecomment-1", "multi": "a\nb=c"}
    )
    outs = read_outputs(path)
    assert outs == {"verdict": "fail", "comment-url": "https://x/y#issuecomment-1", "multi": "a\nb=c"}
    assert path.read_text().startswith("earlier=1\n")


def test_outputs_without_a_file_are_a_no_op():
    assert write_outputs(None, {"verdict": "pass"}) is False
    assert append_step_summary("", "x") is False


def test_summary_is_appended(tmp_path):
    path = tmp_path / "summary.md"
    path.write_text("# before\n")
    append_step_summary(str(path), "## promptreview\n")
    assert path.read_text() == "# before\n## promptreview\n"


def test_summary_stays_under_one_mebibyte_counting_what_is_there(tmp_path):
    path = tmp_path / "summary.md"
    path.write_text("x" * 1000 + "\n")
    report = "| row | ✅ é |\n" * 200_000  # multi-byte characters: the limit is in bytes
    append_step_summary(str(path), report)
    size = path.stat().st_size
    assert size <= STEP_SUMMARY_LIMIT
    text = path.read_text("utf-8")
    assert "cut to fit the job summary" in text and text.endswith("\n")


def test_fit_bytes_never_splits_a_character():
    out = fit_bytes("é" * 100, 51, "!")
    out.encode("utf-8")  # would raise on a split
    assert len(out.encode("utf-8")) <= 51


def test_workflow_command_escaping():
    line = workflow_command(
        "error", "50% worse\nsecond line", file="prompts/a,b:c.prompt.yml", line=3, title="t"
    )
    assert line == "::error file=prompts/a%2Cb%3Ac.prompt.yml,line=3,title=t::50%25 worse%0Asecond line"
    assert workflow_command("notice", "plain") == "::notice::plain"


def test_nothing_a_pull_request_writes_is_obeyed_by_the_runner():
    """The runner obeys `::` at a line's start after whitespace, and a legacy `##[` anywhere in a line; a
    right-to-left override reorders what a person reads."""
    for text in (
        "  ::error::smuggled",
        "\t::set-output name=x::y",
        "a ##[error]legacy b",
        "x\n ::warning::y",
    ):
        line = escape_line(text)  # a plain line: nothing in it is a command
        assert "\n" not in line and "##[" not in line and not line.lstrip().startswith("::"), line
        # a command's own data is never parsed again; it just must stay on its one line, legacy-free
        command = workflow_command("notice", text, title=text)
        assert "\n" not in command and "##[" not in command and command.startswith("::notice title=")
    assert escape_line("  ::error::x") == "  %3A%3Aerror::x"
    assert escape_line("a ##[error]b") == "a ##%5Berror]b"
    rlo = "prompts/\u202egpj.prompt.yml"
    assert escape_line(rlo) == "prompts/<U+202E>gpj.prompt.yml" == inert(rlo)
    assert "\u202e" not in workflow_command("error", rlo, file="x", title=rlo)
