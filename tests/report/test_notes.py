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


def test_a_sequential_stop_beside_an_interval_reaching_zero_says_why_they_differ():
    """A stop for regression always fails (issue 22, item 1); the 95% interval shown is the fixed-sample one,
    so where it reaches zero the line says the anytime-valid test decided (item 3: say why they differ)."""
    from promptreview.notes import note
    from promptreview.report.notes import words

    said = words(
        note("rate_increase", "refusal", base=0.0, head=0.05, delta=0.05, p_adjusted=0.01, p_value=0.002,
             max_increase=0.02, beyond=True, gating=True, held=False, ci95=(-0.01, 0.09), e_value=40.0)
    )  # fmt: skip
    assert "stopped early on e-value 40" in said
    assert "[-1.0, +9.0] pp includes zero, because the sequential test's anytime-valid evidence" in said
