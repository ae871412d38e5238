"""Whether a run's uncached calls go out as provider batches (`batch: auto|on|off`, `--batch/--no-batch`):
decided before any call, so `--plan` prices what the run would do (docs/providers.md#provider-batches).

`auto` batches only where no pull request waits for the verdict, a GitHub Actions run started by `schedule` or
`workflow_dispatch`, and only from `AUTO_THRESHOLD` uncached calls up; a terminal run batches only when asked."""

from __future__ import annotations

from collections.abc import Mapping

from promptreview.vocabulary import BatchMode

# `auto`: the uncached calls from which a run with no pull request waiting goes out as provider batches. Below
# it the synchronous path takes minutes at the default concurrency (1,000 calls at 8 in flight and ~2 s a call:
# about 4 minutes), while a batch may take up to its 24-hour window; above it the half price starts to matter.
AUTO_THRESHOLD = 1_000

# the GitHub Actions events of a run no pull request waits for
_UNATTENDED_EVENTS = frozenset({"schedule", "workflow_dispatch"})


def run_mode(mode: BatchMode, env: Mapping[str, str], waiting: bool = False) -> BatchMode:
    """The batch mode of a run: `auto` stays auto only where no pull request waits for the verdict (a GitHub
    Actions run started by `schedule` or `workflow_dispatch`), else it is off; a run elsewhere (a terminal)
    batches only when asked (`--batch`, `batch: on`). `waiting`: a pull request waits whatever the event says
    (the maintainer-triggered run of a fork's pull request is a `workflow_dispatch`)."""
    if mode == "auto" and (waiting or env.get("GITHUB_EVENT_NAME") not in _UNATTENDED_EVENTS):
        return "off"
    return mode


def wants_batches(mode: BatchMode, uncached: int) -> bool:
    """Whether a run's `uncached` calls go out as provider batches under `mode` (auto already narrowed by
    `run_mode`)."""
    return mode == "on" or (mode == "auto" and uncached >= AUTO_THRESHOLD)
