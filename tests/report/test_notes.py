"""The words of the power and margin notes (report/notes.py): each gate keeps its own size."""

from __future__ import annotations

from promptreview.notes import note
from promptreview.report.notes import words


def _too_small(gates: tuple[str, ...], detectable: tuple[float, ...]) -> str:
    return words(note("sample_too_small", gates=gates, detectable=detectable, n_inputs=20, samples=1))


def test_sample_too_small_names_each_gates_own_size():
    said = _too_small(("parse_failure", "schema_violation", "refusal"), (0.334, 0.334, 0.201))
    assert "parse failure 33.4 pp, schema violation 33.4 pp, refusal 20.1 pp" in said
    assert "is 33.4 pp for each" in _too_small(("parse_failure", "refusal"), (0.334, 0.334))
    one = _too_small(("refusal",), (0.334,))
    assert "is 33.4 pp (more than twice the margin)" in one and "for each" not in one
    assert "not even a change to 100%" in _too_small(("refusal",), (float("inf"),))
