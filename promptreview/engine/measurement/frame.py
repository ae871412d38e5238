"""The completion DataFrame: one row per scored completion, the single input of the analysis.

Columns are documented in docs/architecture.md; `answer` is the canonical form used to tell whether two
answers are the same (canonical JSON for parsed outputs, `<outcome>` otherwise). `side_inputs` and
`side_positions` give the per-side facts the rates of a prompt all need, computed once per side frame.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from promptreview.engine.measurement.outcomes import Classification, ScoredCall

COLUMNS = [
    "prompt",
    "side",
    "input_id",
    "stratum",
    "sample",
    "outcome",
    "output",
    "answer",
    "reason",
    "output_tokens",
    "prompt_tokens",
    "cached",
    "attempts",
    "served_model",
    "text",
    "tool",  # a prompt with tools: the completion's tool fault (`tool_calls.py`), else None
]


def canonical_answer(classification: Classification) -> str:
    if classification.answer is not None:  # text mode: the answer itself
        return classification.answer
    if classification.outcome in ("ok", "schema_violation"):
        return json.dumps(classification.output, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return f"<{classification.outcome}>"


def _tokens(value: int | None) -> float:
    return float(value) if value is not None else np.nan


def build_frame(prompt: str, scored: Sequence[ScoredCall]) -> pd.DataFrame:
    """One row per scored completion, built column by column (a dict per row is slow at 50,000 rows)."""
    columns: dict[str, list[object]] = {name: [] for name in COLUMNS}
    answers: dict[int, tuple[Classification, str]] = {}  # scoring shares one Classification per repeated text
    for s in scored:
        response = s.completion.response
        classification = s.classification
        known = answers.get(id(classification))
        if known is None:
            known = answers[id(classification)] = (classification, canonical_answer(classification))
        columns["side"].append(s.call.side)
        columns["input_id"].append(s.call.input_id)
        columns["stratum"].append(s.call.stratum)
        columns["sample"].append(s.call.sample)
        columns["outcome"].append(classification.outcome)
        columns["output"].append(classification.output)
        columns["answer"].append(known[1])
        columns["reason"].append(classification.reason)
        columns["output_tokens"].append(_tokens(response.usage.completion_tokens) if response else np.nan)
        columns["prompt_tokens"].append(_tokens(response.usage.prompt_tokens) if response else np.nan)
        columns["cached"].append(s.completion.cached)
        columns["attempts"].append(s.completion.attempts)
        columns["served_model"].append(response.served_model if response else None)
        columns["text"].append(response.text if response else None)
        columns["tool"].append(classification.tool)
    columns["prompt"] = [prompt] * len(scored)
    frame: pd.DataFrame = pd.DataFrame(columns, columns=COLUMNS)  # typed by pandas-stubs on 3.11 only
    return frame


# The per-side facts every rate of a prompt needs again (its sorted inputs, their strata, where each
# completion's input sits): computed once per side frame, not once per outcome and side. Keyed by the frame's
# identity and holding the frame (so the identity stays its own); a handful of entries, the frames of the
# prompt being analysed.
T = TypeVar("T")
_Memo = dict[tuple[int, int], tuple[pd.DataFrame, object, T]]
_INPUTS: _Memo[tuple[pd.Index, pd.Series]] = {}
_POSITIONS: _Memo[tuple[npt.NDArray[np.object_], npt.NDArray[np.intp]]] = {}


def _memo(memo: _Memo[T], side: pd.DataFrame, what: object, make: Callable[[], T]) -> T:
    key = (id(side), id(what))
    known = memo.get(key)
    if known is None or known[0] is not side or known[1] is not what:
        if len(memo) >= 32:
            memo.clear()
        known = memo[key] = (side, what, make())
    return known[2]


def side_inputs(side: pd.DataFrame) -> tuple[pd.Index, pd.Series]:
    """The side's inputs, sorted, and each input's stratum."""
    return _memo(
        _INPUTS,
        side,
        side_inputs,
        lambda: (
            pd.Index(sorted(side["input_id"].unique())),  # unique() first: iterating a str column is slow
            side.drop_duplicates("input_id").set_index("input_id")["stratum"],
        ),
    )


def side_positions(
    side: pd.DataFrame, inputs: pd.Index
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.intp]]:
    """Each completion's outcome and the position of its input in `inputs` (-1: not there)."""
    return _memo(
        _POSITIONS,
        side,
        inputs,
        lambda: (
            side["outcome"].to_numpy(dtype=object),
            inputs.get_indexer(pd.Index(side["input_id"].to_numpy(dtype=object))),
        ),
    )
