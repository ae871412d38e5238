"""The base commit owns the contract: a pull request is judged by the schema its base commit holds.

A config-named schema file is read at the base for both sides, and a prompt whose own schema changed is
validated against the base's on both sides (the head's own still goes on the wire, and the report says what it
would have judged). See docs/security.md.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptreview.errors import UsageError
from promptreview.sources.schemas import load_schema

if TYPE_CHECKING:  # plan imports this module
    from promptreview.engine.plan import Side


def config_schema(root: Path, contract_rev: str | None, raw: str, rev: str | None) -> dict[str, Any]:
    """A config-named schema file, read at the contract's revision (the base commit), not the side's own:
    a pull request cannot loosen the schema it is judged by. A file the base lacks is read at `rev`."""
    if contract_rev is not None and contract_rev != rev:
        try:
            return load_schema(root, contract_rev, raw)
        except UsageError as exc:
            if "does not exist" not in str(exc):
                raise
    return load_schema(root, rev, raw)


def under_contract(sides: tuple[Side, ...]) -> tuple[tuple[Side, ...], list[str]]:
    """Both sides judged by the base side's schema (the head's own goes on the wire); the notes say so."""
    if len(sides) < 2:
        return sides, []
    base, head = sides
    contract = base.schema if base.schema is not None else head.schema
    head_own = head.own_schema if head.own_schema is not None else head.schema
    if head.schema == contract and head_own == contract:
        return sides, []
    notes = [
        "the output schema changed in this pull request: both sides are validated against the base "
        "commit's schema" + ("" if base.schema is not None else " (the base had none: the head's, for both)")
    ]
    sides = (
        replace(base, schema=contract),
        replace(head, schema=contract, own_schema=head_own),
    )
    return sides, notes
