"""Expected failures: printed as one line, never with a traceback. `exitcodes` maps each to its code."""

from __future__ import annotations


class PromptReviewError(Exception):
    """An expected failure."""


class UsageError(PromptReviewError):
    """Bad usage, config or input (exit 2)."""


class MissingFile(UsageError):
    """A file the config names is not there (at the revision it was read at): a caller may fall back."""

    def __init__(self, message: str, path: str, rev: str | None) -> None:
        super().__init__(message)
        self.path = path  # as the config names it
        self.rev = rev  # None: the working tree


class MissingCredentials(UsageError):
    """A provider needs a key that is not set (exit 2; on a fork `ci` makes it an `action_required` check)."""

    def __init__(self, message: str, env_var: str) -> None:
        super().__init__(message)
        self.env_var = env_var


class ProviderError(PromptReviewError):
    """The model provider could not be reached or failed too often for a verdict (exit 3)."""
