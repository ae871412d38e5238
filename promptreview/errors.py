"""Expected failures: printed as one line, never with a traceback. `exitcodes` maps each to its code."""

from __future__ import annotations


class PromptReviewError(Exception):
    """An expected failure."""


class UsageError(PromptReviewError):
    """Bad usage, config or input (exit 2)."""


class MissingCredentials(UsageError):
    """A provider needs a key that is not set (exit 2; `ci` turns it into a neutral check on forks)."""

    def __init__(self, message: str, env_var: str) -> None:
        super().__init__(message)
        self.env_var = env_var


class ProviderError(PromptReviewError):
    """The model provider could not be reached or failed too often for a verdict (exit 3)."""
