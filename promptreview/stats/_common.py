"""Helpers shared by several modules of the statistics package; pure, no I/O.

The limits of the resampling tests (when the sign-flip tests of :mod:`.paired` and :mod:`.shift`
enumerate every sign pattern instead of drawing Monte Carlo resamples, and how many array cells
one resampling chunk may build, a memory guard also used by :mod:`.flips`), the enumeration of
all sign patterns those exact tests share, and the rule for a missing value (None or a float NaN) that :mod:`.flips` and :mod:`.shift` apply to answers,
labels and numbers.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

#: Enumerate all 2**m sign patterns when at most this many inputs differ; Monte Carlo beyond.
EXACT_MAX_NONZERO = 16
#: Upper bound on the number of array cells built per resampling chunk (memory guard).
CHUNK_CELLS = 2_000_000


def flip_patterns(m: int) -> npt.NDArray[np.int64]:
    """All 2**m patterns of m flip indicators (0 = keep, 1 = flip), one pattern per row.

    Row r holds the binary digits of r, least significant first; the exact sign-flip tests
    enumerate these rows in this order.
    """
    idx = np.arange(2**m, dtype=np.int64)
    return (idx[:, None] >> np.arange(m)) & 1


def is_missing(v: object) -> bool:
    """True for None and a float NaN: a value that was not observed."""
    return v is None or (isinstance(v, float) and math.isnan(v))
