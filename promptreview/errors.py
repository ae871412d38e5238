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


class RefusedFile(UsageError):
    """A file a prompt reads beside it that a review cannot stand for (a symlink, one reached through a
    symlinked folder, a Git LFS pointer or a filtered file): refused, never taken for a file that is not there."""


class MissingCredentials(UsageError):
    """A provider needs a key that is not set (exit 2; on a fork `ci` makes it an `action_required` check)."""

    def __init__(self, message: str, env_var: str) -> None:
        super().__init__(message)
        self.env_var = env_var


class ProviderError(PromptReviewError):
    """The model provider could not be reached or failed too often for a verdict (exit 3)."""


class CacheMiss(ProviderError):
    """`--cache-only`: answers the review needs are not in the response cache, and it refuses to call the model
    for them (exit 3, as an outage: no verdict, never a pass)."""

    def __init__(self, missing: int, total: int) -> None:
        super().__init__(
            f"the response cache lacks {missing} of the {total} answers this review needs, and --cache-only "
            "refuses to call the model for them"
        )
        self.missing, self.total = missing, total


class RejectedRequest(ProviderError):
    """The provider refused one request for what it asks (HTTP 400, 413, 422: a parameter out of range, a schema
    it does not take, a prompt too long), not for its own health. `request` is the refused
    `records.CompletionRequest` (typed loosely: this module is a leaf), `reason` the failure's own sentence; the
    review decides whose change the request carries (`HeadRejected`), else it stays the provider's error."""

    def __init__(self, message: str, *, status: int, reason: str, request: object) -> None:
        super().__init__(message)
        self.status, self.reason, self.request = status, reason, request


class HeadRejected(PromptReviewError):
    """The provider refuses a request only the head version of a prompt makes: the pull request's change cannot
    run where production runs it. A failure of the change (exit 1, a failed check), never a provider outage."""


class BatchesRunning(KeyboardInterrupt):
    """Ctrl-C while provider batches run: they keep running at the provider, and their ids are in the cache, so
    the same command run again (here or on a machine with this cache) collects them instead of sending their
    requests again. A KeyboardInterrupt still: whatever stops on Ctrl-C stops on it."""

    def __init__(self, batch_ids: tuple[str, ...], *, recorded: bool = True) -> None:
        super().__init__(", ".join(batch_ids))
        self.batch_ids = batch_ids
        self.recorded = recorded  # False: a run without the cache (`--no-cache`) kept no record of them
