"""The demo's "Look around" line names the promptreview that ran it, so it runs from the shell that ran it."""

from __future__ import annotations

import sys

from promptreview.cli.demo import _this_command


def test_the_follow_on_command_is_this_promptreview_when_the_path_finds_another(tmp_path, monkeypatch):
    ours = tmp_path / "venv" / "bin" / "promptreview"
    ours.parent.mkdir(parents=True)
    ours.write_text("#!/bin/sh\n")
    ours.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(ours), "demo"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the venv is not activated
    assert _this_command() == str(ours.resolve())
    monkeypatch.setenv("PATH", str(ours.parent))  # activated: its name is enough
    assert _this_command() == "promptreview"
