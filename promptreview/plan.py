"""`--plan`: what a review would run and cost before any call; and the cost of what it did run."""

from __future__ import annotations

from typing import Any

from promptreview import stats
from promptreview.config import Config
from promptreview.providers import pricing
from promptreview.records import RATE_OUTCOMES, CompletionRequest

DEFAULT_OUTPUT_TOKENS = 200  # used when no max_tokens is set; a triage-sized JSON answer


def _estimate_tokens(request: CompletionRequest) -> tuple[int, int]:
    prompt = sum(len(m.content) for m in request.messages) // 4 + 4 * len(request.messages)
    completion = int(dict(request.params).get("max_tokens") or DEFAULT_OUTPUT_TOKENS)
    return prompt, completion


def plan(
    jobs: list, requests: list[CompletionRequest], uncached: list[CompletionRequest], config: Config
) -> dict[str, Any]:
    """Calls, estimated tokens and cost (uncached calls only), and the smallest detectable increases."""
    prompts = []
    total_cost: float | None = 0.0
    for job in jobs:
        keys = {r.cache_key() for r in uncached}
        sides = {}
        for side in job.sides:
            mine = [r for s, *_, r in job.requests if s is side]
            todo = [r for r in mine if r.cache_key() in keys]
            p_tok = sum(_estimate_tokens(r)[0] for r in todo)
            c_tok = sum(_estimate_tokens(r)[1] for r in todo)
            cost = pricing.estimate_cost(str(side.model), p_tok, c_tok, config.prices)
            if cost is None:
                total_cost = None
            elif total_cost is not None:
                total_cost += cost
            sides[side.name] = {
                "model": str(side.model),
                "calls": len(mine),
                "uncached_calls": len(todo),
                "prompt_tokens": p_tok,
                "max_completion_tokens": c_tok,
                "cost_usd_max": cost,
            }
        n = len(job.sample.rows)
        gated = [name for name in RATE_OUTCOMES if config.gates[name].gating]
        # the smallest increase each gate catches with 80 % power: significant after Holm over the gated
        # rates AND above its margin (assuming a 5 % base rate, which a plan cannot know yet)
        detectable = {
            name: stats.min_detectable_increase(
                n,
                job.samples,
                0.05,
                alpha=config.alpha,
                max_increase=config.gates[name].max_increase,
                n_tests=max(len(gated), 1),
            )
            for name in gated
        }
        prompts.append(
            {
                "path": job.report.path,
                "change": job.report.change,
                "n_inputs": n,
                "samples": job.samples,
                "strata": {
                    s.label: {"population": s.population, "sampled": s.sampled} for s in job.sample.strata
                },
                "sides": sides,
                "min_detectable_increase": detectable,
                "min_detectable_assumes_base_rate": 0.05,
            }
        )
    return {
        "calls": len(requests),
        "uncached_calls": len({r.cache_key() for r in uncached}),
        "cost_usd_max": total_cost,
        "budget_max_calls": config.max_calls,
        "over_budget": config.max_calls is not None
        and len({r.cache_key() for r in uncached}) > config.max_calls,
        "prompts": prompts,
    }


def cost(job: Any, completions: list, config: Config) -> dict[str, float] | None:
    """Actual cost per side from recorded usage (cached answers cost nothing now, but are priced as if run)."""
    out: dict[str, float] = {}
    for side in job.sides:
        p_tok = c_tok = 0
        for (s, *_), completion in zip(job.requests, completions, strict=True):
            if s is side and completion.response is not None:
                p_tok += completion.response.usage.prompt_tokens or 0
                c_tok += completion.response.usage.completion_tokens or 0
        value = pricing.estimate_cost(str(side.model), p_tok, c_tok, config.prices)
        if value is None:
            return None
        out[side.name] = value
    if "base" in out and "head" in out:
        out["delta"] = out["head"] - out["base"]
    return out
