"""The completion DataFrame: one row per scored completion, the single input of the analysis.

Columns are documented in docs/architecture.md; `answer` is the canonical form used to tell whether two
answers are the same (canonical JSON for parsed outputs, `<outcome>` otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from promptreview.engine.score import Classification, ScoredCall

COLUMNS = [
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


def canonical_answer(classification: Classification) -> str:
    if classification.answer is not None:  # text mode: the answer itself
        return classification.answer
    if classification.outcome in ("ok", "schema_violation"):
        return json.dumps(classification.output, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return f"<{classification.outcome}>"


def _tokens(value: int | None) -> float:
    return float(value) if value is not None else np.nan


def build_frame(prompt: str, scored: Sequence[ScoredCall]) -> pd.DataFrame:
    rows = []
    for s in scored:
        response = s.completion.response
        rows.append(
            {
                "prompt": prompt,
                "side": s.call.side,
                "input_id": s.call.input_id,
                "stratum": s.call.stratum,
                "sample": s.call.sample,
                "outcome": s.classification.outcome,
                "output": s.classification.output,
                "answer": canonical_answer(s.classification),
                "detail": s.classification.detail,
                "output_tokens": _tokens(response.usage.completion_tokens) if response else np.nan,
                "prompt_tokens": _tokens(response.usage.prompt_tokens) if response else np.nan,
                "cached": s.completion.cached,
                "attempts": s.completion.attempts,
                "served_model": response.served_model if response else None,
                "text": response.text if response else None,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
