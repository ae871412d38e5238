"""What a reviewer reads first: inputs that were fine on base and broke on head (an outcome, or a tool fault of a
prompt with tools), and why completions failed."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pandas as pd

from promptreview.engine.measurement.outcomes import (
    EmptyAnswer,
    InvalidJSON,
    ProviderRefusal,
    Reason,
    Truncated,
)
from promptreview.engine.measurement.tool_calls import TOOL_FIELD
from promptreview.records import RATE_OUTCOMES
from promptreview.report.document import Example
from promptreview.vocabulary import (
    GATED_RATES,
    JSON_RATES,
    OUTCOMES,
    PARSE_FAILURE_KINDS,
    TOOL_RATES,
    Outcome,
    ParseFailureKind,
    ToolOutcome,
    one_of,
)

# what an example says a completion came to: a gated outcome, else its tool fault, else its outcome
Shown = Outcome | ToolOutcome


def examples(frame: pd.DataFrame, rows_by_id: dict[str, dict[str, Any]], limit: int = 5) -> list[Example]:
    """Inputs that were fine on base and broke on head: what a reviewer wants to read first.

    One pass over the head's failed completions; an `Example` is built only for the few picked. A completion
    of a prompt with tools that is `ok` but has a tool fault (`tool_calls.py`) is an example of that fault, its
    call shown as the model sent it.
    """
    side = frame["side"]
    base = frame[side == "base"]
    head = frame[(side == "head") & (frame["outcome"].isin(RATE_OUTCOMES) | frame["tool"].notna())]
    base_outcome: dict[tuple[str, int], Shown] = {}
    base_text: dict[tuple[str, int], Any] = {}
    columns = ("input_id", "sample", "outcome", "tool", "text", "reason", "output", "answer")
    for input_id, sample, outcome, tool, text, reason, output, answer in zip(
        *(base[c].to_numpy(dtype=object) for c in columns), strict=True
    ):
        key = (input_id, int(sample))
        if key not in base_outcome:  # the first, as a lookup by key would give
            base_outcome[key] = _came_to(outcome, tool)
            base_text[key] = _shown(text, reason, output, answer)
    found = []
    h_ids, h_samples, h_outcomes, h_tools = (
        head[c].to_numpy(dtype=object) for c in ("input_id", "sample", "outcome", "tool")
    )
    for pos, (input_id, sample, outcome, tool) in enumerate(
        zip(h_ids, h_samples, h_outcomes, h_tools, strict=True)
    ):
        shown = _came_to(outcome, tool)
        b_outcome = base_outcome.get((input_id, int(sample)))
        if b_outcome != shown:
            found.append((shown, input_id, int(sample), pos, b_outcome))
    # one example per outcome first, so a rare failure kind is not crowded out
    found.sort(key=lambda e: (e[0], e[1], e[2]))
    picked, seen = [], set()
    for e in found:
        if e[0] not in seen:
            picked.append(e)
            seen.add(e[0])
    chosen = {e[3] for e in picked}
    inputs = {e[1] for e in picked}
    # then other inputs before other samples of an input already shown: more inputs explain more
    for distinct in (True, False):
        for e in found:
            if len(picked) >= limit:
                break
            if e[3] not in chosen and not (distinct and e[1] in inputs):
                picked.append(e)
                chosen.add(e[3])
                inputs.add(e[1])
    out = []
    for outcome, input_id, sample, pos, b_outcome in picked[:limit]:
        h = head.iloc[pos]
        b_text = base_text.get((input_id, sample))
        h_text = _shown(h["text"], h["reason"], h["output"], h["answer"])
        gated = one_of(outcome, GATED_RATES)
        assert gated is not None, "only a gated outcome or a tool fault is an example"
        row = rows_by_id.get(input_id, {})
        out.append(
            Example(
                input_id=input_id,
                stratum=h["stratum"],
                sample=sample,
                base_outcome=b_outcome,
                head_outcome=gated,
                input_text=json.dumps(row, ensure_ascii=False)[:500],
                head_text=h_text[:500] if isinstance(h_text, str) else "",
                detail=_detail(h["reason"]),
                base_text=b_text[:500] if isinstance(b_text, str) else None,
            )
        )
    return out


def _came_to(outcome: Outcome, tool: object) -> Shown:
    """A gated outcome wins (a refusal has no tool fault anyway), then the tool fault, then the outcome."""
    fault = one_of(tool, TOOL_RATES) if isinstance(tool, str) else None  # (a frame cell: None or NaN)
    return outcome if outcome in RATE_OUTCOMES or fault is None else fault


def _shown(text: object, reason: object, output: object = None, answer: object = None) -> object:
    """What a reader is shown of an answer: a refusal the provider signalled has no text, only its own words;
    an answer that calls tools, its calls (every call's name and arguments as sent, after its text if any)."""
    if isinstance(reason, ProviderRefusal) and not (isinstance(text, str) and text.strip()):
        return f"(provider refusal) {reason.text}"
    if isinstance(output, dict) and TOOL_FIELD in output and isinstance(answer, str):
        said = text.strip() if isinstance(text, str) else ""
        return f"{said}\n(tool calls) {answer}" if said else f"(tool calls) {answer}"
    return text


def failure_details(frame: pd.DataFrame) -> dict[Outcome, dict[str, int]]:
    """Why completions failed, per outcome (head side): e.g. how many parse failures were truncations. Each is
    counted under its reason's `label` (docs/architecture.md lists them)."""
    out: dict[Outcome, dict[str, int]] = {}
    head = frame[(frame["side"] == "head") & frame["outcome"].isin(JSON_RATES)]
    for outcome, group in head.groupby("outcome"):
        known = one_of(outcome, OUTCOMES)
        assert known is not None, "the frame holds only the outcomes scoring gave"
        reasons = Counter(_label(r) for r in group["reason"])
        out[known] = dict(reasons.most_common(8))
    return out


def parse_failure_kinds(frame: pd.DataFrame) -> dict[ParseFailureKind, int]:
    """The head's parse failures by what they look like (fenced, trailing comma, truncated, ...): each kind
    has its own remedy, which the report gives beside it."""
    head = frame[(frame["side"] == "head") & (frame["outcome"] == "parse_failure")]
    counts = Counter(_parse_kind(r) for r in head["reason"])
    return {kind: counts[kind] for kind in PARSE_FAILURE_KINDS if counts[kind]}


def _parse_kind(reason: object) -> ParseFailureKind:
    if isinstance(reason, Truncated):
        return "truncated"
    if isinstance(reason, EmptyAnswer):
        return "empty_at_limit" if reason.finish_reason == "length" else "empty"
    return reason.shape if isinstance(reason, InvalidJSON) else "not_json"


def _label(reason: object) -> str:
    return reason.label if isinstance(reason, Reason) else "unknown"  # (a frame cell: None or NaN when ok)


def _detail(reason: object) -> str | None:
    return reason.detail if isinstance(reason, Reason) else None
