"""The one JSON serialiser: `Report` -> the JSON report (its contract is `report/report.schema.json`).

Every report promptreview writes as JSON goes through `to_dict` (the `json` format, CI's report.json, the
report a crash or a provider outage leaves behind), so they all have the same shape. JSON has no NaN:
a missing or undefined number is `null`.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from collections.abc import Mapping
from enum import Enum
from typing import Any

from promptreview.report.document import (
    SCHEMA_VERSION,
    CISection,
    ColdStart,
    Conversations,
    EvaluatorRow,
    FlipRow,
    JudgeInfo,
    LeakedRow,
    Manifest,
    PromptReport,
    RateRow,
    Report,
    SequentialInfo,
    ShiftRow,
    SideProvenance,
    StratumRow,
)
from promptreview.report.notes import warning_words, words


def _clean(value: Any) -> Any:
    """Plain JSON values: finite floats or null, str for enums, lists for tuples, Python for numpy scalars."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _clean({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _clean(value.item())
    return value


def _interval(ci: tuple[float, float] | None) -> list[float] | None:
    return list(ci) if ci else None


def rate_dict(row: RateRow) -> dict[str, Any]:
    out: dict[str, Any] = {
        "base": row.base,
        "head": row.head,
        "delta": row.delta,
        "ci95": _interval(row.ci95),
        "p_value": row.p_value,
        "p_increase": row.p_increase,
        "p_adjusted": row.p_adjusted,
        "test": row.test,
        "base_count": row.base_count,
        "head_count": row.head_count,
        "base_n": row.base_n,
        "head_n": row.head_n,
        "base_ci95": _interval(row.base_ci95),
        "head_ci95": _interval(row.head_ci95),
    }
    if row.gate is not None:
        out["gate"] = row.gate
        out["max_increase"] = row.max_increase
    if row.min_detectable is not None:
        out["min_detectable_increase"] = row.min_detectable
    if row.max_rate is not None:
        out["max_rate"] = row.max_rate
    return out


def _flip(row: FlipRow | None) -> dict[str, Any]:
    if row is None:
        return {"head_vs_base": None, "noise_floor": None}
    return {
        "head_vs_base": row.head_vs_base,
        "noise_floor": row.noise_floor,
        "excess": row.excess,
        "p_value": row.p_value,
        "p_adjusted": row.p_adjusted,
        "test": row.test,
    }


def _shift(row: ShiftRow) -> dict[str, Any]:
    return {
        "field": row.field,
        "kind": row.kind,
        "test": row.test.text,
        "statistic": row.statistic,
        "p_value": row.p_value,
        "p_adjusted": row.p_adjusted,
        "effect": row.effect,
        "effect_name": row.effect_name,
        "matters": row.matters,
        "base": row.base,
        "head": row.head,
    }


def _stratum(row: StratumRow) -> dict[str, Any]:
    return {
        "stratum": row.stratum,
        "label": row.label,
        "n_inputs": row.n_inputs,
        "population": row.population,
        "short": row.short,
        "rates": {k: rate_dict(v) for k, v in row.rates.items()},
        "flip_rate": _flip(row.flip_rate) if row.flip_rate else None,
    }


def prompt_dict(p: PromptReport) -> dict[str, Any]:
    calls: dict[str, Any] = {
        "total": p.calls.total,
        "cached": p.calls.cached,
        "retried": p.calls.retried,
        "failed": p.calls.failed,
        "prompt_tokens": p.calls.prompt_tokens,
        "completion_tokens": p.calls.completion_tokens,
        "requests": p.calls.requests_sent,
    }
    if p.calls.cost_usd is not None:
        calls["cost_usd"] = p.calls.cost_usd
    # always present (null: the provider reported no cached tokens, or the price is unknown), so every report
    # has the same keys whichever provider answered
    cached = p.calls.cached_input_tokens
    calls["cached_input_tokens"] = dict(cached) if cached is not None else None
    saved = p.calls.cache_savings_usd
    calls["cache_savings_usd"] = dict(saved) if saved is not None else None
    return {
        "path": p.path,
        "old_path": p.old_path,
        "change": p.change,
        "verdict": p.verdict,
        "model": {"base": p.models.get("base"), "head": p.models.get("head"), "served": p.served},
        "suite": p.suite,
        "n_inputs": p.n_inputs,
        "samples": p.samples,
        "weighted": p.weighted,
        "rates": {k: rate_dict(v) for k, v in p.rates.items()},
        "flip_rate": _flip(p.flip_rate),
        "distribution_shift": [_shift(s) for s in p.distribution_shift],
        "strata": [_stratum(s) for s in p.strata],
        "calls": calls,
        "examples": list(p.examples),
        "failure_details": p.failure_details,
        "parse_failure_kinds": p.parse_failure_kinds,
        "notes": [words(n) for n in p.notes],
        "warnings": [words(w) for w in p.warnings],
        "output_mode": p.output_mode,
        "evaluators": [evaluator_dict(e) for e in p.evaluators],
        **({"sequential": _sequential(p.sequential)} if p.sequential is not None else {}),
        "provenance": {side: provenance_dict(v) for side, v in p.provenance.items()},
        **({"cold_start": cold_start_dict(p.cold_start)} if p.cold_start is not None else {}),
        **({"leakage": [_leaked(r) for r in p.leakage]} if p.leakage else {}),
        **({"conversations": _conversations(p.conversations)} if p.conversations is not None else {}),
    }


def _conversations(c: Conversations) -> dict[str, Any]:
    return {
        "rows": c.rows,
        "with_history": c.with_history,
        "depths": dict(c.depths),
        "other": c.other,
        "unknown": c.unknown,
        "share_other": c.share_other,
        "share_unknown": c.share_unknown,
    }


