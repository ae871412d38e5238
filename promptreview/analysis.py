"""From completions to numbers: one pandas DataFrame (a row per completion), then rates, paired changes,
flips against the noise floor, output-distribution shifts and per-stratum views for one prompt."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from promptreview import stats
from promptreview.outcomes import Outcome
from promptreview.records import RATE_OUTCOMES, Completion
from promptreview.report.model import Example, FlipRow, PromptReport, RateRow, ShiftRow, StratumRow
from promptreview.suites import SuiteSample

OUTPUT_TOKENS_FIELD = "(output tokens)"


@dataclass
class Scored:
    """A completion with its outcome and where it belongs."""

    side: str
    input_id: str
    stratum: str
    sample: int
    completion: Completion
    outcome: Outcome


def canonical_answer(outcome: Outcome) -> str:
    if outcome.outcome in ("ok", "schema_violation"):
        return json.dumps(outcome.output, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return f"<{outcome.outcome}>"


def build_frame(prompt: str, scored: list[Scored]) -> pd.DataFrame:
    rows = []
    for s in scored:
        usage = s.completion.response.usage if s.completion.response else None
        rows.append(
            {
                "prompt": prompt,
                "side": s.side,
                "input_id": s.input_id,
                "stratum": s.stratum,
                "sample": s.sample,
                "outcome": s.outcome.outcome,
                "output": s.outcome.output,
                "answer": canonical_answer(s.outcome),
                "detail": s.outcome.detail,
                "output_tokens": float(usage.completion_tokens)
                if usage and usage.completion_tokens is not None
                else np.nan,
                "prompt_tokens": float(usage.prompt_tokens)
                if usage and usage.prompt_tokens is not None
                else np.nan,
                "cached": s.completion.cached,
                "attempts": s.completion.attempts,
                "served_model": s.completion.response.served_model if s.completion.response else None,
                "text": s.completion.response.text if s.completion.response else None,
            }
        )
    columns = [
        "prompt",
        "side",
        "input_id",
        "stratum",
        "sample",
        "outcome",
        "output",
        "answer",
        "detail",
        "output_tokens",
        "prompt_tokens",
        "cached",
        "attempts",
        "served_model",
        "text",
    ]
    return pd.DataFrame(rows, columns=columns)


def _input_weights(inputs: pd.Index, strata_of: pd.Series, sample: SuiteSample) -> np.ndarray | None:
    """Per-input weights W_h / n_h, so a weighted mean over inputs estimates the suite's mean.

    n_h counts the inputs actually compared in the stratum (an input whose every call failed drops out).
    """
    if sample.proportional:
        return None
    population = {s.label: s.population for s in sample.strata}
    total = sum(population.values())
    labels = [strata_of[i] for i in inputs]
    present: dict[str, int] = {}
    for label in labels:
        present[label] = present.get(label, 0) + 1
    return np.array([population[label] / total / present[label] for label in labels])


def _per_input_rates(side: pd.DataFrame, outcome: str, inputs: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """Per input: the share of its non-error completions with `outcome`, and how many there were."""
    valid = side[side["outcome"] != "error"]
    grouped = (valid["outcome"] == outcome).groupby(valid["input_id"])
    rates = grouped.mean().reindex(inputs).to_numpy(dtype=float)
    counts = grouped.size().reindex(inputs).fillna(0).to_numpy(dtype=float)
    return rates, counts


def _side_rate(
    side: pd.DataFrame, outcome: str, sample: SuiteSample, weighted: bool
) -> tuple[float | None, int, int]:
    """(rate, count, n): the share of non-error completions with `outcome` (errors: share of all completions)."""
    n = len(side) if outcome == "error" else int((side["outcome"] != "error").sum())
    count = int((side["outcome"] == outcome).sum())
    if n == 0:
        return None, count, n
    if (
        not weighted or outcome == "error"
    ):  # errors are infrastructure, not traffic: a plain share of the calls
        return count / n, count, n
    by_stratum = {}
    for label, group in side.groupby("stratum"):
        gn = len(group) if outcome == "error" else int((group["outcome"] != "error").sum())
        if gn:
            by_stratum[label] = float((group["outcome"] == outcome).sum()) / gn
    population = {s.label: s.population for s in sample.strata if s.label in by_stratum}
    return stats.weighted_rate(by_stratum, population), count, n


def _side_interval(
    side: pd.DataFrame, outcome: str, sample: SuiteSample, weighted: bool
) -> tuple[float, float]:
    """Wilson interval of one side's rate with inputs as clusters (K samples of an input are not independent)."""
    inputs = pd.Index(sorted(set(side["input_id"])))
    if outcome == "error":
        grouped = (side["outcome"] == "error").groupby(side["input_id"])
        rates, counts = (
            grouped.mean().reindex(inputs).to_numpy(float),
            grouped.size().reindex(inputs).to_numpy(float),
        )
    else:
        rates, counts = _per_input_rates(side, outcome, inputs)
    strata_of = side.drop_duplicates("input_id").set_index("input_id")["stratum"]
    weights = _input_weights(inputs, strata_of, sample) if weighted and outcome != "error" else None
    return tuple(stats.clustered_wilson(rates, weights, counts))


