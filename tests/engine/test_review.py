"""The review's run settings: the caller's retry policy (ReviewOptions.retry) with the config's `retry:` laid over
it. (Whole reviews that wait through the caller's `sleep`: tests/e2e/test_retries.py.)"""

from __future__ import annotations

from pathlib import Path

from promptreview.engine.jobs import ReviewOptions
from promptreview.engine.review import _settings
from promptreview.providers.retry import RetryPolicy
from promptreview.sources.config import parse_config

CONFIG = "version: 1\nprompts:\n  - files: 'prompts/*.prompt.yml'\n    suite: suite.jsonl\n"


async def _sleep(seconds: float) -> None:
    return None


def test_the_configs_retry_settings_are_laid_over_the_callers_policy():
    mine = RetryPolicy(max_attempts=9, base_delay=0.25, max_delay=3.0, jitter=0.0, sleep=_sleep)
    opts = ReviewOptions(repo_root=Path("."), env={}, retry=mine)
    assert _settings(opts, parse_config(CONFIG)).retry == mine  # the config says nothing: the caller's policy
    given = _settings(opts, parse_config(CONFIG + "retry: {max_attempts: 2, max_delay: 1}\n")).retry
    assert given == RetryPolicy(max_attempts=2, base_delay=0.25, max_delay=1.0, jitter=0.0, sleep=_sleep)


def test_without_a_policy_a_review_waits_through_the_module_wait():
    assert ReviewOptions(repo_root=Path("."), env={}).retry == RetryPolicy()
    assert RetryPolicy().sleep is None  # `retry.wait`: asyncio.sleep, the tests' recorder here
