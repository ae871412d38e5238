"""The distribution of the outputs themselves, base against head: per output field, a test chosen by the
field's kind (categorical labels, numbers, free-text lengths), a field that appeared or disappeared, and the
answer length in tokens. Inputs are the clusters: the K samples of one input are not independent."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from promptreview import stats
from promptreview.report.document import ShiftRow, StatTest
from promptreview.vocabulary import ShiftKind

OUTPUT_TOKENS_FIELD = "(output tokens)"
_EMPTY: dict[str, Any] = {}  # stands for an output that is not a JSON object (never written to)


def _field_kind(name: str, values: list[Any], schema: dict[str, Any] | None) -> ShiftKind | None:
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


def shift_rows(frame: pd.DataFrame, samples: int, schema: dict[str, Any] | None) -> list[ShiftRow]:
    """One row per output field (and one for output tokens) that both sides produced or one side lost."""
    base = frame[frame["side"] == "base"]
    head = frame[frame["side"] == "head"]
    if not len(base) or not len(head):
        return []
    keys = sorted(
        set(base["input_id"].unique()) & set(head["input_id"].unique())
    )  # unique(): str columns iterate slowly
    b_out = _grid(base, "output", keys, samples).tolist()  # lists: read once per field below
    h_out = _grid(head, "output", keys, samples).tolist()
    groups = np.repeat(np.array(keys, dtype=object), samples)  # the input of each (input, sample) of `index`

    b_dicts = [o if type(o) is dict else _EMPTY for o in b_out]  # (JSON objects decode to plain dicts)
    h_dicts = [o if type(o) is dict else _EMPTY for o in h_out]
    names = sorted({k for o in (*b_dicts, *h_dicts) for k in o})
    rows: list[ShiftRow] = []
    for name in names:
        bv, hv = [o.get(name) for o in b_dicts], [o.get(name) for o in h_dicts]
        b_has = sum(name in o for o in b_dicts)
        h_has = sum(name in o for o in h_dicts)
        if b_has == 0 or h_has == 0:
            rows.append(
                ShiftRow(
                    field=name,
                    kind="presence",
                    test=StatTest("field " + ("appeared" if b_has == 0 else "disappeared")),
                    statistic=None,
                    p_value=None,
                    base={"present": b_has},
                    head={"present": h_has},
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
        rows.append(shift_row(res))

    bt, ht = (_grid(side, "output_tokens", keys, samples).astype(float) for side in (base, head))
    if np.isfinite(bt).any() and np.isfinite(ht).any():
        rows.append(shift_row(stats.length_shift(OUTPUT_TOKENS_FIELD, bt, ht, groups=groups)))
    return rows


def _grid(side: pd.DataFrame, column: str, keys: list[str], samples: int) -> np.ndarray:
    """`column` of `side` laid out as (input, sample) pairs, `keys` × range(samples) in that order (the pair of
    input i and sample k at i × samples + k); a pair the side lacks is None (NaN for numbers). Positions are
    computed with numpy: a pandas MultiIndex reindex was most of this module's time at 50,000 completions."""
    values = side[column].to_numpy(dtype=object)
    numeric = column == "output_tokens"
    out = np.full(len(keys) * samples, np.nan if numeric else None, dtype=float if numeric else object)
    position = pd.Index(keys).get_indexer(side["input_id"].to_numpy(dtype=object))
    sample = side["sample"].to_numpy(dtype=np.int64)
    inside = np.flatnonzero((position >= 0) & (sample >= 0) & (sample < samples))
    out[position[inside] * samples + sample[inside]] = values[inside]
    return out


def shift_row(res: stats.ShiftResult) -> ShiftRow:
    """A statistics result as the report's row (text mode's shifts use it too)."""
    return ShiftRow(
        field=res.field,
        kind=res.kind,
        test=StatTest(res.test_name, res.test_details),
        statistic=res.statistic,
        p_value=res.p_value,
        base=res.base,
        head=res.head,
        effect=res.effect,
        effect_name=res.effect_name,
    )


def _labels(values: list[Any]) -> np.ndarray:
    """Each value as a label: strings as they are, anything else as its JSON (encoded once per distinct value)."""
    encoded: dict[tuple[type, Any], str] = {}  # by type too: True == 1 == 1.0, but their JSON differs
    out: list[str | None] = []
    for v in values:
        if v is None or type(v) is str:
            out.append(v)
            continue
        try:
            label = encoded.get((type(v), v))
        except TypeError:  # a list or an object: not hashable
            out.append(json.dumps(v))
            continue
        if label is None:
            label = encoded[(type(v), v)] = json.dumps(v)
        out.append(label)
    return np.array(out, dtype=object)


def _numbers(values: list[Any]) -> np.ndarray:
    return np.array(
        [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan for v in values]
    )


def _lengths(values: list[Any]) -> np.ndarray:
    return np.array([float(len(v)) if isinstance(v, str) else np.nan for v in values])
