"""What must hold before the first model call: pinned models, a review within budget, every key present, a
model the base config allows, parameters within the provider's ranges.

Each check raises a one-line `UsageError` that names the fix; nothing is spent before they all pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from promptreview.errors import UsageError
from promptreview.providers import parse_model_spec
from promptreview.providers.base import Provider
from promptreview.records import ModelSpec
from promptreview.sources.config import Config
from promptreview.vocabulary import ProviderName

# Providers that serve no dated ids at all: nothing to pin, so their models are reviewed with a note
# (both sides run in the same job minutes apart) instead of being refused
UNPINNABLE: tuple[ProviderName, ...] = ("github",)


def check_pinning(
    models: Iterable[ModelSpec], providers: Mapping[ProviderName, Provider], config: Config
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


def check_credentials(
    provider_names: Iterable[ProviderName], providers: Mapping[ProviderName, Provider]
) -> None:
    """A missing key fails before any call (`MissingCredentials`), not after half the review."""
    for name in sorted(set(provider_names)):
        providers[name].require_credentials()


# -- the base commit owns the contract: which models a prompt file may run on ------------------------------


def allowed_models(config: Config, base_named: Iterable[str] = ()) -> set[str]:
    """The models the base names, and only those: the base config's `models:`, its own `model:`, every
    entry's `model:` and the stand-ins of its `models_map:`, and the models the base's prompt files name
    (`base_named`). The built-in default model
    (a config without `model:`) is not named by anyone, so it allows nothing."""
    named = {_canonical(m) for m in config.models}
    if config.model_given:
        named.add(_canonical(config.model))
    named.update(_canonical(e.model) for e in config.prompts if e.model)
    named.update(_canonical(m) for m in config.models_map.values())
    named.update(_canonical(m) for m in base_named)
    return named


def _canonical(spec: str) -> str:
    try:
        return str(parse_model_spec(spec))
    except UsageError:
        return spec


def in_ci(env: Mapping[str, str]) -> bool:
    """A GitHub Actions run: where a review that quietly reviewed less would turn a required check green, so
    what is a warning at a desk is an error there."""
    return (env.get("GITHUB_ACTIONS") or "").lower() == "true"


def check_models(
    path: str,
    base_model: ModelSpec | None,
    head_model: ModelSpec,
    config: Config,
    env: Mapping[str, str],
    base_named: Iterable[str] = (),
    head_names_one: bool = True,
) -> None:
    """A prompt may run only on a model the base names (`allowed_models`): a prompt file that changes its
    model (or an added one that names its own) is a model migration, allowed only to such a model; and in CI
    no side runs on the offline simulator unless the base names it (the built-in default `sim` is named by no
    one). A `UsageError` otherwise, before any call."""
    allowed = allowed_models(config, base_named)
    for model in (head_model, base_model):
        if model is None or model.provider != "sim" or not in_ci(env) or str(model) in allowed:
            continue
        raise UsageError(
            f"{path}: this review would run on the offline simulator ({model}), which the base does not "
            f"name; a CI review runs on the configured model (name it with model: or under models: in "
            f"{config.source} on the base branch if that is intended)"
        )
    head = str(head_model)
    if head_model == base_model or (base_model is None and not head_names_one):
        return  # not a migration: both sides run where the base ran (an added prompt on the config's model)
    if head in allowed:
        return
    shown = ", ".join(sorted(allowed)) or "none: the base names no model"
    if base_model is None:
        raise UsageError(
            f"{path}: the pull request adds a prompt on {head}, a model the base names nowhere (not in its "
            f"config nor in its prompt files; allowed: {shown}); list it under models: in {config.source} on "
            "the base branch"
        )
    raise UsageError(
        f"{path}: the pull request moves this prompt from {base_model} to {head}, a model migration the base "
        f"config does not allow (allowed: {shown}); list the model under models: in {config.source} on the "
        "base branch"
    )


def check_migration(target: ModelSpec, config: Config, named: Iterable[str]) -> None:
    """`migrate --to`: the candidate must be a model the config or the prompt files name (`allowed_models`;
    `named`: the models the prompt files name), as a pull request's migration must. A `UsageError` otherwise,
    before any call."""
    allowed = allowed_models(config, named)
    if str(target) in allowed:
        return
    shown = ", ".join(sorted(allowed)) or "none: the config names no model"
    raise UsageError(
        f"--to {target}: a model the config does not allow (allowed: {shown}); list it under models: in "
        f"{config.source}"
    )


# -- model parameters, against each provider's known ranges ------------------------------------------------

# (low, high) per parameter; a provider missing here takes the default ranges
_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "default": {
        "temperature": (0.0, 2.0),
        "top_p": (0.0, 1.0),
        "max_tokens": (1, 1_000_000),
        "max_completion_tokens": (1, 1_000_000),
        "frequency_penalty": (-2.0, 2.0),
        "presence_penalty": (-2.0, 2.0),
    },
    "anthropic": {
        "temperature": (0.0, 1.0),
        "top_p": (0.0, 1.0),
        "max_tokens": (1, 1_000_000),
        "max_completion_tokens": (1, 1_000_000),
    },
}
_INTEGER_PARAMS = ("max_tokens", "max_completion_tokens")
_MAX_STOP: dict[ProviderName, int] = {"openai": 4, "github": 4, "anthropic": 8191, "gemini": 5}


def check_params(params: Mapping[str, Any], provider: ProviderName, where: str) -> None:
    """Refuse a parameter no provider would take (`temperature: hot`, `max_tokens: -5`, `.inf`) before any
    call: a `UsageError` naming the parameter and its range."""
    ranges = _RANGES.get(provider, _RANGES["default"])
    for name, value in params.items():
        if name in ranges:
            low, high = ranges[name]
            integer = name in _INTEGER_PARAMS
            ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
            if isinstance(value, bool) or not ok_type or not math.isfinite(value) or not low <= value <= high:
                kind = "an integer" if integer else "a number"
                raise UsageError(
                    f"{where}: {name} must be {kind} from {low:g} to {high:g} for {provider}, not {value!r}"
                )
        elif name == "seed":
            if isinstance(value, bool) or not isinstance(value, int):
                raise UsageError(f"{where}: seed must be an integer, not {value!r}")
        elif name == "stop":
            stops = [value] if isinstance(value, str) else value
            if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
                raise UsageError(f"{where}: stop must be a string or a list of strings, not {value!r}")
            limit = _MAX_STOP.get(provider)
            if limit is not None and len(stops) > limit:
                raise UsageError(
                    f"{where}: {provider} takes at most {limit} stop sequences, not {len(stops)}"
                )
