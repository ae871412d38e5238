"""Prices of the pinned models we support, in USD per million tokens, and the cost of a call or a review side.

The table is dated (`PRICES_AS_OF`); prices change, so a config can override or add any model:

```yaml
prices:
  "openai:gpt-4o-mini-2024-07-18": {input: 0.15, output: 0.60, cached_input: 0.075}
  "openai:*": {input: 1.0, output: 4.0}        # every openai: model without a price of its own
```

Keys are model specs (`provider:model-id`) or `provider:*`; `cached_input` is optional (default: `input`), and so
is `batch`, the share of the price a call answered through a provider batch costs (default: `BATCH_RATES`).
Local models (`ollama:`) and the simulator cost nothing; GitHub Models' free, rate-limited tier costs nothing.
An unknown price is `None`, never a guess: the report says the cost is unknown and how to add the price.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from promptreview.providers import pinning, provider_model_name
from promptreview.records import ModelSpec

PRICES_AS_OF = (
    "2025-11-15"  # the providers' public price pages on this date; standard tier, no batch discount
)

# model spec -> (input, cached input, output), USD per 1M tokens
PRICE_TABLE: dict[str, tuple[float, float | None, float]] = {
    # OpenAI
    "openai:gpt-5-2025-08-07": (1.25, 0.125, 10.00),
    "openai:gpt-5-mini-2025-08-07": (0.25, 0.025, 2.00),
    "openai:gpt-5-nano-2025-08-07": (0.05, 0.005, 0.40),
    "openai:gpt-5.1-2025-11-13": (1.25, 0.125, 10.00),
    "openai:gpt-4.1-2025-04-14": (2.00, 0.50, 8.00),
    "openai:gpt-4.1-mini-2025-04-14": (0.40, 0.10, 1.60),
    "openai:gpt-4.1-nano-2025-04-14": (0.10, 0.025, 0.40),
    "openai:gpt-4o-2024-11-20": (2.50, 1.25, 10.00),
    "openai:gpt-4o-2024-08-06": (2.50, 1.25, 10.00),
    "openai:gpt-4o-2024-05-13": (5.00, None, 15.00),
    "openai:gpt-4o-mini-2024-07-18": (0.15, 0.075, 0.60),
    "openai:o4-mini-2025-04-16": (1.10, 0.275, 4.40),
    "openai:o3-2025-04-16": (2.00, 0.50, 8.00),
    "openai:o3-mini-2025-01-31": (1.10, 0.55, 4.40),
    "openai:o1-2024-12-17": (15.00, 7.50, 60.00),
    "openai:gpt-4-turbo-2024-04-09": (10.00, None, 30.00),
    "openai:gpt-3.5-turbo-0125": (0.50, None, 1.50),
    # Anthropic (cached input = cache read)
    "anthropic:claude-opus-4-5-20251101": (5.00, 0.50, 25.00),
    "anthropic:claude-sonnet-4-5-20250929": (3.00, 0.30, 15.00),
    "anthropic:claude-haiku-4-5-20251001": (1.00, 0.10, 5.00),
    "anthropic:claude-opus-4-1-20250805": (15.00, 1.50, 75.00),
    "anthropic:claude-opus-4-20250514": (15.00, 1.50, 75.00),
    "anthropic:claude-sonnet-4-20250514": (3.00, 0.30, 15.00),
    "anthropic:claude-3-7-sonnet-20250219": (3.00, 0.30, 15.00),
    "anthropic:claude-3-5-sonnet-20241022": (3.00, 0.30, 15.00),
    "anthropic:claude-3-5-haiku-20241022": (0.80, 0.08, 4.00),
    "anthropic:claude-3-haiku-20240307": (0.25, 0.03, 1.25),
    "anthropic:claude-3-opus-20240229": (15.00, 1.50, 75.00),
}
# provider -> the share of the synchronous price a call answered through a provider batch costs (input, cached
# input and output alike): OpenAI's Batch API and Anthropic's Message Batches both bill half, per their price
# pages on `PRICES_AS_OF`. A config's price entry may give its own (`batch: 0.5`); a provider missing here is
# priced at the synchronous rate even when batched (an upper bound, never a guess below it).
BATCH_RATES: dict[str, float] = {
    "openai": 0.5,
    "anthropic": 0.5,
}
FREE_PROVIDERS = {"ollama": "local model", "sim": "simulator", "github": "GitHub Models free tier"}


@dataclass(frozen=True)
class Price:
    input: float  # USD per 1M prompt tokens
    output: float  # USD per 1M completion tokens
    cached_input: float | None = None  # USD per 1M cached prompt tokens (None: same as input)
    source: str = "table"  # table | config | alias of <id> | free: <why>
    as_of: str | None = PRICES_AS_OF
    batch: float | None = None  # the share of this price a provider-batch call costs (None: the full price)


def _parts(spec: ModelSpec | str) -> tuple[str, str]:
    """(provider, model id) of a spec, parsed or as text: a price is looked up for any provider's name."""
    if isinstance(spec, ModelSpec):
        return spec.provider, spec.model
    provider, _, model = str(spec).partition(":")
    return provider.strip().lower(), model.strip()


