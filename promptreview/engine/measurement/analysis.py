"""From one prompt's completion frame to its numbers: the rate of each outcome per side with clustered
intervals, the paired change, flips against the noise floor, per-stratum views, the output distribution,
examples and call counts. Multiplicity and gates are not decided here (`decide` does, review-wide).

Rates are exact shares of completions (weighted by stratum size when the sample is not proportional);
intervals and tests treat the input as the unit, since its K samples are correlated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from promptreview import stats
from promptreview.engine.measurement import text_features
from promptreview.engine.measurement.distribution import shift_rows
from promptreview.engine.measurement.examples import examples, failure_details, parse_failure_kinds
from promptreview.engine.measurement.frame import side_inputs, side_positions
from promptreview.engine.planning.safety import SAFETY_STRATUM
from promptreview.notes import Note, note
from promptreview.report.document import (
    CallStats,
    Example,
    FlipRow,
    RateRow,
    ShiftRow,
    StratumRow,
)
from promptreview.sources.suites import SuiteSample
from promptreview.vocabulary import (
    JSON_RATES,
    TOOL_RATES,
    Outcome,
    OutputMode,
    ParseFailureKind,
    RateName,
    Side,
    ToolOutcome,
)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SideErrors:
    failed: int  # calls without an answer after retries
    total: int


@dataclass(frozen=True)
class PromptStats:
    """Everything measured about one prompt, before any gate is decided."""

    weighted: bool
    n_inputs: int
    samples: int
    rates: Mapping[RateName, RateRow]
    flip_rate: FlipRow | None
    distribution_shift: tuple[ShiftRow, ...]
    strata: tuple[StratumRow, ...]
    examples: tuple[Example, ...]
    failure_details: Mapping[Outcome, Mapping[str, int]]
    calls: CallStats
    served: Mapping[Side, list[str]]  # served model ids
    errors: Mapping[Side, SideErrors]  # failed calls
    notes: tuple[Note, ...]
    parse_failure_kinds: Mapping[ParseFailureKind, int] = field(default_factory=dict)  # the head's, by remedy
    # the inputs the rates are measured on: n_inputs less the must-refuse rows (None: all of them)
    rated_inputs: int | None = None


def _input_weights(inputs: pd.Index, strata_of: pd.Series, sample: SuiteSample) -> FloatArray | None:
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


def _per_input_rates(
    side: pd.DataFrame, outcome: RateName, inputs: pd.Index, *, include_errors: bool = False
) -> tuple[FloatArray, FloatArray]:
    """Per input: the share of its non-error completions with `outcome`, and how many there were (NaN and 0
    for an input without any). `include_errors`: over all its completions instead.

    Counted with numpy (one index lookup and two bincounts): a pandas groupby per call was the analysis' hot
    spot at 50,000 completions. Same numbers as the groupby mean and size."""
    outcomes, position = side_positions(side, inputs)
    keep = position >= 0
    if not include_errors:
        keep &= outcomes != "error"
    counts = np.bincount(position[keep], minlength=len(inputs)).astype(float)
    hits = np.bincount(
        position[keep], weights=(outcomes[keep] == outcome).astype(float), minlength=len(inputs)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(counts > 0, hits / counts, np.nan)
    return rates, counts


def _side_rate(
    side: pd.DataFrame, outcome: RateName, sample: SuiteSample, weighted: bool
) -> tuple[float | None, int, int]:
    """(rate, count, n): the share of non-error completions with `outcome` (errors: share of all completions)."""
    n = len(side) if outcome == "error" else int((side["outcome"] != "error").sum())
    count = int((side["outcome"] == outcome).sum())
    if n == 0:
        return None, count, n
    if not weighted or outcome == "error":  # errors are infrastructure, not traffic: a plain share of calls
        return count / n, count, n
    by_stratum: dict[str, float] = {}
    for label, group in side.groupby("stratum"):
        gn = int((group["outcome"] != "error").sum())
        if gn:
            by_stratum[str(label)] = float((group["outcome"] == outcome).sum()) / gn
    population = {s.label: s.population for s in sample.strata if s.label in by_stratum}
    return stats.weighted_rate(by_stratum, population), count, n


def _side_interval(
    side: pd.DataFrame, outcome: RateName, sample: SuiteSample, weighted: bool
) -> tuple[float, float]:
    """Wilson interval of one side's rate with inputs as clusters (K samples of an input are not independent)."""
    inputs, strata_of = side_inputs(side)
    rates, counts = _per_input_rates(side, outcome, inputs, include_errors=outcome == "error")
    weights = _input_weights(inputs, strata_of, sample) if weighted and outcome != "error" else None
    low, high = stats.clustered_wilson(rates, weights, counts)
    return low, high