def rate_rows(frame: pd.DataFrame, sample: SuiteSample, weighted: bool, seed: int) -> dict[str, RateRow]:
    base = frame[frame["side"] == "base"]
    head = frame[frame["side"] == "head"]
    rows: dict[str, RateRow] = {}
    for outcome in (*RATE_OUTCOMES, "error"):
        b_rate, b_count, b_n = _side_rate(base, outcome, sample, weighted) if len(base) else (None, 0, 0)
        h_rate, h_count, h_n = _side_rate(head, outcome, sample, weighted)
        row = RateRow(
            base=b_rate, head=h_rate, base_count=b_count, head_count=h_count, base_n=b_n, head_n=h_n
        )
        row.base_ci95 = _side_interval(base, outcome, sample, weighted) if b_n else None
        row.head_ci95 = _side_interval(head, outcome, sample, weighted) if h_n else None
        if b_rate is not None and h_rate is not None:
            row.delta = h_rate - b_rate
            if outcome != "error":
                _paired(row, base, head, outcome, sample, weighted, seed)
        rows[outcome] = row
    return rows


def _paired(
    row: RateRow,
    base: pd.DataFrame,
    head: pd.DataFrame,
    outcome: str,
    sample: SuiteSample,
    weighted: bool,
    seed: int,
) -> None:
    inputs = pd.Index(sorted(set(base["input_id"]) & set(head["input_id"])))
    b, b_n = _per_input_rates(base, outcome, inputs)
    h, h_n = _per_input_rates(head, outcome, inputs)
    keep = ~(np.isnan(b) | np.isnan(h))  # an input with only errors on a side has no rate there
    strata_of = base.drop_duplicates("input_id").set_index("input_id")["stratum"]
    weights = _input_weights(inputs[keep], strata_of, sample) if weighted else None
    if keep.sum() == 0:
        return
    result = stats.paired_rate_test(b[keep], h[keep], weights, seed=seed, base_n=b_n[keep], head_n=h_n[keep])
    # base, head and delta stay the exact shares of completions; the interval and the tests are per input
    # (clustered), so they stay honest when the K samples of one input are correlated
    row.ci95 = tuple(result.ci95)
    row.discordant = int(np.sum(b[keep] != h[keep]))
    row.p_value = result.p_value
    row.p_increase = result.p_increase
    row.test = result.test
    row.base_ci95 = tuple(result.base_ci95)
    row.head_ci95 = tuple(result.head_ci95)


def _answer_matrix(side: pd.DataFrame, inputs: list[str], samples: int) -> np.ndarray:
    grid = side.pivot_table(index="input_id", columns="sample", values="answer", aggfunc="first")
    grid = grid.reindex(index=inputs, columns=range(samples))
    return grid.to_numpy(dtype=object)


def flip_row(frame: pd.DataFrame, samples: int, seed: int) -> FlipRow | None:
    base = frame[frame["side"] == "base"]
    head = frame[frame["side"] == "head"]
    if not len(base) or not len(head):
        return None
    errored = set(frame.loc[frame["outcome"] == "error", "input_id"])
    inputs = sorted((set(base["input_id"]) & set(head["input_id"])) - errored)
    if not inputs:
        return None
    result = stats.flip_vs_noise(
        _answer_matrix(base, inputs, samples), _answer_matrix(head, inputs, samples), seed=seed
    )
    return FlipRow(
        head_vs_base=result.head_vs_base,
        noise_floor=result.noise_floor,
        excess=result.excess,
        p_value=result.p_value,
        test=result.test,
    )


