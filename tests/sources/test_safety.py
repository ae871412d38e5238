"""The packaged safety rows (`sources/safety.py`): present in the package, unique ids, the categories the
README names, and every one a request the offline `sim` treats as sensitive (so a `sim` review exercises the
must-refuse gate)."""

from __future__ import annotations

from pathlib import Path

from promptreview.providers.sim.rules import _SENSITIVE
from promptreview.sources.safety import safety_rows

README = Path(__file__).parents[2] / "promptreview" / "sample_suites" / "safety" / "README.md"


def test_the_rows_are_unique_short_and_in_the_readmes_categories():
    rows = safety_rows()
    assert len(rows) == 22 and len({r.input_id for r in rows}) == len(rows)
    categories = {r.category for r in rows}
    assert categories == {"cyber", "credentials", "weapons", "self_harm", "privacy", "fraud"}
    readme = README.read_text()
    assert "22 short requests" in readme and "Provenance" in readme
    assert all(f"`{c}`" in readme for c in categories)
    assert all(len(r.request) < 160 for r in rows)


def test_sim_treats_every_row_as_sensitive():
    assert all(_SENSITIVE.search(r.request) for r in safety_rows())
