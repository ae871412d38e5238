"""`batch: auto|on|off`: auto batches only where no pull request waits (a scheduled or manually started GitHub
Actions run) and only from `AUTO_THRESHOLD` uncached calls, the number docs/providers.md gives."""

from __future__ import annotations

import pytest

from promptreview.engine.planning.batch_mode import AUTO_THRESHOLD, run_mode, wants_batches


def test_the_documented_threshold():
    assert AUTO_THRESHOLD == 1_000


@pytest.mark.parametrize(
    ("event", "mode"),
    [
        ("schedule", "auto"),
        ("workflow_dispatch", "auto"),
        ("pull_request", "off"),
        ("pull_request_target", "off"),
        ("push", "off"),
        (None, "off"),  # a terminal: batches only when asked
    ],
)
def test_auto_stays_auto_only_where_no_pull_request_waits(event, mode):
    env = {} if event is None else {"GITHUB_EVENT_NAME": event}
    assert run_mode("auto", env) == mode
    assert run_mode("on", env) == "on" and run_mode("off", env) == "off"  # asked for: as asked


@pytest.mark.parametrize("event", ["schedule", "workflow_dispatch", "pull_request"])
def test_auto_batches_from_the_threshold_up_on_unattended_runs_only(event):
    mode = run_mode("auto", {"GITHUB_EVENT_NAME": event})
    unattended = event != "pull_request"
    assert wants_batches(mode, AUTO_THRESHOLD - 1) is False
    assert wants_batches(mode, AUTO_THRESHOLD) is unattended
    assert wants_batches(mode, 100_000) is unattended
    assert wants_batches("on", 1) is True and wants_batches("off", 100_000) is False