def _field_kind(name: str, values: list[Any], schema: dict | None) -> str | None:
    prop = (schema or {}).get("properties", {}).get(name, {}) if isinstance(schema, dict) else {}
    if "enum" in prop or prop.get("type") == "boolean":
        return "categorical"
    present = [v for v in values if v is not None]
    if not present:
        return None
    if all(isinstance(v, bool) for v in present):
        return "categorical"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "numeric"
    if all(isinstance(v, str) for v in present):
        # short label-like strings are categories; free text is measured by its length
        return "categorical" if len(set(present)) <= 12 and max(map(len, present)) <= 40 else "length"
    return None


def shift_rows(frame: pd.DataFrame, samples: int, schema: dict | None) -> list[ShiftRow]:
    base = frame[frame["side"] == "base"]
    head = frame[frame["side"] == "head"]
    if not len(base) or not len(head):
        return []
    keys = sorted(set(base["input_id"]) & set(head["input_id"]))
    index = pd.MultiIndex.from_product([keys, range(samples)], names=["input_id", "sample"])

    def outputs(side: pd.DataFrame) -> pd.Series:
        return side.set_index(["input_id", "sample"])["output"].reindex(index)

    b_out, h_out = outputs(base), outputs(head)
    groups = np.array([k for k, _ in index])

    def field_values(series: pd.Series, name: str) -> list[Any]:
        return [o.get(name) if isinstance(o, dict) else None for o in series]

    names = sorted({k for o in (*b_out, *h_out) if isinstance(o, dict) for k in o})
    rows: list[ShiftRow] = []
    for name in names:
        bv, hv = field_values(b_out, name), field_values(h_out, name)
        b_has = sum(isinstance(o, dict) and name in o for o in b_out)
        h_has = sum(isinstance(o, dict) and name in o for o in h_out)
        if b_has == 0 or h_has == 0:
            rows.append(
                ShiftRow(
                    name,
                    "presence",
                    "field " + ("appeared" if b_has == 0 else "disappeared"),
                    None,
                    None,
                    {"present": b_has},
                    {"present": h_has},
                )
            )
            continue
        kind = _field_kind(name, bv + hv, schema)
        if kind == "categorical":
            res = stats.categorical_shift(name, _labels(bv), _labels(hv), groups=groups)
        elif kind == "numeric":
            res = stats.numeric_shift(name, _numbers(bv), _numbers(hv), groups=groups)
        elif kind == "length":
            res = stats.length_shift(name, _lengths(bv), _lengths(hv), groups=groups)
        else:
            continue
        rows.append(_shift(res))

    def tokens(side: pd.DataFrame) -> np.ndarray:
        return side.set_index(["input_id", "sample"])["output_tokens"].reindex(index).to_numpy(float)

    bt, ht = tokens(base), tokens(head)
    if np.isfinite(bt).any() and np.isfinite(ht).any():
        rows.append(_shift(stats.length_shift(OUTPUT_TOKENS_FIELD, bt, ht, groups=groups)))
    return rows


def _shift(res: Any) -> ShiftRow:
    return ShiftRow(
        res.field,
        res.kind,
        res.test,
        res.statistic,
        res.p_value,
        res.base,
        res.head,
        effect=res.effect,
        effect_name=res.effect_name,
    )


def _labels(values: list[Any]) -> np.ndarray:
    return np.array(
        [None if v is None else json.dumps(v) if not isinstance(v, str) else v for v in values], dtype=object
    )


def _numbers(values: list[Any]) -> np.ndarray:
    return np.array(
        [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan for v in values]
    )


def _lengths(values: list[Any]) -> np.ndarray:
    return np.array([float(len(v)) if isinstance(v, str) else np.nan for v in values])


