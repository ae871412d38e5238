"""From the completion frame's check columns to one `EvaluatorRow` per quality check: each side's pass rate
(or mean score), the paired change with its interval and p-values, and the completions that went from pass
to fail. Gates are decided review-wide in `decide`, with the outcome rates' gates.

As with the outcome rates: base and head are exact shares of the completions the check applies to (weighted
by stratum size when the sample is not proportional); the interval and the tests are per input, since the K
samples of one input are correlated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from promptreview import stats
from promptreview.engine.quality.checks import Check, QualityPlan
from promptreview.engine.quality.judges import JudgeRecord
from promptreview.report.document import CheckStratum, EvaluatorExample, EvaluatorRow
from promptreview.sources.suites import SuiteSample
from promptreview.stats.scores import paired_pass_test, paired_score_test


def _side_value(side: pd.DataFrame, column: str, sample: SuiteSample, weighted: bool) -> float | None:
    valid = side[side[column].notna()]
    if valid.empty:
        return None
    if not weighted:
        return float(valid[column].mean())
    by_stratum = {str(k): float(g[column].mean()) for k, g in valid.groupby("stratum")}
    population = {s.label: s.population for s in sample.strata if s.label in by_stratum}
    return float(stats.weighted_rate(by_stratum, population))


def _per_input(side: pd.DataFrame, column: str, inputs: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    valid = side[side[column].notna()]
    grouped = valid[column].groupby(valid["input_id"])
    return (
        grouped.mean().reindex(inputs).to_numpy(dtype=float),
        grouped.size().reindex(inputs).fillna(0).to_numpy(dtype=float),
    )


def _weights(inputs: pd.Index, strata_of: pd.Series, sample: SuiteSample) -> np.ndarray:
    """W_h / n_h per input, n_h counting the inputs compared in the stratum (as for the outcome rates)."""
    population = {s.label: s.population for s in sample.strata}
    labels = [strata_of[i] for i in inputs]
    present = {label: labels.count(label) for label in set(labels)}
    total = sum(population.values())
    return np.array([population[label] / total / present[label] for label in labels])


def _examples(
    base: pd.DataFrame, head: pd.DataFrame, column: str, rows: Mapping[str, Mapping[str, Any]], limit: int = 3
) -> list[EvaluatorExample]:
    """Completions that did worse on head than on base under this check (same input and sample)."""
    if base.empty:
        return []
    b = base.set_index(["input_id", "sample"])
    out: list[EvaluatorExample] = []
    for _, h in head.sort_values(["input_id", "sample"]).iterrows():
        key = (h["input_id"], h["sample"])
        if key not in b.index or pd.isna(h[column]) or any(x.input_id == h["input_id"] for x in out):
            continue  # one example per input: the reader wants different inputs
        bv = b.at[key, column]
        if pd.isna(bv) or not h[column] < bv:
            continue
        out.append(
            EvaluatorExample(
                input_id=str(h["input_id"]),
                stratum=str(h["stratum"]),
                sample=int(h["sample"]),
                input_text=json.dumps(dict(rows.get(h["input_id"], {})), ensure_ascii=False)[:500],
                base_text=_text(b.at[key, "text"]),
                head_text=_text(h["text"]),
                base_value=float(bv),
                head_value=float(h[column]),
            )
        )
        if len(out) >= limit:
            break
    return out


def _text(value: Any) -> str:
    return value[:500] if isinstance(value, str) else ""


def evaluator_row(
    frame: pd.DataFrame, check: Check, sample: SuiteSample, seed: int, judge: JudgeRecord | None = None
) -> EvaluatorRow:
    column = check.column
    weighted = not sample.proportional
    base = frame[frame["side"] == "base"]
    head = frame[frame["side"] == "head"]
    b_valid, h_valid = base[column].notna(), head[column].notna()
    rate = check.units == "rate"
    row = EvaluatorRow(
        name=check.name,
        kind=check.kind,
        field=check.field,
        base=_side_value(base, column, sample, weighted) if len(base) else None,
        head=_side_value(head, column, sample, weighted),
        units=check.units,
        base_n=int(b_valid.sum()),
        head_n=int(h_valid.sum()),
        base_count=int((base.loc[b_valid, column] == 1.0).sum()) if rate else None,
        head_count=int((head.loc[h_valid, column] == 1.0).sum()) if rate else None,
        column=check.expect.column if check.expect else None,
        match=check.expect.match if check.expect else None,
        note=judge.note if judge is not None and judge.note is not None else check.note,
        max_decrease=check.gate.max_decrease,
        judge=judge.info if judge is not None else None,
    )
    if row.base is None or row.head is None:
        return row
    inputs = pd.Index(sorted(set(base["input_id"]) & set(head["input_id"])))
    b, b_n = _per_input(base, column, inputs)
    h, h_n = _per_input(head, column, inputs)
    keep = ~(np.isnan(b) | np.isnan(h))
    result = None
    if keep.sum():
        strata_of = base.drop_duplicates("input_id").set_index("input_id")["stratum"]
        weights = _weights(inputs[keep], strata_of, sample) if weighted else None
        if rate:
            result = paired_pass_test(
                b[keep], h[keep], weights, seed=seed, base_n=b_n[keep], head_n=h_n[keep]
            )
        else:
            result = paired_score_test(b[keep], h[keep], weights, seed=seed)
    rows = {r.input_id: r.values for r in sample.rows}
    return replace(
        row,
        delta=row.head - row.base,
        ci95=result.ci95 if result else None,
        p_value=result.p_value if result else None,
        p_decrease=result.p_decrease if result else None,
        test=result.test if result else None,
        discordant=result.discordant if result else None,
        examples=tuple(_examples(base, head, column, rows)),
        strata=_by_stratum(base, head, column, sample),
    )


def _by_stratum(
    base: pd.DataFrame, head: pd.DataFrame, column: str, sample: SuiteSample
) -> dict[str, CheckStratum] | None:
    """Each stratum's value on both sides (plain shares or means): where a change happened."""
    if len(sample.strata) < 2:
        return None
    out: dict[str, CheckStratum] = {}
    for info in sample.strata:
        b = base.loc[(base["stratum"] == info.label) & base[column].notna(), column]
        h = head.loc[(head["stratum"] == info.label) & head[column].notna(), column]
        if len(b) or len(h):
            out[info.label] = CheckStratum(
                base=float(b.mean()) if len(b) else None,
                head=float(h.mean()) if len(h) else None,
                base_n=len(b),
                head_n=len(h),
            )
    return out


def evaluator_rows(
    frame: pd.DataFrame,
    plan: QualityPlan,
    sample: SuiteSample,
    seed: int,
    judges: Mapping[str, JudgeRecord],
) -> tuple[EvaluatorRow, ...]:
    """One row per check; `judges`: the LLM checks' judge records, by check column."""
    return tuple(evaluator_row(frame, c, sample, seed, judges.get(c.column)) for c in plan.checks)