def _rate_row(
    base: pd.DataFrame, head: pd.DataFrame, outcome: RateName, sample: SuiteSample, weighted: bool, seed: int
) -> RateRow:
    b_rate, b_count, b_n = _side_rate(base, outcome, sample, weighted) if len(base) else (None, 0, 0)
    h_rate, h_count, h_n = _side_rate(head, outcome, sample, weighted)
    row = RateRow(
        base=b_rate,
        head=h_rate,
        base_count=b_count,
        head_count=h_count,
        base_n=b_n,
        head_n=h_n,
        base_ci95=_side_interval(base, outcome, sample, weighted) if b_n else None,
        head_ci95=_side_interval(head, outcome, sample, weighted) if h_n else None,
    )
    if b_rate is None or h_rate is None:
        return row
    row = replace(row, delta=h_rate - b_rate)
    return row if outcome == "error" else _paired(row, base, head, outcome, sample, weighted, seed)


def _paired(
    row: RateRow,
    base: pd.DataFrame,
    head: pd.DataFrame,
    outcome: RateName,
    sample: SuiteSample,
    weighted: bool,
    seed: int,
) -> RateRow:
    base_inputs, strata_of = side_inputs(base)
    head_inputs, _ = side_inputs(head)
    inputs = (
        base_inputs
        if base_inputs.equals(head_inputs)  # the usual case: one index object, so positions are found once
        else pd.Index(sorted(set(base_inputs) & set(head_inputs)))
    )
    b, b_n = _per_input_rates(base, outcome, inputs)
    h, h_n = _per_input_rates(head, outcome, inputs)
    keep = ~(np.isnan(b) | np.isnan(h))  # an input with only errors on a side has no rate there
    if keep.sum() == 0:
        return row
    weights = _input_weights(inputs[keep], strata_of, sample) if weighted else None
    result = stats.paired_rate_test(b[keep], h[keep], weights, seed=seed, base_n=b_n[keep], head_n=h_n[keep])
    # base, head and delta stay the exact shares of completions; the interval and the tests are per input
    # (clustered), so they stay honest when the K samples of one input are correlated. The two estimands
    # differ only when failed calls leave inputs with unequal numbers of completions; the interval is then
    # re-centred on the reported change (same width), so a change never falls outside its own interval
    shift = (row.delta or 0.0) - result.delta
    return replace(
        row,
        ci95=(max(-1.0, result.ci95[0] + shift), min(1.0, result.ci95[1] + shift)),
        discordant=int(np.sum(b[keep] != h[keep])),
        p_value=result.p_value,
        p_increase=result.p_increase,
        test=result.test,
        base_ci95=(result.base_ci95[0], result.base_ci95[1]),
        head_ci95=(result.head_ci95[0], result.head_ci95[1]),
    )


def rate_rows(
    frame: pd.DataFrame,
    sample: SuiteSample,
    weighted: bool,
    seed: int,
    output_mode: OutputMode = "json",
    tools: bool = False,
) -> dict[RateName, RateRow]:
    rows = _outcome_rows(frame, sample, weighted, seed, output_mode)
    for fault in TOOL_RATES if tools else ():  # a prompt with tools: each fault rated as an outcome is
        faulted = tool_frame(frame, fault)
        rows[fault] = _rate_row(
            faulted[faulted["side"] == "base"],
            faulted[faulted["side"] == "head"],
            fault,
            sample,
            weighted,
            seed,
        )
    return rows


def tool_frame(frame: pd.DataFrame, fault: ToolOutcome) -> pd.DataFrame:
    """`frame` with `outcome` set to `fault` where the completion has it (errors kept as errors, every other
    completion `ok`), so a tool fault's rate is computed by the same code, with the same statistics, as an
    outcome's: over the answered completions, refusals included."""
    out: pd.DataFrame = frame.copy()  # pandas-stubs types it only on Python 3.11 (`Self`); mypy checks 3.10
    has = (frame["tool"] == fault).to_numpy()
    out["outcome"] = np.where(has, fault, np.where(frame["outcome"] == "error", "error", "ok"))
    return out