def stratum_rows(frame: pd.DataFrame, sample: SuiteSample, samples: int, seed: int) -> list[StratumRow]:
    rows = []
    for info in sample.strata:
        part = frame[frame["stratum"] == info.label]
        if part.empty:
            continue
        rows.append(
            StratumRow(
                stratum=info.values,
                label=info.label,
                n_inputs=part["input_id"].nunique(),
                population=info.population,
                rates=rate_rows(part, sample, weighted=False, seed=seed),
                flip_rate=flip_row(part, samples, seed),
                short=info.short,
            )
        )
    return rows


def examples(frame: pd.DataFrame, rows_by_id: dict[str, dict], limit: int = 5) -> list[Example]:
    """Inputs that were fine on base and broke on head: what a reviewer wants to read first."""
    base = frame[frame["side"] == "base"].set_index(["input_id", "sample"])
    head = frame[frame["side"] == "head"]
    found = []
    for _, h in head[head["outcome"].isin(RATE_OUTCOMES)].iterrows():
        key = (h["input_id"], h["sample"])
        b_outcome = base["outcome"].get(key) if len(base) else None
        if b_outcome == h["outcome"]:
            continue
        row = rows_by_id.get(h["input_id"], {})
        found.append(
            Example(
                input_id=h["input_id"],
                stratum=h["stratum"],
                sample=int(h["sample"]),
                base_outcome=b_outcome,
                head_outcome=h["outcome"],
                input_text=json.dumps(row, ensure_ascii=False)[:500],
                head_text=h["text"][:500] if isinstance(h["text"], str) else "",
                detail=h["detail"] if isinstance(h["detail"], str) else None,
            )
        )
    # one example per outcome first, so a rare failure kind is not crowded out
    found.sort(key=lambda e: (e.head_outcome, e.input_id, e.sample))
    picked, seen = [], set()
    for e in found:
        if e.head_outcome not in seen:
            picked.append(e)
            seen.add(e.head_outcome)
    for e in found:
        if len(picked) >= limit:
            break
        if e not in picked:
            picked.append(e)
    return picked[:limit]


def failure_details(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Why completions failed, per outcome (head side): e.g. how many parse failures were truncations."""
    out: dict[str, dict[str, int]] = {}
    head = frame[(frame["side"] == "head") & frame["outcome"].isin((*RATE_OUTCOMES, "error"))]
    for outcome, group in head.groupby("outcome"):
        reasons = Counter(_reason(d) for d in group["detail"])
        out[str(outcome)] = dict(reasons.most_common(8))
    return out


def _reason(detail: str | None) -> str:
    if not detail:
        return "unknown"
    if detail.startswith("truncated"):
        return "truncated (finish_reason=length)"
    if detail.startswith("not JSON"):
        return detail.split(":")[1].split(" at line")[0].strip() if ":" in detail else detail
    return detail.split(":")[0][:80]


def analyse_prompt(
    report: PromptReport,
    frame: pd.DataFrame,
    sample: SuiteSample,
    samples: int,
    schema: dict | None,
    seed: int,
) -> PromptReport:
    """Fill a PromptReport's numbers from its completion frame (gates are applied later, review-wide)."""
    weighted = not sample.proportional
    report.weighted = weighted
    report.n_inputs = len(sample.rows)
    report.samples = samples
    report.rates = rate_rows(frame, sample, weighted, seed)
    report.flip_rate = flip_row(frame, samples, seed)
    report.distribution_shift = shift_rows(frame, samples, schema)
    report.strata = stratum_rows(frame, sample, samples, seed) if len(sample.strata) > 1 else []
    report.examples = examples(frame, {r.input_id: r.values for r in sample.rows})
    report.failure_details = failure_details(frame)
    report.calls.total = len(frame)
    report.calls.cached = int(frame["cached"].sum())
    report.calls.retried = int((frame["attempts"] > 1).sum())
    report.calls.failed = int((frame["outcome"] == "error").sum())
    report.calls.prompt_tokens = int(np.nansum(frame["prompt_tokens"].to_numpy(float)))
    report.calls.completion_tokens = int(np.nansum(frame["output_tokens"].to_numpy(float)))
    for side in ("base", "head"):
        served = frame.loc[frame["side"] == side, "served_model"].dropna().unique().tolist()
        if served:
            report.served[side] = sorted(served)
    if weighted:
        report.notes.append(
            "overall rates are weighted by each stratum's share of the suite (the sample is not proportional)"
        )
    return report
