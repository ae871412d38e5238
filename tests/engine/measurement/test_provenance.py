"""A side's provenance summed, and the words of the warning when it moved (one after the other, side by side,
or with no times to say when)."""

from __future__ import annotations

import calendar

from promptreview.engine.measurement.provenance import _changed, _Seen, combined
from promptreview.report.document import SideProvenance
from promptreview.report.notes import words

T = calendar.timegm((2026, 12, 7, 10, 14, 3))


def _seen(count, first, last, order=0):
    seen = _Seen(count=count, first=first, last=last, order=order)
    return seen


def test_one_after_the_other_names_the_last_time_of_each_and_the_first_of_the_next():
    said = words(_changed("head", "fingerprint", {"fp_c": _seen(5, T + 60, T + 90), "fp_a": _seen(80, T - 600, T),
                                                  "fp_b": _seen(35, T + 2, T + 50)}, 120))  # fmt: skip
    assert said == (
        "the model changed during the review (head side): fingerprint fp_a until 2026-12-07 10:14:03 UTC, "
        "fp_b from 10:14:05 until 10:14:53 (35 of 120 answers), fp_c from 10:15:03 (5 of 120 answers)"
    )


def test_side_by_side_is_said_as_alternating():
    said = words(
        _changed(
            "base", "fingerprint", {"fp_a": _seen(60, T, T + 100), "fp_b": _seen(60, T + 1, T + 99)}, 120
        )
    )
    assert said == (
        "the model changed during the review (base side): fingerprints alternated between 2026-12-07 10:14:03 UTC "
        "and 10:15:43: fp_a (60 of 120 answers), fp_b (60 of 120 answers)"
    )


def test_a_new_day_gets_its_date_again():
    said = words(
        _changed("base", "served model", {"a": _seen(1, T, T), "b": _seen(1, T + 86_400, T + 86_400)}, 2)
    )
    assert "a until 2026-12-07 10:14:03 UTC, b from 2026-12-08 10:14:03 UTC (1 of 2 answers)" in said


def test_without_times_the_counts_in_the_order_the_calls_were_planned():
    said = words(
        _changed("base", "fingerprint", {"fp_z": _seen(1, None, None, 5), "fp_y": _seen(3, None, None, 0)}, 4)
    )
    assert said.endswith(
        "fingerprint fp_y (3 of 4 answers), fp_z (1 of 4 answers); the provider gave no times"
    )


def test_the_reviews_provenance_sums_every_side():
    a = SideProvenance({"m": 2}, {"fp_a": 2}, 10.0, 20.0, 2)
    b = SideProvenance({"m": 1, "n": 1}, {"fp_b": 1}, 5.0, 15.0, 2)
    empty = SideProvenance()
    assert combined([a, b, empty]) == SideProvenance({"m": 3, "n": 1}, {"fp_a": 2, "fp_b": 1}, 5.0, 20.0, 4)
    assert combined([]) is None
