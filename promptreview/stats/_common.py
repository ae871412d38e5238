"""Helpers shared by several modules of the statistics package; pure, no I/O.

The limits of the resampling tests (when the sign-flip tests of :mod:`.paired` and :mod:`.shift`
enumerate every sign pattern instead of drawing Monte Carlo resamples, and how many array cells
one resampling chunk may build, a memory guard also used by :mod:`.flips`) and the rule for a
missing value (None or a float NaN) that :mod:`.flips` and :mod:`.shift` apply to answers,
labels and numbers.
"""

from __future__ import annotations

import math

#: Enumerate all 2**m sign patterns when at most this many inputs differ; Monte Carlo beyond.
EXACT_MAX_NONZERO = 16
#: Upper bound on the number of array cells built per resampling chunk (memory guard).
CHUNK_CELLS = 2_000_000


def is_missing(v: object) -> bool:
    """True for None and a float NaN: a value that was not observed."""
    return v is None or (isinstance(v, float) and math.isnan(v))
