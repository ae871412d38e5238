"""What a prompt's calls cost once they ran: USD per side from the usage the providers recorded, the HTTP
requests sent, and the tokens the provider's prompt cache served (`--plan` forecasts the cost before any call:
`engine/planning/forecast.py`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from promptreview.engine.jobs import PromptJob
from promptreview.providers import pricing
from promptreview.records import Completion
from promptreview.report.document import ColdStart, CostKey
from promptreview.sources.config import Config
from promptreview.vocabulary import Side


def cost(job: PromptJob, completions: Sequence[Completion], config: Config) -> dict[CostKey, float] | None:
    """Actual cost per side from recorded usage (cached answers cost nothing now, but are priced as if run)."""
    out: dict[CostKey, float] = {}
    for side in job.sides:
        # (prompt, completion, cached prompt) tokens, answered synchronously [0] and through provider batches [1]
        tokens = [[0, 0, 0], [0, 0, 0]]
        for call, completion in zip(job.calls, completions, strict=True):
            if call.side == side.name and completion.response is not None:
                usage, part = completion.response.usage, tokens[completion.response.batched]
                part[0] += usage.prompt_tokens or 0
                part[1] += usage.completion_tokens or 0
                part[2] += usage.cached_tokens or 0
        value: float | None = 0.0
        for batched, (p_tok, c_tok, cached) in enumerate(tokens):
            if batched and not (p_tok or c_tok):
                continue
            # input tokens a provider served from its prompt cache are billed at its cached rate; a batch's
            # answers at the batch rate
            part_cost = pricing.estimate_cost(
                side.model, p_tok, c_tok, config.prices, cached_tokens=cached, batched=bool(batched)
            )
            value = None if part_cost is None or value is None else value + part_cost
        if value is None:
            return None
        out[side.name] = value
    if "base" in out and "head" in out:
        out["delta"] = out["head"] - out["base"]
    return out


@dataclass(frozen=True)
class Spending:
    """What one prompt's calls cost: USD per side and the change (None: a price is unknown), the HTTP requests
    sent for them (one request may answer several samples), and the provider's prompt cache (None: no response
    reported cached tokens; savings None also when a price is unknown)."""

    cost_usd: Mapping[CostKey, float] | None
    requests: int
    cached_input_tokens: Mapping[Side, int] | None
    cache_savings_usd: Mapping[Side, float] | None
    cold_start: ColdStart | None = None  # the sides run on different models: the head's cache starts cold


def spending(job: PromptJob, completions: Sequence[Completion], config: Config) -> Spending:
    tokens, saved = prompt_cache(job, completions, config)
    sent = sum(c.requests_made for c in completions)
    return Spending(cost(job, completions, config), sent, tokens, saved, cold_start(job, completions, config))


def cold_start(job: PromptJob, completions: Sequence[Completion], config: Config) -> ColdStart | None:
    """What the head costs until the provider's prompt cache warms on its model, when it is not the base's:
    the base side's cached share of input tokens (from the usage its answers reported) applied to the head's
    input tokens at the full input price instead of the cached rate (`pricing.cold_start_cost`), per 1,000
    calls and for this review's head calls. None when the sides share a model (the cache is shared too), or
    when the head's price has no cached discount to lose (a free provider, a model without a cached rate)."""
    base, head = job.sides[0], job.head
    if len(job.sides) < 2 or base.model == head.model:
        return None
    base_prompt = base_cached = 0
    reported = False
    head_prompt = head_calls = 0
    for call, completion in zip(job.calls, completions, strict=True):
        usage = completion.response.usage if completion.response is not None else None
        if usage is None or usage.prompt_tokens is None:
            continue
        if call.side == "base" and usage.cached_tokens is not None:
            reported = True
            base_prompt += usage.prompt_tokens
            base_cached += usage.cached_tokens
        elif call.side == "head":
            head_prompt += usage.prompt_tokens
            head_calls += 1
    share = min(base_cached / base_prompt, 1.0) if reported and base_prompt else None
    per_call = head_prompt / head_calls if head_calls else None
    price = pricing.lookup_price(head.model, config.prices)
    if price is not None and pricing.cache_discount(price) <= 0:  # free, or no cached rate: nothing to lose
        return None
    per_1000 = extra = None
    if price is not None and share is not None and per_call is not None:
        per_1000 = pricing.cold_start_cost(price, 1000 * per_call, share)
        extra = pricing.cold_start_cost(price, head_prompt, share)
    return ColdStart(str(base.model), str(head.model), share, per_call, head_calls, per_1000, extra)


def prompt_cache(
    job: PromptJob, completions: Sequence[Completion], config: Config
) -> tuple[dict[Side, int] | None, dict[Side, float] | None]:
    """Per side: input tokens the provider served from its prompt cache (OpenAI
    `usage.prompt_tokens_details.cached_tokens`, Anthropic `cache_read_input_tokens`) and the USD that saved
    against the full input price. (None, None) when no response reported cached tokens."""
    tokens: dict[Side, int] = {}
    reported = False
    for call, completion in zip(job.calls, completions, strict=True):
        if completion.response is not None and completion.response.usage.cached_tokens is not None:
            reported = True
            tokens[call.side] = tokens.get(call.side, 0) + completion.response.usage.cached_tokens
    if not reported:
        return None, None
    tokens = {side.name: tokens.get(side.name, 0) for side in job.sides}
    savings: dict[Side, float] = {}
    for side in job.sides:
        price = pricing.lookup_price(side.model, config.prices)
        if price is None:
            return tokens, None
        cached_rate = price.input if price.cached_input is None else price.cached_input
        savings[side.name] = tokens[side.name] * (price.input - cached_rate) / 1_000_000
    return tokens, savings