def _outcome_rows(
    frame: pd.DataFrame, sample: SuiteSample, weighted: bool, seed: int, output_mode: OutputMode
) -> dict[RateName, RateRow]:
    base = frame[frame["side"] == "base"]
    head = frame[frame["side"] == "head"]
    if output_mode == "text":  # parse failures and schema violations do not apply: absent, not 0 %
        rows: dict[RateName, RateRow] = {
            outcome: _rate_row(base, head, outcome, sample, weighted, seed)
            for outcome in ("refusal", "error")
        }
        for feature in text_features.FEATURES:
            featured = text_features.feature_frame(frame, feature)
            rows[feature] = _rate_row(
                featured[featured["side"] == "base"], featured[featured["side"] == "head"], feature, sample,
                weighted, seed,
            )  # fmt: skip
        return rows
    return {outcome: _rate_row(base, head, outcome, sample, weighted, seed) for outcome in JSON_RATES}


@dataclass(frozen=True)
class FlipInputs:
    """The answers of the inputs the flip test compares, encoded once per prompt and sliced per stratum.

    ``base`` / ``head``: (n_inputs, K) integer codes shared by both sides (-1: no answer), rows in
    ``input_ids`` order; ``strata``: each row's stratum label. An input with an errored completion on
    either side is left out, as is one that ran on only one side.
    """

    input_ids: tuple[str, ...]
    strata: npt.NDArray[np.object_]
    base: npt.NDArray[np.int64]
    head: npt.NDArray[np.int64]

    def part(self, label: str) -> FlipInputs:
        keep = self.strata == label
        ids = tuple(i for i, k in zip(self.input_ids, keep, strict=True) if k)
        return FlipInputs(ids, self.strata[keep], self.base[keep], self.head[keep])


def flip_inputs(frame: pd.DataFrame, samples: int) -> FlipInputs | None:
    """Encode the answers once (one factorize over the frame), for the prompt and every stratum."""
    is_base = (frame["side"] == "base").to_numpy()
    is_head = (frame["side"] == "head").to_numpy()
    if not is_base.any() or not is_head.any():
        return None
    ids = frame["input_id"].to_numpy(dtype=object)
    errored = set(ids[(frame["outcome"] == "error").to_numpy()])
    inputs = sorted((set(ids[is_base]) & set(ids[is_head])) - errored)
    if not inputs:
        return None
    row_of = {input_id: i for i, input_id in enumerate(inputs)}
    rows = np.fromiter((row_of.get(i, -1) for i in ids), dtype=np.int64, count=len(ids))
    codes, _ = pd.factorize(frame["answer"], use_na_sentinel=True)
    sample = frame["sample"].to_numpy(dtype=np.int64)
    usable = (rows >= 0) & (sample >= 0) & (sample < samples)
    grids = []
    for side in (is_base, is_head):
        grid = np.full((len(inputs), samples), -1, dtype=np.int64)
        take = np.flatnonzero(usable & side)[
            ::-1
        ]  # reversed: the first of a duplicate wins, as in pivot "first"
        grid[rows[take], sample[take]] = codes[take]
        grids.append(grid)
    strata_of = dict(zip(ids, frame["stratum"].to_numpy(dtype=object), strict=True))
    labels = np.array([strata_of[i] for i in inputs], dtype=object)
    return FlipInputs(tuple(inputs), labels, grids[0], grids[1])


def flip_row(answers: FlipInputs | None, seed: int) -> FlipRow | None:
    if answers is None or not answers.input_ids:
        return None
    result = stats.flip_vs_noise_codes(answers.base, answers.head, seed=seed)
    return FlipRow(
        head_vs_base=result.head_vs_base,
        noise_floor=result.noise_floor,
        excess=result.excess,
        p_value=result.p_value,
        test=result.test,
    )