def _from_config(raw: Mapping[str, Any], provider: str) -> Price:
    cached = raw.get("cached_input")
    batch = raw.get("batch")
    return Price(
        input=float(raw["input"]),
        output=float(raw["output"]),
        cached_input=None if cached is None else float(cached),
        source="config",
        as_of=None,
        batch=BATCH_RATES.get(provider) if batch is None else float(batch),
    )


def lookup_price(
    spec: ModelSpec | str, prices: Mapping[str, Mapping[str, Any]] | None = None
) -> Price | None:
    """The price of `spec`: the config's entry, then `provider:*` in the config, then the table; None if unknown."""
    provider, model_id = _parts(spec)
    overrides = prices or {}
    model = provider_model_name(provider, model_id)  # a sim id's overrides are not part of the model
    text = f"{provider}:{model}"
    for key in (text, f"{provider}:{pinning.split_ollama_digest(model)[0]}", f"{provider}:*"):
        if key in overrides:
            return _from_config(overrides[key], provider)
    if provider in FREE_PROVIDERS:
        return Price(0.0, 0.0, 0.0, source=f"free: {FREE_PROVIDERS[provider]}", as_of=None)
    batch = BATCH_RATES.get(provider)
    if text in PRICE_TABLE:
        inp, cached, out = PRICE_TABLE[text]
        return Price(inp, out, cached, batch=batch)
    # a floating alias (only runs with allow_unpinned): price it as the snapshot it most likely points at
    suggest = {"openai": pinning.openai_pinned_suggestions, "anthropic": pinning.anthropic_pinned_suggestions}
    for candidate in suggest.get(provider, lambda _m: [])(model):
        key = f"{provider}:{candidate}"
        if key in PRICE_TABLE:
            inp, cached, out = PRICE_TABLE[key]
            return Price(inp, out, cached, source=f"alias of {candidate}", batch=batch)
    return None


def cost_of(
    price: Price, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0, *, batched: bool = False
) -> float:
    """USD for the given token counts; `cached_tokens` is the part of `prompt_tokens` served from a prompt cache;
    `batched`: answered through a provider batch, at the price's batch share where it has one."""
    cached = min(max(cached_tokens or 0, 0), max(prompt_tokens or 0, 0))
    fresh = max(prompt_tokens or 0, 0) - cached
    cached_rate = price.input if price.cached_input is None else price.cached_input
    total = fresh * price.input + cached * cached_rate + max(completion_tokens or 0, 0) * price.output
    if batched and price.batch is not None:
        total *= price.batch
    return total / 1_000_000


def cache_discount(price: Price) -> float:
    """USD per 1M input tokens a prompt-cache hit saves on this price (0: free, or no cached rate)."""
    return price.input - (price.input if price.cached_input is None else price.cached_input)


def cold_start_cost(price: Price, prompt_tokens: float, cached_share: float) -> float:
    """USD that `cached_share` of `prompt_tokens` costs at the full input price rather than the cached rate: what
    a model change costs until the provider's prompt cache (keyed on the model) warms on the new model."""
    return prompt_tokens * cached_share * cache_discount(price) / 1_000_000


def estimate_cost(
    spec: ModelSpec | str,
    prompt_tokens: int,
    completion_tokens: int,
    prices: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    cached_tokens: int = 0,
    batched: bool = False,
) -> float | None:
    """USD for one call or a sum of calls on `spec` (`batched`: through a provider batch); None when its price is
    unknown (add it under `prices:`)."""
    price = lookup_price(spec, prices)
    if price is None:
        return None
    return cost_of(price, prompt_tokens, completion_tokens, cached_tokens, batched=batched)


def missing_price_hint(spec: ModelSpec | str) -> str:
    """The config lines that would give `spec` a price."""
    text = ":".join(_parts(spec))
    return f'no price known for {text}; add it to the config: prices: {{"{text}": {{input: <USD per 1M>, output: <USD per 1M>}}}}'
