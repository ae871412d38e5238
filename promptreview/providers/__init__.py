"""Provider registry and model-spec parsing. One module per provider; the registry is static and imports a
provider's module only when it is first asked for, so importing one provider never imports the others."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from promptreview.errors import UsageError
from promptreview.providers.base import Provider
from promptreview.records import ModelSpec
from promptreview.vocabulary import PROVIDERS, ProviderName, one_of

if TYPE_CHECKING:
    # mypy proves here that every provider has everything the engine calls; nothing is imported at run time
    from promptreview.providers import anthropic, gemini, github, ollama, openai, sim

    _CONFORMS: tuple[type[Provider], ...] = (
        anthropic.AnthropicProvider,
        gemini.GeminiProvider,
        github.GitHubModelsProvider,
        ollama.OllamaProvider,
        openai.OpenAIProvider,
        sim.SimProvider,
    )

# provider name -> module path; each module exposes `create(env) -> Provider`
_REGISTRY: dict[ProviderName, str] = {
    "sim": "promptreview.providers.sim",
    "openai": "promptreview.providers.openai",
    "anthropic": "promptreview.providers.anthropic",
    "ollama": "promptreview.providers.ollama",
    "github": "promptreview.providers.github",
    "gemini": "promptreview.providers.gemini",
}


def known_providers() -> list[str]:
    return sorted(_REGISTRY)


def parse_model_spec(text: str) -> ModelSpec:
    """Parse `provider:model-id`; the model id may itself contain ':' (e.g. `ollama:llama3.1:8b`)."""
    if not isinstance(text, str) or ":" not in text:
        raise UsageError(
            f"model {text!r} must be 'provider:model-id' with provider one of {', '.join(known_providers())}"
        )
    name, model = text.split(":", 1)
    name = name.strip().lower()
    model = model.strip()
    provider = one_of(name, PROVIDERS)
    if provider is None:
        raise UsageError(
            f"unknown model provider {name!r} in {text!r}; known: {', '.join(known_providers())}"
        )
    if not model:
        raise UsageError(f"model {text!r} names no model id after '{provider}:'")
    return ModelSpec(provider=provider, model=model)


def model_name(spec: ModelSpec) -> str:
    """The model `spec` names, without the overrides a `sim` id carries (`sim:triage-v1?refusal=0.2` ->
    `triage-v1`, read by the sim's own parser): what the provider reports as served, what a price is listed
    under. Every other provider's id is the model's name as it is."""
    return provider_model_name(spec.provider, spec.model)


def provider_model_name(provider: str, model_id: str) -> str:
    """`model_name` of a provider's name and model id as text (a price may be listed under any provider's)."""
    if provider == "sim":
        from promptreview.providers.sim import model_id as sim_id  # only a sim id loads the sim

        return sim_id.model_name(model_id)
    return model_id


def create_provider(name: ProviderName, env: Mapping[str, str]) -> Provider:
    """The provider `name` (a key of the registry), configured from `env`."""
    module = importlib.import_module(_REGISTRY[name])
    # a module found by name is typed by what every provider module exposes (`_CONFORMS` checks the classes)
    create: Callable[[Mapping[str, str]], Provider] = module.create
    return create(env)
