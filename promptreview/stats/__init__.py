"""The statistical core of promptreview: pure functions, no I/O.

numpy arrays in, floats and plain dataclasses out; every resampling is seeded, so the same
inputs and seed always give the same numbers. ``docs/statistics.md`` explains every test, why
it was chosen, its formula and its reference; ``benchmarks/calibration_stats.py`` measures the
false-alarm rate and the power of the gated test by simulation.

Design rules that hold throughout:

* The unit of analysis is the **input** (a suite row). With K samples per input and side, the
  completions of one input are correlated, so every test here resamples or permutes inputs,
  never individual completions (Miller 2024, "Adding Error Bars to Evals").
* The design is **paired**: the same inputs run on both sides, and each test conditions on
  that pairing (McNemar, sign-flip permutations, signed-rank tests on per-input differences).
* Degenerate data (no inputs, no discordant inputs, all zeros) gives p = 1.0 and a finite
  interval, never NaN.

The package is split by concern; import the names from here (``from promptreview import
stats; stats.holm(...)``), the modules are an implementation detail:

* ``proportions``: the rate of one side (Wilson, clustered Wilson);
* ``paired``: the paired change of a rate (McNemar, Newcombe, sign-flip permutation,
  ``paired_rate_test``);
* ``flips``: answer disagreement (noise floor, flip rate, ``flip_vs_noise``);
* ``shift``: output-distribution shift (Stuart-Maxwell, categorical, numeric, length);
* ``multiplicity``: Holm and Benjamini-Hochberg adjusted p-values;
* ``weighting``: population weights of stratified samples;
* ``power``: minimum detectable increase, underpowered gates, ICC estimate;
* ``decision``: the pass / warn / fail rule of one gated rate;
* ``sequential``: anytime-valid e-processes that stop a sequential review early (import it from its
  module: ``from promptreview.stats.sequential import decide_look``);
* ``primitives``: resampling limits and the missing-value rule shared by the modules above.
"""

from __future__ import annotations

from .decision import exceeds, gate_decision
from .flips import FlipResult, flip_rate, flip_vs_noise, flip_vs_noise_codes, noise_floor
from .multiplicity import benjamini_hochberg, holm
from .paired import PairedRateResult, mcnemar_p, newcombe_paired_interval, paired_rate_test
from .power import (
    icc_estimate,
    inputs_to_detect,
    min_detectable_increase,
    underpowered,
    weighting_design_effect,
)
from .primitives import EXACT_MAX_NONZERO as EXACT_MAX_NONZERO
from .proportions import clustered_wilson, wilson_interval
from .shift import ShiftResult, categorical_shift, length_shift, numeric_shift, shift_size, stuart_maxwell
from .weighting import input_weights, is_proportional, weighted_rate

__all__ = [
    "FlipResult",
    "PairedRateResult",
    "ShiftResult",
    "benjamini_hochberg",
    "categorical_shift",
    "clustered_wilson",
    "flip_rate",
    "flip_vs_noise",
    "flip_vs_noise_codes",
    "exceeds",
    "gate_decision",
    "holm",
    "icc_estimate",
    "inputs_to_detect",
    "input_weights",
    "is_proportional",
    "length_shift",
    "mcnemar_p",
    "min_detectable_increase",
    "newcombe_paired_interval",
    "noise_floor",
    "numeric_shift",
    "paired_rate_test",
    "shift_size",
    "stuart_maxwell",
    "underpowered",
    "weighting_design_effect",
    "weighted_rate",
    "wilson_interval",
]
