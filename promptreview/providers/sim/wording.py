"""Whether the prompt text says something: one message at a time, each asked once per review.

The prompt text of a request is its system, developer and user messages; its wording rules (docs/sim.md) ask
whether a pattern occurs in it. The instructions are the same text for every input of a review and only the
input's own message changes, so each message's answer is remembered: a 20,000-call review searched the same
system prompt 20,000 times for each rule. A pattern is looked for within each message, not across the line that
joins two of them.
"""

from __future__ import annotations

import re
from functools import lru_cache

Prompt = str | tuple[str, ...]  # one text, or the prompt's messages


@lru_cache(maxsize=65536)
def _has(pattern: re.Pattern[str], text: str) -> bool:
    return pattern.search(text) is not None


def says(pattern: re.Pattern[str], prompt: Prompt) -> bool:
    """Whether `pattern` occurs in the prompt text (in one of its messages)."""
    if isinstance(prompt, str):
        return _has(pattern, prompt)
    return any(_has(pattern, part) for part in prompt)
