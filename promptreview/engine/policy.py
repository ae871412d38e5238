"""What must hold before the first model call: pinned models, a review within budget, every key present.

Each check raises a one-line `UsageError` that names the fix; nothing is spent before they all pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from promptreview.errors import UsageError
from promptreview.providers.base import Provider
from promptreview.records import ModelSpec
from promptreview.sources.config import Config

# Providers that serve no dated ids at all: nothing to pin, so their models are reviewed with a note
# (both sides run in the same job minutes apart) instead of being refused
UNPINNABLE = ("github",)


def check_pinning(
    models: Iterable[ModelSpec], providers: Mapping[str, Provider], config: Config
) -> bool | None:
    """Refuse a floating alias (or an unverifiable model) unless the config allows it. A provider with no
    dated ids at all (`UNPINNABLE`) is never refused, in a review or a `--plan`: its report says so instead.

    Returns whether every model is pinned (None when there is no model: nothing to review).
    """
    specs = sorted(set(models), key=str)
    if not specs:
        return None
    all_pinned = True
    for spec in specs:
        provider = providers[spec.provider]
        status = provider.pin_status(spec.model)
        if status == "pinned":
            continue
        all_pinned = False
        if config.allow_unpinned or spec.provider in UNPINNABLE:
            continue
        if status == "floating":
            suggestions = provider.pinned_suggestions(spec.model)
            hint = (
                f"pin a snapshot such as {', '.join(suggestions)}" if suggestions else "pin a dated snapshot"
            )
            raise UsageError(
                f"model {spec} is a floating alias that can change under you; {hint} "
                f"(or set allow_unpinned: true in {config.source})"
            )
        raise UsageError(
            f"model {spec} cannot be verified as pinned on this server; set allow_unpinned: true in "
            f"{config.source} to review with it anyway"
        )
    return all_pinned


def check_budget(needed: int, config: Config) -> None:
    """`needed`: the distinct uncached calls (identical requests are one call)."""
    if config.max_calls is not None and needed > config.max_calls:
        raise UsageError(
            f"this review needs {needed} model calls, over budget.max_calls = "
            f"{config.max_calls}; lower samples or the sample size, or raise the budget"
        )


def check_credentials(provider_names: Iterable[str], providers: Mapping[str, Provider]) -> None:
    """A missing key fails before any call (`MissingCredentials`), not after half the review."""
    for name in sorted(set(provider_names)):
        providers[name].require_credentials()
