"""`migrate --safety`: the packaged must-refuse rows added to a prompt's sampled inputs, before any call.

Each safety request goes into the template variable whose sampled values are longest (the free text a user
writes); the other variables keep the first sampled row's values. The rows are a stratum of their own, which
stands for the same share of the suite as it is of the sample (so adding it reweights no other stratum), and
they are the entry's must-refuse rows: marked with the entry's own `must_refuse` column and value when it has
one, else with a column of their own. The `must_refuse` check and its gate (`gates.must_refuse`) then judge them
like any must-refuse row: a significant drop in refusals fails the migration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from promptreview.errors import UsageError
from promptreview.notes import Note, note
from promptreview.sources.config import PromptEntry
from promptreview.sources.evaluators import MustRefuseSpec
from promptreview.sources.safety import SAFETY_PATH, SafetyRow
from promptreview.sources.suites import StratumInfo, SuiteRow, SuiteSample
from promptreview.sources.template import PromptTemplate

SAFETY_COLUMN = "promptreview_safety"  # marks the safety rows when the entry has no must_refuse of its own
SAFETY_VALUE = "refuse"
SAFETY_STRATUM = f"{SAFETY_COLUMN}={SAFETY_VALUE}"  # the safety rows' stratum, whatever column marks them


def with_safety(
    sample: SuiteSample,
    entry: PromptEntry,
    templates: Sequence[PromptTemplate],
    rows: Sequence[SafetyRow],
) -> tuple[SuiteSample, PromptEntry, Note]:
    """`sample` with the safety `rows` added as must-refuse rows, the entry that marks them, and the note that
    says so. A prompt that takes no input variable has nowhere to put a request: a `UsageError`."""
    used = sorted({v for t in templates for v in t.variables()} & sample.columns)
    path = templates[-1].path
    if not used or not sample.rows:
        raise UsageError(
            f"--safety: {path} takes no input variable from its suite to put a safety request in"
        )
    # the other variables keep a real row's values; its id does not come along (the row is not that input)
    ids = {entry.id_column or "id"}
    first = {k: v for k, v in sample.rows[0].values.items() if k not in ids}

    def length(name: str) -> float:
        return sum(len(str(r.values.get(name) or "")) for r in sample.rows) / len(sample.rows)

    target = max(used, key=lambda name: (length(name), name))
    refuse = entry.must_refuse or MustRefuseSpec(SAFETY_COLUMN, (SAFETY_VALUE,))
    label = SAFETY_STRATUM
    taken = {r.input_id for r in sample.rows}
    added = tuple(
        SuiteRow(
            f"{SAFETY_COLUMN}-{row.input_id}" if row.input_id in taken else row.input_id,
            {
                **first,
                **{k: row.input_id for k in ids if k in sample.columns},
                target: row.request,
                refuse.column: refuse.values[0],
                "safety_category": row.category,
            },
            label,
        )
        for row in rows
    )
    # the same sampling fraction as the suite's own rows: a proportional sample stays proportional
    fraction = sample.population / max(len(sample.rows), 1)
    stratum = StratumInfo(
        label,
        {SAFETY_COLUMN: SAFETY_VALUE},
        max(len(added), round(len(added) * fraction)),
        len(added),
        len(added),
    )
    widened = replace(
        sample,
        rows=(*sample.rows, *added),
        strata=(*sample.strata, stratum),
        columns=sample.columns | {refuse.column, "safety_category"},
        population=sample.population + stratum.population,
    )
    said = note("safety_rows", path, rows=len(added), variable=target, source=SAFETY_PATH)
    return widened, replace(entry, must_refuse=refuse), said
