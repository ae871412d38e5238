"""`--plan`: what a review would run and cost before any call, and the design figures the gates share with it
(the nominal Holm family, the design effect of unequal stratum weights)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from typing import Any

from promptreview import stats
from promptreview.engine.jobs import PromptJob
from promptreview.engine.planning.batch_mode import wants_batches
from promptreview.providers import pricing
from promptreview.providers.base import Provider, sample_batching
from promptreview.providers.provider_batches import provider_batches
from promptreview.records import (
    RATE_OUTCOMES,
    CompletionRequest,
    ModelSpec,
    ProviderResponse,
    sample_group_key,
)
from promptreview.report.document import (
    ColdStart,
    Forecast,
    PromptForecast,
    SideForecast,
    StratumForecast,
)
from promptreview.sources.config import Config
from promptreview.vocabulary import TOOL_RATES, BatchMode, GatedRate, ProviderName, RateOutcome, Side

DEFAULT_OUTPUT_TOKENS = 200  # used when no max_tokens is set; a triage-sized JSON answer
ASSUMED_BASE_RATE = 0.05  # a plan cannot know the base rate yet


def gate_family(config: Config, compared: int, with_tools: int = 0) -> int:
    """The nominal Holm family the detectable increases assume: every gated rate of every compared prompt,
    the tool faults' gates of the `with_tools` of them that declare tools (the same number `--plan` uses, so
    the plan and the report agree for the same sample)."""
    outcomes = sum(1 for name in RATE_OUTCOMES if config.gates[name].gating)
    faults = sum(1 for name in TOOL_RATES if config.gates[name].gating)
    return max(outcomes * compared + faults * with_tools, 1)


def design_effect(weighted: bool, strata: Sequence[tuple[int, int]]) -> float:
    """Kish's design effect of the stratum weights, (population, sampled) per stratum; 1.0 unweighted."""
    if not weighted or len(strata) < 2:
        return 1.0
    return stats.weighting_design_effect([p for p, _ in strata], [n for _, n in strata])


def _estimate_tokens(request: CompletionRequest) -> tuple[int, int]:
    prompt = sum(len(m.content) for m in request.messages) // 4 + 4 * len(request.messages)
    completion = int(request.params_dict.get("max_tokens") or DEFAULT_OUTPUT_TOKENS)
    return prompt, completion


def before_run(
    jobs: Sequence[PromptJob],
    uncached_keys: Set[str],
    config: Config,
    providers: Mapping[ProviderName, Provider] | None = None,
    known: Mapping[str, ProviderResponse] | None = None,
    *,
    batch: BatchMode = "off",
) -> Forecast:
    """Calls, estimated tokens and cost (uncached calls only), the fewest requests they take, the smallest
    detectable increases, and a model change's prompt-cache cold start (from `known`: the cache's answers by
    key). `batch`: the run's batch mode (auto narrowed already); when the uncached calls would go out as
    provider batches, those of a provider with a batch engine are priced at its batch rate."""
    batching = wants_batches(batch, len(uncached_keys))
    engines: dict[ProviderName, bool] = {}

    def batched(model: ModelSpec) -> bool:
        if not batching or providers is None or model.provider not in providers:
            return False
        if model.provider not in engines:
            engines[model.provider] = provider_batches(providers[model.provider]) is not None
        return engines[model.provider]

    any_batched = False
    prompts = []
    requests = 0
    total_cost: float | None = 0.0
    counted: set[str] = set()  # a request both sides (or two prompts) make is made once: counted once
    compared = sum(1 for job in jobs if job.change in ("modified", "renamed"))
    # the tool faults' gates are in the family of each compared prompt with tools, as in the verdict's
    with_tools = sum(1 for job in jobs if job.change in ("modified", "renamed") and job.has_tools)
    family = gate_family(config, max(compared, 1), with_tools)
    for job in jobs:
        sides: dict[Side, SideForecast] = {}
        for side in job.sides:
            mine = [c.request for c in job.calls if c.side == side.name]
            todo = []
            for r in mine:
                key = r.cache_key()
                if key in uncached_keys and key not in counted:
                    counted.add(key)
                    todo.append(r)
            at_batch_rate = bool(todo) and batched(side.model)
            # a provider batch sends each sample as a line of its own (`n` is not used there)
            requests += len(todo) if at_batch_rate else _fewest_requests(todo, providers, config)
            p_tok = sum(_estimate_tokens(r)[0] for r in todo)
            c_tok = sum(_estimate_tokens(r)[1] for r in todo)
            any_batched = any_batched or at_batch_rate
            cost = pricing.estimate_cost(side.model, p_tok, c_tok, config.prices, batched=at_batch_rate)
            if cost is None:
                total_cost = None
            elif total_cost is not None:
                total_cost += cost
            sides[side.name] = SideForecast(str(side.model), len(mine), len(todo), p_tok, c_tok, cost)
        # the rates leave the must-refuse rows out (`--safety`'s too): their power is that of the rest
        refuse = job.entry.must_refuse if job.entry is not None else None
        n = sum(1 for r in job.suite_sample.rows if refuse is None or not refuse.matches(r.values))
        # text mode: no parsing
        applicable: tuple[RateOutcome, ...] = RATE_OUTCOMES if job.output_mode == "json" else ("refusal",)
        gated: list[GatedRate] = [name for name in applicable if config.gates[name].gating]
        gated += [name for name in TOOL_RATES if job.has_tools and config.gates[name].gating]
        deff = design_effect(
            not job.suite_sample.proportional,
            [(s.population, s.sampled) for s in job.suite_sample.strata],
        )
        # the smallest increase each gate catches with 80 % power: significant after Holm over the gated
        # rates AND above its margin
        detectable: dict[GatedRate, float] = {
            name: stats.min_detectable_increase(
                n,
                job.samples,
                ASSUMED_BASE_RATE,
                alpha=config.alpha,
                max_increase=config.gates[name].max_increase,
                n_tests=family,
                design_effect=deff,
            )
            for name in gated
        }
        prompts.append(
            PromptForecast(
                path=job.path,
                change=job.change,
                n_inputs=n,
                samples=job.samples,
                strata={s.label: StratumForecast(s.population, s.sampled) for s in job.suite_sample.strata},
                sides=sides,
                min_detectable_increase=detectable,
                min_detectable_assumes_base_rate=ASSUMED_BASE_RATE,
                cold_start=cold_start(job, known or {}, config),
            )
        )
    calls = sum(len(job.calls) for job in jobs)
    return Forecast(
        calls=calls,
        uncached_calls=len(uncached_keys),
        cost_usd_max=total_cost,
        budget_max_calls=config.max_calls,
        over_budget=config.max_calls is not None and len(uncached_keys) > config.max_calls,
        prompts=tuple(prompts),
        requests=requests,
        batch_rate=any_batched,
    )


