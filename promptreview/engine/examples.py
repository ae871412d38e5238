"""What a reviewer reads first: inputs that were fine on base and broke on head, and why completions failed."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pandas as pd

from promptreview.records import RATE_OUTCOMES
from promptreview.report.model import Example


def examples(frame: pd.DataFrame, rows_by_id: dict[str, dict[str, Any]], limit: int = 5) -> list[Example]:
    """Inputs that were fine on base and broke on head: what a reviewer wants to read first."""
    base = frame[frame["side"] == "base"].set_index(["input_id", "sample"])
    head = frame[frame["side"] == "head"]
    found = []
    for _, h in head[head["outcome"].isin(RATE_OUTCOMES)].iterrows():
        key = (h["input_id"], h["sample"])
        b_outcome = base["outcome"].get(key) if len(base) else None
        b_text = base["text"].get(key) if len(base) else None
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
                base_text=b_text[:500] if isinstance(b_text, str) else None,
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
