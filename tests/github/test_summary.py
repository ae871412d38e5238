"""Job summary (1 MiB), step outputs (heredoc form), workflow commands (escaping)."""

from __future__ import annotations

import re

from promptreview.github.summary import (
    STEP_SUMMARY_LIMIT,
    append_step_summary,
    fit_bytes,
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