def cold_start(job: PromptJob, known: Mapping[str, ProviderResponse], config: Config) -> ColdStart | None:
    """Before any call: a model change's prompt-cache cold start (`measurement.spending.cold_start` once it ran),
    from the cache's record of the base side's answers (their cached share of input tokens) and the head's
    estimated input tokens; the share is unknown until the base side has run (no cached answer reports it). None
    as there: the same model on both sides, or no cached discount on the head's price."""
    if len(job.sides) < 2 or job.sides[0].model == job.head.model:
        return None
    base_prompt = base_cached = 0
    for call in job.calls:
        if call.side != "base":
            continue
        answer = known.get(call.request.cache_key())
        usage = answer.usage if answer is not None else None
        if usage is not None and usage.prompt_tokens is not None and usage.cached_tokens is not None:
            base_prompt += usage.prompt_tokens
            base_cached += usage.cached_tokens
    share = min(base_cached / base_prompt, 1.0) if base_prompt else None
    heads = [_estimate_tokens(c.request)[0] for c in job.calls if c.side == "head"]
    per_call = sum(heads) / len(heads) if heads else None
    price = pricing.lookup_price(job.head.model, config.prices)
    if price is not None and pricing.cache_discount(price) <= 0:  # free, or no cached rate: nothing to lose
        return None
    per_1000 = extra = None
    if price is not None and share is not None and per_call is not None:
        per_1000 = pricing.cold_start_cost(price, 1000 * per_call, share)
        extra = pricing.cold_start_cost(price, sum(heads), share)
    return ColdStart(
        str(job.sides[0].model), str(job.head.model), share, per_call, len(heads), per_1000, extra
    )


def _fewest_requests(
    todo: Sequence[CompletionRequest], providers: Mapping[ProviderName, Provider] | None, config: Config
) -> int:
    """Requests for `todo` when every server that may take the samples of one input at once (`n`) does."""
    if config.sample_batching == "off" or providers is None:
        return len(todo)
    groups: dict[tuple[Any, ...], int] = {}
    singles = 0
    for r in todo:
        batching = sample_batching(providers[r.model.provider]) if r.model.provider in providers else None
        key = sample_group_key(r) if batching is not None else None
        if key is None:
            singles += 1
        else:
            groups[key] = groups.get(key, 0) + 1
    out = singles
    for key, count in groups.items():
        batching = sample_batching(providers[key[0].provider])
        size = batching.samples_per_request(key[0].model, count) if batching is not None else 1
        out += -(-count // max(1, size))  # the provider's own cap per request (Chat Completions: 128)
    return out
