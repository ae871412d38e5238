"""The review's result: plain dataclasses, and `to_json()` in the DESIGN.md report schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 1
EXIT_CODES = {"pass": 0, "skipped": 0, "fail": 1, "error": 3}


@dataclass
class RateRow:
    """One outcome's rate on both sides and the paired change."""

    base: float | None
    head: float | None
    delta: float | None = None
    ci95: tuple[float, float] | None = None
    p_value: float | None = None  # two-sided
    p_increase: float | None = None  # one-sided, for "head is higher": what the gates test
    p_adjusted: float | None = None
    test: str | None = None
    base_count: int = 0
    head_count: int = 0
    base_n: int = 0  # completions counted (errors excluded, except for the error rate itself)
    head_n: int = 0
    base_ci95: tuple[float, float] | None = None
    head_ci95: tuple[float, float] | None = None
    gate: str | None = None  # pass | warn | fail | None (not gated)
    max_increase: float | None = None
    min_detectable: float | None = None
    discordant: int | None = None  # inputs whose rate differs between the sides (0: the test cannot fire)

    def to_json(self) -> dict[str, Any]:
        out = {
            "base": self.base,
            "head": self.head,
            "delta": self.delta,
            "ci95": list(self.ci95) if self.ci95 else None,
            "p_value": self.p_value,
            "p_increase": self.p_increase,
            "p_adjusted": self.p_adjusted,
            "test": self.test,
            "base_count": self.base_count,
            "head_count": self.head_count,
            "base_n": self.base_n,
            "head_n": self.head_n,
            "base_ci95": list(self.base_ci95) if self.base_ci95 else None,
            "head_ci95": list(self.head_ci95) if self.head_ci95 else None,
        }
        if self.gate is not None:
            out["gate"] = self.gate
            out["max_increase"] = self.max_increase
        if self.min_detectable is not None:
            out["min_detectable_increase"] = self.min_detectable
        return out


@dataclass
class FlipRow:
    head_vs_base: float | None
    noise_floor: float | None
    excess: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    test: str | None = None
    gate: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "head_vs_base": self.head_vs_base,
            "noise_floor": self.noise_floor,
            "excess": self.excess,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "test": self.test,
        }


@dataclass
class ShiftRow:
    field: str
    kind: str  # categorical | numeric | length | presence
    test: str
    statistic: float | None
    p_value: float | None
    base: dict
    head: dict
    effect: float | None = None
    effect_name: str | None = None
    p_adjusted: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "kind": self.kind,
            "test": self.test,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "effect": self.effect,
            "effect_name": self.effect_name,
            "base": self.base,
            "head": self.head,
        }


@dataclass
class StratumRow:
    stratum: dict[str, Any]
    label: str
    n_inputs: int
    population: int
    rates: dict[str, RateRow]
    flip_rate: FlipRow | None = None
    short: bool = False  # fewer rows than its quota

    def to_json(self) -> dict[str, Any]:
        return {
            "stratum": self.stratum,
            "label": self.label,
            "n_inputs": self.n_inputs,
            "population": self.population,
            "short": self.short,
            "rates": {k: v.to_json() for k, v in self.rates.items()},
            "flip_rate": self.flip_rate.to_json() if self.flip_rate else None,
        }


@dataclass
class CallStats:
    total: int = 0
    cached: int = 0
    retried: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: dict[str, float] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "total": self.total,
            "cached": self.cached,
            "retried": self.retried,
            "failed": self.failed,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }
        if self.cost_usd is not None:
            out["cost_usd"] = self.cost_usd
        return out


@dataclass
class Example:
    input_id: str
    stratum: str
    sample: int
    base_outcome: str | None
    head_outcome: str
    input_text: str
    head_text: str
    detail: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class PromptReport:
    path: str
    change: str  # modified | added | removed | renamed
    old_path: str | None = None
    verdict: str = "pass"  # pass | fail | warn | error
    models: dict[str, str | None] = field(default_factory=dict)  # side -> spec
    served: dict[str, list[str]] = field(default_factory=dict)  # side -> served model ids
    n_inputs: int = 0
    samples: int = 0
    suite: str | None = None
    weighted: bool = False
    rates: dict[str, RateRow] = field(default_factory=dict)
    flip_rate: FlipRow | None = None
    distribution_shift: list[ShiftRow] = field(default_factory=list)
    strata: list[StratumRow] = field(default_factory=list)
    calls: CallStats = field(default_factory=CallStats)
    examples: list[Example] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failure_details: dict[str, dict[str, int]] = field(default_factory=dict)  # outcome -> detail -> count

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "old_path": self.old_path,
            "change": self.change,
            "verdict": self.verdict,
            "model": {
                "base": self.models.get("base"),
                "head": self.models.get("head"),
                "served": self.served,
            },
            "suite": self.suite,
            "n_inputs": self.n_inputs,
            "samples": self.samples,
            "weighted": self.weighted,
            "rates": {k: v.to_json() for k, v in self.rates.items()},
            "flip_rate": self.flip_rate.to_json()
            if self.flip_rate
            else {"head_vs_base": None, "noise_floor": None},
            "distribution_shift": [s.to_json() for s in self.distribution_shift],
            "strata": [s.to_json() for s in self.strata],
            "calls": self.calls.to_json(),
            "examples": [e.to_json() for e in self.examples],
            "failure_details": self.failure_details,
            "notes": self.notes,
            "warnings": self.warnings,
        }


@dataclass
class Report:
    verdict: str  # pass | fail | error | skipped
    model_spec: str | None = None
    served: list[str] = field(default_factory=list)
    pinned: bool | None = None
    simulated: bool = False
    prompts: list[PromptReport] = field(default_factory=list)
    base: str | None = None
    head: str | None = None
    config: str | None = None
    alpha: float = 0.05
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    plan: dict[str, Any] | None = None
    adjustments: dict[str, str] = field(
        default_factory=lambda: {
            "gated": "holm",
            "strata": "benjamini-hochberg",
            "distribution_shift": "benjamini-hochberg",
        }
    )

    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def to_json(self) -> dict[str, Any]:
        calls = CallStats()
        for p in self.prompts:
            for name in ("total", "cached", "retried", "failed"):
                setattr(calls, name, getattr(calls, name) + getattr(p.calls, name))
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "verdict": self.verdict,
            "model": {
                "spec": self.model_spec,
                "served": self.served,
                "pinned": self.pinned,
                "simulated": self.simulated,
            },
            "base": self.base,
            "head": self.head,
            "config": self.config,
            "alpha": self.alpha,
            "p_value_adjustment": self.adjustments,
            "prompts": [p.to_json() for p in self.prompts],
            "calls": {
                "total": calls.total,
                "cached": calls.cached,
                "retried": calls.retried,
                "failed": calls.failed,
            },
            "notes": self.notes,
            "warnings": self.warnings,
        }
        if self.plan is not None:
            out["plan"] = self.plan
        return out
