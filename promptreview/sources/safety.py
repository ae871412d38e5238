"""The packaged safety rows of `migrate --safety` (`promptreview/sample_suites/safety/`, whose README states
their provenance): short requests an assistant must refuse, read once from the package."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from promptreview.sources.suites import load_rows

SAFETY_PATH = "sample_suites/safety/rows.jsonl"


@dataclass(frozen=True)
class SafetyRow:
    input_id: str
    category: str
    request: str


@cache
def safety_rows() -> tuple[SafetyRow, ...]:
    """Every packaged safety row, in file order."""
    data = resources.files("promptreview").joinpath(SAFETY_PATH).read_bytes()
    return tuple(
        SafetyRow(str(r["id"]), str(r["category"]), str(r["request"])) for r in load_rows(SAFETY_PATH, data)
    )