def stratum_rows(
    frame: pd.DataFrame,
    sample: SuiteSample,
    answers: FlipInputs | None,
    seed: int,
    output_mode: OutputMode = "json",
    tools: bool = False,
) -> list[StratumRow]:
    rows = []
    by_stratum = dict(iter(frame.groupby("stratum", sort=False)))
    for info in sample.strata:
        part = by_stratum.get(info.label)
        if part is None or part.empty:
            continue
        rows.append(
            StratumRow(
                stratum=info.values,
                label=info.label,
                n_inputs=part["input_id"].nunique(),
                population=info.population,
                rates=rate_rows(
                    part, sample, weighted=False, seed=seed, output_mode=output_mode, tools=tools
                ),
                flip_rate=flip_row(answers.part(info.label) if answers else None, seed),
                short=info.short,
                pooled=info.pooled,
            )
        )
    return rows


def _strata(
    frame: pd.DataFrame,
    sample: SuiteSample,
    answers: FlipInputs | None,
    seed: int,
    output_mode: OutputMode,
    tools: bool,
) -> tuple[StratumRow, ...]:
    """The strata rows, without `migrate --safety`'s stratum: its rows are must-refuse rows the overall rates
    leave out and the must-refuse check judges; shown with its refusal rate's change, it would read as a
    regression of the prompt. (A suite's own must-refuse stratum stays: the user asked for it, docs/quality.md.)
    One stratum left is no breakdown."""
    if len(sample.strata) < 2:
        return ()
    rows = [
        r for r in stratum_rows(frame, sample, answers, seed, output_mode, tools) if r.label != SAFETY_STRATUM
    ]
    return tuple(rows) if len(rows) > 1 else ()


def _call_stats(frame: pd.DataFrame) -> CallStats:
    return CallStats(
        total=len(frame),
        cached=int(frame["cached"].sum()),
        retried=int((frame["attempts"] > 1).sum()),
        failed=int((frame["outcome"] == "error").sum()),
        prompt_tokens=int(np.nansum(frame["prompt_tokens"].to_numpy(float))),
        completion_tokens=int(np.nansum(frame["output_tokens"].to_numpy(float))),
    )


def _used_values(sample: SuiteSample, variables: frozenset[str] | None) -> dict[str, dict[str, Any]]:
    """Each input's values, only the columns the template uses (a suite may hold names, e-mail addresses)."""
    if variables is None:
        return {r.input_id: r.values for r in sample.rows}
    return {r.input_id: {k: v for k, v in r.values.items() if k in variables} for r in sample.rows}


def analyse_prompt(
    frame: pd.DataFrame,
    sample: SuiteSample,
    samples: int,
    schema: dict[str, Any] | None,
    seed: int,
    sides: Sequence[Side] = ("base", "head"),
    output_mode: OutputMode = "json",
    variables: frozenset[str] | None = None,
    excluded: frozenset[str] = frozenset(),
    tools: bool = False,
) -> PromptStats:
    """Measure one prompt from its completion frame; `schema` (the head's) names the output fields' kinds.

    `excluded`: input ids (must-refuse rows) left out of the rates, flips, shifts and examples, whose
    refusals are no regression; the strata still show them, but for `migrate --safety`'s stratum.
    """
    weighted = not sample.proportional
    rated = frame[~frame["input_id"].isin(excluded)] if excluded else frame
    served: dict[Side, list[str]] = {}
    errors: dict[Side, SideErrors] = {}
    for side in sides:
        part = frame[frame["side"] == side]
        ids = part["served_model"].dropna().unique().tolist()
        if ids:
            served[side] = sorted(str(i) for i in ids)
        errors[side] = SideErrors(int((part["outcome"] == "error").sum()), len(part))
    notes = (note("weighted"),) if weighted else ()
    answers = flip_inputs(frame, samples)
    return PromptStats(
        weighted=weighted,
        n_inputs=len(sample.rows),
        samples=samples,
        rates=rate_rows(rated, sample, weighted, seed, output_mode, tools),
        flip_rate=flip_row(answers if rated is frame else flip_inputs(rated, samples), seed),
        distribution_shift=tuple(
            shift_rows(rated, samples, schema)
            + (text_features.text_shift_rows(rated, samples) if output_mode == "text" else [])
        ),
        strata=_strata(frame, sample, answers, seed, output_mode, tools),
        examples=tuple(examples(rated, _used_values(sample, variables))),
        failure_details=failure_details(rated),
        parse_failure_kinds=parse_failure_kinds(rated),
        rated_inputs=sum(row.input_id not in excluded for row in sample.rows) if excluded else None,
        calls=_call_stats(frame),
        served=served,
        errors=errors,
        notes=notes,
    )
