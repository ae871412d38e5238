"""The dated price table, config overrides, and the cost of calls."""

from __future__ import annotations

import pytest

from promptreview.providers import pinning, pricing
from promptreview.records import ModelSpec


def test_table_prices_a_call():
    # 1M prompt tokens at 0.15 + 1M completion tokens at 0.60
    assert pricing.estimate_cost("openai:gpt-4o-mini-2024-07-18", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert pricing.estimate_cost(
        ModelSpec("anthropic", "claude-sonnet-4-5-20250929"), 2000, 500
    ) == pytest.approx((2000 * 3.0 + 500 * 15.0) / 1e6)


def test_cached_tokens_are_cheaper():
    full = pricing.estimate_cost("openai:gpt-4o-2024-08-06", 1000, 0)
    cached = pricing.estimate_cost("openai:gpt-4o-2024-08-06", 1000, 0, cached_tokens=1000)
    assert cached == pytest.approx(full / 2)


def test_config_overrides_the_table_and_adds_models():
    prices = {
        "openai:gpt-4o-mini-2024-07-18": {"input": 1.0, "output": 2.0},
        "openai:*": {"input": 10.0, "output": 20.0},
        "anthropic:claude-opus-4-6": {"input": 5.0, "output": 25.0, "cached_input": 0.5},
    }
    assert pricing.estimate_cost("openai:gpt-4o-mini-2024-07-18", 1_000_000, 0, prices) == pytest.approx(1.0)
    assert pricing.estimate_cost("openai:llama-3.1-8b-instruct", 0, 1_000_000, prices) == pytest.approx(20.0)
    price = pricing.lookup_price("anthropic:claude-opus-4-6", prices)
    assert price is not None and price.source == "config" and price.cached_input == 0.5


def test_unknown_is_none_local_and_free_tiers_are_zero():
    assert pricing.estimate_cost("anthropic:my-proxy-model", 10, 10) is None
    assert pricing.estimate_cost("ollama:llama3.1:8b@sha256:46e0c10c039e", 10**6, 10**6) == 0.0
    assert pricing.estimate_cost("sim:triage-v1?parse_failure=0.1", 10**6, 10**6) == 0.0
    assert pricing.estimate_cost("github:openai/gpt-4.1-mini", 10**6, 10**6) == 0.0
    assert "prices:" in pricing.missing_price_hint("anthropic:my-proxy-model")


def test_an_alias_run_with_allow_unpinned_is_priced_as_its_snapshot():
    price = pricing.lookup_price("openai:gpt-4o")
    assert price is not None and price.source.startswith("alias of gpt-4o-2024-")


def test_every_priced_model_is_pinned():
    for spec in pricing.PRICE_TABLE:
        provider, _, model = spec.partition(":")
        rule = {"openai": pinning.openai_pin_status, "anthropic": pinning.anthropic_pin_status}[provider]
        assert rule(model) == "pinned", spec


def test_a_batched_call_costs_the_providers_batch_share():
    full = pricing.estimate_cost("openai:gpt-4o-mini-2024-07-18", 1_000_000, 1_000_000, cached_tokens=10)
    batched = pricing.estimate_cost(
        "openai:gpt-4o-mini-2024-07-18", 1_000_000, 1_000_000, cached_tokens=10, batched=True
    )
    assert batched == pytest.approx(full * pricing.BATCH_RATES["openai"]) == pytest.approx(0.375)
    anthropic = ModelSpec("anthropic", "claude-haiku-4-5-20251001")
    assert pricing.estimate_cost(anthropic, 1000, 100, batched=True) == pytest.approx(
        pricing.estimate_cost(anthropic, 1000, 100) * pricing.BATCH_RATES["anthropic"]
    )


def test_a_configs_price_keeps_the_batch_share_or_gives_its_own():
    prices = {
        "openai:*": {"input": 1.0, "output": 2.0},
        "anthropic:*": {"input": 1.0, "output": 2.0, "batch": 0.8},
    }
    assert pricing.estimate_cost("openai:my-model", 10**6, 0, prices, batched=True) == pytest.approx(0.5)
    assert pricing.estimate_cost("anthropic:my-model", 10**6, 0, prices, batched=True) == pytest.approx(0.8)


def test_a_provider_without_a_batch_rate_is_priced_in_full_even_batched():
    prices = {"gemini:*": {"input": 1.0, "output": 2.0}}
    assert pricing.estimate_cost("gemini:g", 10**6, 0, prices, batched=True) == pytest.approx(1.0)
