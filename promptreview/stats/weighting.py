"""Stratified samples: population weighting of rates; pure functions, no I/O.

:func:`weighted_rate` combines per-stratum rates with the strata's population sizes,
:func:`is_proportional` tells whether a sample's allocation already matches the population, and
:func:`input_weights` turns a stratum label per input into sampling weights for
:func:`.paired.paired_rate_test`. Mappings and label arrays in, floats, a bool or a weight array
out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np


def weighted_rate(rates_by_stratum: Mapping[str, float], population: Mapping[str, int]) -> float:
    """Population-weighted rate: ``sum_h N_h r_h / sum_h N_h`` over strata with a rate.

    Strata whose rate is None/NaN (nothing measured) are left out and the weights renormalised;
    NaN when no stratum has both a rate and a positive population.
    """
    num = den = 0.0
    for stratum, rate in rates_by_stratum.items():
        if rate is None or not math.isfinite(float(rate)):
            continue
        if stratum not in population:
            raise ValueError(f"stratum {stratum!r} has no population size")
        size = float(population[stratum])
        num += size * float(rate)
        den += size
    return num / den if den > 0 else math.nan


def is_proportional(sample_sizes: Mapping[str, int], population: Mapping[str, int]) -> bool:
    """True when every stratum is sampled at the same fraction (proportional allocation).

    Allows the rounding of a proportional allocation: each ``n_h`` must be within one unit
    of ``n * N_h / N``.
    """
    total_pop = float(sum(population.values()))
    total_n = float(sum(sample_sizes.values()))
    if total_pop <= 0:
        return True
    if any(s not in population for s, n in sample_sizes.items() if n > 0):
        return False
    return all(
        abs(float(sample_sizes.get(s, 0)) - total_n * float(size) / total_pop) < 1.0
        for s, size in population.items()
    )


def input_weights(strata: Sequence[str] | np.ndarray, population: Mapping[str, int]) -> np.ndarray:
    """Per-input sampling weights ``N_h / n_h`` for a stratified sample, normalised to mean 1.

    ``strata[i]`` is the stratum of input i; ``n_h`` is counted from it. Pass the result as
    ``weights`` to :func:`paired_rate_test` to get population-weighted rates and deltas.
    """
    s = np.asarray(strata, dtype=object).ravel()
    if s.size == 0:
        return np.zeros(0)
    labels, inv, counts = np.unique(s.astype(str), return_inverse=True, return_counts=True)
    missing = [lab for lab in labels if lab not in population]
    if missing:
        raise ValueError(f"strata without a population size: {missing}")
    w_h = np.array([float(population[lab]) / c for lab, c in zip(labels, counts, strict=True)])
    w = w_h[inv.ravel()]
    return w / w.mean() if w.mean() > 0 else w
