"""Suites (JSONL or CSV rows of template variables) and their stratified sample."""

from __future__ import annotations

import csv
import io
import json
import math
import random
from dataclasses import dataclass
from typing import Any, Literal

from promptreview.errors import UsageError
from promptreview.notes import Note, note
from promptreview.sources import conversations
from promptreview.sources.config import SampleSpec
from promptreview.vocabulary import Allocation

SampleAllocation = Literal[Allocation, "per_stratum", "all"]
"""How a sample was drawn: by the config's allocation, a fixed number per stratum, or every row."""


@dataclass(frozen=True)
class SuiteRow:
    input_id: str
    values: dict[str, Any]
    stratum: str  # canonical label, e.g. "channel=email" ("all" without strata)


@dataclass(frozen=True)
class StratumInfo:
    label: str
    values: dict[str, Any]
    population: int  # rows in the whole suite
    sampled: int  # rows drawn
    quota: int  # rows asked for

    @property
    def short(self) -> bool:
        return self.sampled < self.quota

    @property
    def pooled(self) -> bool:
        """The stratum of small strata pooled together (`other`): its values are no row's."""
        return self.label == OTHER


@dataclass(frozen=True)
class SuiteSample:
    path: str
    rows: tuple[SuiteRow, ...]
    strata: tuple[StratumInfo, ...]
    columns: frozenset[str]
    population: int
    allocation: SampleAllocation
    notes: tuple[Note, ...] = ()  # what sampling noticed (no id column, pooled or short strata, ...)

    @property
    def proportional(self) -> bool:
        """True when every stratum was sampled at the same fraction (up to the rounding of a proportional
        allocation), so the pooled rate estimates the suite's rate without weights."""
        from promptreview.stats import is_proportional

        return is_proportional(
            {s.label: s.sampled for s in self.strata}, {s.label: s.population for s in self.strata}
        )


