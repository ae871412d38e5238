"""Multiplicity corrections; pure functions, no I/O.

Holm's step-down adjustment (family-wise error rate, used for the gated metrics) and the
Benjamini-Hochberg step-up adjustment (false discovery rate, used for the descriptive shift
and per-stratum tests). A sequence of p-values in, the adjusted p-values in input order out
(NaN counts as 1, every value capped at 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def _pvals(p_values: Sequence[float]) -> npt.NDArray[np.float64]:
    p = np.asarray(list(p_values), dtype=float)
    return np.where(np.isfinite(p), np.clip(p, 0.0, 1.0), 1.0)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm (1979) step-down adjusted p-values (family-wise error rate), in input order."""
    p = _pvals(p_values)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return [float(x) for x in out]


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg (1995) step-up adjusted p-values (false discovery rate), in input order."""
    p = _pvals(p_values)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    adj = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return [float(x) for x in out]
