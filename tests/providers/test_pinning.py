"""Pinning rules per provider: pinned snapshot, floating alias, or unverifiable; and the ids to suggest."""

from __future__ import annotations

import pytest

from promptreview.providers import pinning


@pytest.mark.parametrize(
    ("model", "status"),
    [
        ("gpt-4o-2024-08-06", "pinned"),
        ("gpt-4o-mini-2024-07-18", "pinned"),
        ("gpt-4.1-nano-2025-04-14", "pinned"),
        ("o3-mini-2025-01-31", "pinned"),
        ("gpt-4o-audio-preview-2024-12-17", "pinned"),
        ("gpt-4-0613", "pinned"),  # legacy -MMDD
        ("gpt-3.5-turbo-0125", "pinned"),
        ("gpt-4-1106-preview", "pinned"),
        ("gpt-3.5-turbo-16k-0613", "pinned"),
        ("ft:gpt-4o-mini-2024-07-18:acme::9abcDEF", "pinned"),
        ("ft:gpt-4o-mini-2024-07-18:acme:triage:9abcDEF", "pinned"),
        ("gpt-4o", "floating"),
        ("gpt-4o-mini", "floating"),
        ("gpt-4.1", "floating"),
        ("o3", "floating"),
        ("o1-preview", "floating"),
        ("gpt-4-turbo-preview", "floating"),
        ("gpt-3.5-turbo-16k", "floating"),
        ("chatgpt-4o-latest", "floating"),
        ("gpt-5-chat-latest", "floating"),
        ("GPT-4o", "floating"),
        ("gpt-4o-2024-13-45", "floating"),  # not a date
        ("ft:gpt-3.5-turbo:acme::9abc", "unverifiable"),  # a fine-tune of an undated base
        ("llama-3.1-8b-instruct", "unverifiable"),
        ("meta-llama/Llama-3.1-8B-Instruct", "unverifiable"),
        ("qwen2.5:7b", "unverifiable"),
        ("openai/gpt-4o-2024-08-06", "unverifiable"),  # a router's id, not OpenAI's
        ("mistral-large-2407", "unverifiable"),
    ],
)
def test_openai(model, status):
    assert pinning.openai_pin_status(model) == status


@pytest.mark.parametrize(
    ("model", "suggestions"),
    [
        ("gpt-4o", ["gpt-4o-2024-11-20", "gpt-4o-2024-08-06", "gpt-4o-2024-05-13"]),
        ("gpt-4o-mini", ["gpt-4o-mini-2024-07-18"]),
        ("chatgpt-4o-latest", ["gpt-4o-2024-11-20", "gpt-4o-2024-08-06", "gpt-4o-2024-05-13"]),
        ("gpt-5-chat-latest", ["gpt-5-2025-08-07"]),
        ("gpt-4-turbo-preview", ["gpt-4-0125-preview", "gpt-4-1106-preview"]),
        ("o3-mini", ["o3-mini-2025-01-31"]),
        ("gpt-4", ["gpt-4-0613", "gpt-4-0314"]),
        ("gpt-unknown", []),
    ],
)
def test_openai_suggestions(model, suggestions):
    assert pinning.openai_pinned_suggestions(model) == suggestions
    for item in suggestions:
        assert pinning.openai_pin_status(item) == "pinned"


@pytest.mark.parametrize(
    ("model", "status"),
    [
        ("claude-sonnet-4-5-20250929", "pinned"),
        ("claude-3-5-sonnet-20241022", "pinned"),
        ("claude-3-haiku-20240307", "pinned"),
        ("claude-opus-4-20250514", "pinned"),
        ("claude-opus-4-6", "pinned"),  # published without a date: the id is the snapshot
        ("claude-sonnet-4-6", "pinned"),
        ("claude-opus-4-7", "pinned"),
        ("claude-opus-5", "pinned"),
        ("claude-2.1", "pinned"),
        ("claude-sonnet-4-5", "floating"),
        ("claude-haiku-4-5", "floating"),
        ("claude-opus-4-1", "floating"),
        ("claude-opus-4-0", "floating"),
        ("claude-sonnet-4", "floating"),
        ("claude-3-7-sonnet", "floating"),
        ("claude-3-5-sonnet-latest", "floating"),
        ("claude-3-opus-latest", "floating"),
        ("claude-sonnet-4-6-latest", "floating"),
        ("opus", "floating"),
        ("sonnet", "floating"),
        ("claude-sonnet-4-5-20251399", "unverifiable"),  # not a date: not an id we know
        ("gpt-4o-2024-08-06", "unverifiable"),
        ("my-proxy-model", "unverifiable"),
    ],
)
def test_anthropic(model, status):
    assert pinning.anthropic_pin_status(model) == status