def load_rows(path: str, data: bytes) -> list[dict[str, Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    lower = path.lower()
    if lower.endswith((".jsonl", ".ndjson")):
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{path}:{number}: not valid JSON ({exc.msg.removesuffix(' at')})") from None
            if not isinstance(row, dict):
                raise UsageError(f"{path}:{number}: each line must be a JSON object")
            rows.append(row)
    elif lower.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if reader.fieldnames is None:
            raise UsageError(f"{path}: the CSV file has no header row")
        rows = []
        for number, row in enumerate(reader, start=2):
            if None in row:
                raise UsageError(f"{path}:{number}: more fields than the header has")
            rows.append(dict(row))
    else:
        raise UsageError(f"{path}: a suite must be .jsonl or .csv")
    if not rows:
        raise UsageError(f"{path}: the suite has no rows")
    return rows


def _label(strata: tuple[str, ...], row: dict[str, Any]) -> str:
    if not strata:
        return "all"
    return ",".join(f"{col}={row[col]}" for col in strata)


def _allocate(spec: SampleSpec, sizes: dict[str, int], path: str) -> dict[str, int]:
    """Rows to draw per stratum. Proportional uses largest remainders so the total is exactly `size`."""
    if spec.per_stratum is not None:
        return {k: spec.per_stratum for k in sizes}
    if spec.size is None:
        return dict(sizes)  # no sample given: every row
    total = sum(sizes.values())
    size = min(spec.size, total)
    if spec.allocation == "equal":
        base, extra = divmod(size, len(sizes))
        keys = sorted(sizes)
        return {k: base + (1 if i < extra else 0) for i, k in enumerate(keys)}
    # proportional (neyman without per-stratum variances reduces to proportional)
    exact = {k: size * n / total for k, n in sizes.items()}
    quota = {k: math.floor(v) for k, v in exact.items()}
    leftover = size - sum(quota.values())
    for k in sorted(exact, key=lambda k: (-(exact[k] - quota[k]), k))[:leftover]:
        quota[k] += 1
    return quota


OTHER = "other"
POOLED = "(pooled)"  # the value each strata column shows for the pooled stratum
FEW_STRATA = 5


def _pool(groups: dict[str, list[int]], minimum: int | None) -> tuple[list[Note], dict[str, list[int]]]:
    """Strata too small to say anything alone (under `minimum` rows) become one stratum, `other`."""
    if not minimum or len(groups) < 2:
        return [], groups
    small = sorted(label for label, members in groups.items() if len(members) < minimum)
    if len(small) < 2 or (len(small) == len(groups) <= FEW_STRATA):
        # one small stratum gains nothing from a new name, and a few strata of a small suite stay readable as
        # they are; many tiny ones are not a stratification
        return [], groups
    kept = {label: members for label, members in groups.items() if label not in small}
    kept[OTHER] = sorted(kept.get(OTHER, []) + [i for label in small for i in groups[label]])
    return [note("strata_pooled", OTHER, strata=tuple(small), minimum=minimum)], kept


def sample_suite(
    path: str,
    rows: list[dict[str, Any]],
    strata: tuple[str, ...],
    spec: SampleSpec,
    id_column: str | None = None,
    min_per_stratum: int | None = None,
) -> SuiteSample:
    """Draw the stratified sample. Seeded per stratum, so adding a stratum does not reshuffle the others.

    `id_column` names the column that identifies an input (None: `id` when the suite has it, else the row
    number). Strata with fewer than `min_per_stratum` rows are pooled into one stratum `other`. A row equal to an
    earlier one in every column but its id is the same input again: it is counted once, with a note.
    """
    rows = conversations.with_history(path, rows)  # a conversation's history parsed, its `depth` added
    columns = set().union(*(r.keys() for r in rows))
    if id_column is not None and id_column not in columns:
        raise UsageError(
            f"{path}: id column {id_column!r} is not in the suite (columns: {', '.join(sorted(columns))})"
        )
    for col in strata:
        if col not in columns:
            raise UsageError(
                f"{path}: strata column {col!r} is not in the suite (columns: {', '.join(sorted(columns))})"
            )
    ids: list[str] = []
    seen: set[str] = set()
    id_notes: list[Note] = []
    key = id_column or ("id" if "id" in columns else None)
    if key is None:
        id_notes.append(note("suite_numbered_rows", path))
    for i, row in enumerate(rows):
        rid = row.get(key) if key else None
        rid = str(rid) if rid not in (None, "") else f"row{i + 1}"
        if rid in seen:
            raise UsageError(f"{path}: duplicate id {rid!r}; ids must be unique")
        seen.add(rid)
        ids.append(rid)
    distinct, duplicate_notes = _distinct(path, rows, ids, key)
    groups: dict[str, list[int]] = {}
    for i in distinct:
        row = rows[i]
        missing = [c for c in strata if row.get(c) in (None, "")]
        if missing:
            raise UsageError(f"{path}: row {ids[i]!r} has no value for strata column {missing[0]!r}")
        groups.setdefault(_label(strata, row), []).append(i)
    pooled_notes, groups = _pool(groups, min_per_stratum)
    quotas = _allocate(spec, {k: len(v) for k, v in groups.items()}, path)
    chosen: list[SuiteRow] = []
    infos: list[StratumInfo] = []
    notes: list[Note] = id_notes + duplicate_notes + pooled_notes
    for label in sorted(groups):
        members = groups[label]
        quota = quotas[label]
        take = min(quota, len(members))
        rng = random.Random(f"{spec.seed}:{label}")
        picked = sorted(rng.sample(members, take)) if take < len(members) else list(members)
        chosen.extend(SuiteRow(ids[i], rows[i], label) for i in picked)
        # the pooled stratum's values are not a suite value (a real `channel: other` must not look like it)
        values = {c: rows[members[0]][c] for c in strata} if label != OTHER else {c: POOLED for c in strata}
        infos.append(StratumInfo(label, values, len(members), take, quota))
        if take < quota:
            notes.append(note("stratum_short", label, rows=len(members), quota=quota))
    allocation: SampleAllocation = (
        "per_stratum" if spec.per_stratum is not None else (spec.allocation if spec.size else "all")
    )
    if spec.size is not None and spec.allocation == "neyman":
        notes.append(note("neyman_proportional"))
    return SuiteSample(
        path, tuple(chosen), tuple(infos), frozenset(columns), len(distinct), allocation, tuple(notes)
    )


def _distinct(
    path: str, rows: list[dict[str, Any]], ids: list[str], id_key: str | None
) -> tuple[list[int], list[Note]]:
    """The positions of the rows that are not an earlier row again (equal in every column but the id), and
    the note that says how many were counted once. A repeated input shares its request, and so its answer, with
    the first: counted twice it would only inflate n."""
    first: dict[str, int] = {}
    distinct: list[int] = []
    repeats: list[tuple[str, str]] = []
    for i, row in enumerate(rows):
        same = json.dumps(
            {k: v for k, v in row.items() if k != id_key}, sort_keys=True, ensure_ascii=False, default=str
        )
        if same in first:
            repeats.append((ids[i], ids[first[same]]))
        else:
            first[same] = i
            distinct.append(i)
    if not repeats:
        return distinct, []
    said = note(
        "duplicate_inputs",
        path,
        count=len(repeats),
        rows=len(rows),
        examples=tuple((again, original) for again, original in repeats[:3]),
    )
    return distinct, [said]