def _leaked(row: LeakedRow) -> dict[str, Any]:
    return {
        "row": row.input_id,
        "column": row.column,
        "kind": row.kind,
        "overlap": row.overlap,
        "verbatim": row.verbatim,
    }


def utc_text(seconds: float | None) -> str | None:
    """A provider timestamp as ISO 8601 UTC (`2026-12-07T10:14:03Z`; a fraction only when it has one)."""
    if seconds is None or not math.isfinite(seconds):
        return None
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    text = stamp.isoformat(timespec="milliseconds" if stamp.microsecond else "seconds")
    return text.replace("+00:00", "Z")


def provenance_dict(p: SideProvenance) -> dict[str, Any]:
    return {
        "served": dict(p.served),
        "fingerprints": dict(p.fingerprints),
        "first": utc_text(p.first),
        "last": utc_text(p.last),
        "answers": p.answers,
    }


def cold_start_dict(c: ColdStart) -> dict[str, Any]:
    return {
        "base_model": c.base_model,
        "head_model": c.head_model,
        "cached_share": c.cached_share,
        "head_prompt_tokens_per_call": c.head_prompt_tokens_per_call,
        "head_calls": c.head_calls,
        "extra_usd_per_1000_calls": c.extra_usd_per_1000_calls,
        "extra_usd": c.extra_usd,
    }


def _sequential(info: SequentialInfo) -> dict[str, Any]:
    return {
        "stopped": info.stopped,
        "after_inputs": info.after_inputs,
        "planned_inputs": info.planned_inputs,
        "reason": info.reason,
        "looks": info.looks,
        "planned_calls": info.planned_calls,
        "calls": info.calls,
        "e_values": {m: dict(v) for m, v in info.e_values.items()},
        "stopped_on": list(info.stopped_on),
    }


def evaluator_dict(row: EvaluatorRow) -> dict[str, Any]:
    """One quality check: the agreed keys first (name, kind, field, base, head, delta, ci95, p_value, gate)."""
    out: dict[str, Any] = {
        "name": row.name,
        "kind": row.kind,
        "field": row.field,
        "base": row.base,
        "head": row.head,
        "delta": row.delta,
        "ci95": _interval(row.ci95),
        "p_value": row.p_value,
        "gate": row.gate,
        "units": row.units,
        "base_n": row.base_n,
        "head_n": row.head_n,
        "base_count": row.base_count,
        "head_count": row.head_count,
        "p_decrease": row.p_decrease,
        "p_adjusted": row.p_adjusted,
        "test": row.test,
        "discordant": row.discordant,
        "max_decrease": row.max_decrease,
        "examples": list(row.examples),
        "strata": row.strata,
    }
    for key in ("column", "match"):
        if getattr(row, key) is not None:
            out[key] = getattr(row, key)
    if row.judge is not None:
        out["judge"] = _judge(row.judge)
    if row.note is not None:
        out["note"] = words(row.note)
    return out


def _judge(judge: JudgeInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "spec": judge.spec,
        "served": list(judge.served),
        "pinned": judge.pinned,
        "temperature": judge.temperature,
        "choices": dict(judge.choices),
        "origin": judge.origin,
        "unanswered": judge.unanswered,
    }
    if judge.head_spec is not None:
        out["head_spec"] = judge.head_spec
        out["mode"] = judge.mode
    return out


def _ci(ci: CISection) -> dict[str, Any]:
    out: dict[str, Any] = {
        "verdict": ci.verdict,
        "conclusion": ci.conclusion,
        "exit_code": ci.exit_code,
        "event": ci.event,
        "pull_request": ci.pull_request,
        "accepted": None
        if ci.accepted is None
        else {"label": ci.accepted.label, "by": ci.accepted.actor, "at": ci.accepted.at},
        "config_from": ci.config_from,
    }
    if ci.reason is not None:
        out["reason"] = ci.reason
    return out


def manifest_dict(manifest: Manifest) -> dict[str, Any]:
    """The manifest as JSON values: its records' field names are its keys (`report.schema.json`'s `manifest`)."""
    out: dict[str, Any] = _clean(manifest)
    return out


def to_dict(report: Report, ci: CISection | None = None) -> dict[str, Any]:
    """The JSON report as plain Python values (ready for `json.dumps(..., allow_nan=False)`); `ci`: what a
    `ci` run concluded from the report, kept beside it."""
    totals = {
        name: sum(getattr(p.calls, name) for p in report.prompts)
        for name in ("total", "cached", "retried", "failed")
    }
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "verdict": report.verdict,
        "model": {
            "spec": report.model_spec,
            "served": report.served,
            "pinned": report.pinned,
            "simulated": report.simulated,
            **({"provenance": provenance_dict(report.provenance)} if report.provenance is not None else {}),
        },
        "base": report.base,
        "head": report.head,
        "config": report.config,
        "alpha": report.alpha,
        "p_value_adjustment": report.adjustments,
        "prompts": [prompt_dict(p) for p in report.prompts],
        "calls": totals,
        "notes": [words(n) for n in report.notes],
        "warnings": [warning_words(w) for w in report.warnings],
    }
    if report.error is not None:
        out["error"] = report.error
    if report.forecast is not None:
        out["plan"] = report.forecast
    if report.migration is not None:
        out["migration"] = {"from": report.migration.source, "to": report.migration.target}
    if report.drift is not None:
        out["drift"] = _clean(report.drift)
    if report.manifest is not None:
        out["manifest"] = manifest_dict(report.manifest)
    if ci is not None:
        out["ci"] = _ci(ci)
    cleaned: dict[str, Any] = _clean(out)
    return cleaned


def to_json_text(report: Report, ci: CISection | None = None) -> str:
    return json.dumps(to_dict(report, ci), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
