"""The base commit owns the contract: a pull request is judged by the rows, the schema and the config its base
commit holds, not by what the head brings (docs/decisions.md, decision 34)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from promptreview.engine.jobs import Side
from promptreview.errors import MissingFile
from promptreview.notes import Note, note
from promptreview.sources.schemas import load_schema
from promptreview.sources.template import PromptTemplate

# The contract is the base branch's current tip (`ReviewOptions.config_rev` in CI), the diff is from the merge
# base: a branch cut from an old main is judged by the schema, evaluators and inputs main holds now.


def contract_rows(
    contract: PromptTemplate | None,
    head: PromptTemplate | None,
    id_column: str | None,
    fork: PromptTemplate | None = None,
) -> tuple[list[dict[str, Any]], tuple[str, ...], int]:
    """The inputs a prompt file's own rows (`testData`) give the review: every row of the base's version (the
    contract: the base branch tip's), and those alone; the ids of the base rows the head dropped or edited (an
    edited row runs in the base's version: its id is the base's); and how many rows the head adds, which do not
    run: pooled with the contract's, easy rows would dilute a regression on it below the gates. Without a base
    version, the head's rows. `fork`: the merge base's version, when the contract is the tip's: only what the
    head changed since the fork counts (rows the base branch added or removed since are the base's doing)."""
    base = [dict(r) for r in (contract.suite or ())] if contract is not None else []
    mine = [dict(r) for r in (head.suite or ())] if head is not None else []
    if not base:
        return mine, (), 0
    forked = [dict(r) for r in (fork.suite or ())] if fork is not None and fork is not contract else base
    key = id_column or ("id" if any("id" in r for r in (*base, *mine)) else None)

    def content(row: Mapping[str, Any]) -> str:
        return json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)

    def ident(row: Mapping[str, Any], i: int) -> str:
        value = row.get(key) if key else None
        return str(value) if value not in (None, "") else f"row{i + 1}"

    theirs = {content(r) for r in (*base, *forked)}
    ours = {content(r) for r in mine}
    had = {content(r) for r in forked}
    taken = {ident(r, i) for i, r in enumerate(base)} if key else set()
    # a head row with a base row's id edits that row: the base's version runs, the edit is named below
    added = [
        r for i, r in enumerate(mine) if content(r) not in theirs and ident(r, len(base) + i) not in taken
    ]
    removed = tuple(ident(r, i) for i, r in enumerate(base) if content(r) in had and content(r) not in ours)
    return base, removed, len(added)


# A config-named schema file is read at the base for both sides, and a prompt whose own schema changed is
# validated against the base's on both sides (the head's own still goes on the wire, and the report says what
# it would have judged). See docs/security.md.


def config_schema(root: Path, contract_rev: str | None, raw: str, rev: str | None) -> dict[str, Any]:
    """A config-named schema file, read at the contract's revision (the base commit), not the side's own:
    a pull request cannot loosen the schema it is judged by. A file the base lacks is read at `rev`."""
    if contract_rev is not None and contract_rev != rev:
        try:
            return load_schema(root, contract_rev, raw)
        except MissingFile:
            pass  # the file is new in this pull request: nothing at the base to judge by
    return load_schema(root, rev, raw)


def under_contract(
    sides: tuple[Side, ...], tip_schema: dict[str, Any] | None = None
) -> tuple[tuple[Side, ...], list[Note]]:
    """Both sides judged by the contract's schema: the prompt file's own at the base branch's tip
    (`tip_schema`), else the base side's (the head's own goes on the wire); the notes say so."""
    if len(sides) < 2:
        return sides, []
    base, head = sides
    contract = (
        tip_schema if tip_schema is not None else base.schema if base.schema is not None else head.schema
    )
    head_own = head.own_schema if head.own_schema is not None else head.schema
    if head.schema == contract and head_own == contract and base.schema == contract:
        return sides, []
    notes = [note("schema_contract", base_had_one=tip_schema is not None or base.schema is not None)]
    sides = (
        replace(base, schema=contract),
        replace(head, schema=contract, own_schema=head_own),
    )
    return sides, notes