@pytest.mark.parametrize(
    ("model", "first"),
    [
        ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet-20241022"),
        ("claude-3-7-sonnet-latest", "claude-3-7-sonnet-20250219"),
        ("claude-opus-4-0", "claude-opus-4-20250514"),
        ("claude-haiku-4-5", "claude-haiku-4-5-20251001"),
        ("claude-3-opus-latest", "claude-3-opus-20240229"),
        ("sonnet", "claude-sonnet-4-6"),
    ],
)
def test_anthropic_suggestions(model, first):
    suggestions = pinning.anthropic_pinned_suggestions(model)
    assert suggestions[0] == first
    assert all(pinning.anthropic_pin_status(s) == "pinned" for s in suggestions)


def test_anthropic_structured_output_support():
    assert pinning.anthropic_supports_structured_output("claude-sonnet-4-5-20250929")
    assert pinning.anthropic_supports_structured_output("claude-opus-4-1-20250805")
    assert pinning.anthropic_supports_structured_output("claude-opus-4-6")
    assert not pinning.anthropic_supports_structured_output("claude-sonnet-4-20250514")
    assert not pinning.anthropic_supports_structured_output("claude-3-5-sonnet-20241022")
    assert not pinning.anthropic_supports_structured_output("some-proxy-model")


@pytest.mark.parametrize(
    ("model", "status"),
    [
        ("llama3.1:8b@sha256:46e0c10c039e", "pinned"),
        ("llama3.1:8b@46e0c10c039e019119339687c3c1757cc81b9da49709a3b3924863ba87ca666e", "pinned"),
        ("hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M@sha256:46e0c10c039e", "pinned"),
        ("llama3.1:8b@sha256:46e0c1", "floating"),  # too short a digest to pin
        ("llama3.1:8b", "floating"),
        ("llama3.1", "floating"),
    ],
)
def test_ollama(model, status):
    assert pinning.ollama_pin_status(model) == status


def test_ollama_names_and_suggestions():
    assert pinning.split_ollama_digest("llama3.1:8b@sha256:ABCDEF012345") == ("llama3.1:8b", "abcdef012345")
    assert pinning.split_ollama_digest("llama3.1:8b") == ("llama3.1:8b", None)
    assert pinning.normalize_ollama_name("llama3.1") == "llama3.1:latest"
    assert (
        pinning.normalize_ollama_name("registry.local:5000/team/model")
        == "registry.local:5000/team/model:latest"
    )
    tags = [{"name": "llama3.1:latest", "digest": "b" * 64}, {"name": "llama3.1:8b", "digest": "c" * 64}]
    assert pinning.ollama_pinned_suggestions("llama3.1", tags) == ["llama3.1@sha256:" + "b" * 12]


def test_rules_are_described_for_every_provider():
    for provider in ("openai", "anthropic", "ollama", "github"):
        assert len(pinning.pin_rule(provider)) > 20


def test_served_model_matches():
    assert pinning.served_model_matches("openai", "gpt-4o-2024-08-06", "gpt-4o-2024-08-06")
    assert not pinning.served_model_matches("openai", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20")
    assert pinning.served_model_matches("anthropic", "claude-opus-4-6", None)


def test_what_was_served_is_compared_with_the_model_the_spec_names():
    from promptreview.engine.gates.decision import served_warnings
    from promptreview.providers import model_name
    from promptreview.records import ModelSpec
    from promptreview.report.notes import words

    sim = ModelSpec("sim", "triage-v1?parse_failure=0.1&refusal=0.05")
    assert model_name(sim) == "triage-v1"  # the sim's overrides are not part of its name
    assert served_warnings({"head": sim}, {"head": ["triage-v1"]}) == []
    # only a sim id has overrides: another server's id is its own, '?' and all
    local = ModelSpec("openai", "my-model?rev=2")
    assert model_name(local) == "my-model?rev=2"
    assert served_warnings({"head": local}, {"head": ["my-model?rev=2"]}) == []
    (warning,) = served_warnings({"head": local}, {"head": ["my-model"]})
    assert (warning.kind, warning.subject, dict(warning.data)) == (
        "served_other",
        "head",
        {"requested": "my-model?rev=2", "served": ("my-model",)},
    )
    assert words(warning) == "requested my-model?rev=2 but the provider served my-model (head side)"
