"""Paired tests of a quality check, base vs head on the same inputs; pure functions, no I/O.

A pass rate (an expectation, a string evaluator, refusals on must-refuse rows) is tested as the rate of
*not passing* with :func:`.paired.paired_rate_test`, whose one-sided p for an increase is then the p for a
decrease of the pass rate: the gates of quality checks fail on a decrease. A judge's mean score is in its own
units, so :func:`paired_score_test` uses the sign-flip permutation test of the per-input mean differences
(the same test as a rate's with K > 1) with a cluster-robust t interval on those differences.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

from .paired import _sign_flip_test, paired_rate_test
from .primitives import t_ppf

FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class PairedCheckResult:
    """`delta = head - base`; `p_decrease`: one-sided p for "head is lower" (what quality gates test)."""

    delta: float
    ci95: tuple[float, float]
    p_value: float
    p_decrease: float
    test: str
    discordant: int


def paired_pass_test(
    base: FloatArray,
    head: FloatArray,
    weights: FloatArray | None = None,
    *,
    seed: int = 0,
    base_n: FloatArray | None = None,
    head_n: FloatArray | None = None,
) -> PairedCheckResult:
    """Per-input pass rates (aligned by input) → the paired change of the pass rate."""
    fail = paired_rate_test(1.0 - base, 1.0 - head, weights, seed=seed, base_n=base_n, head_n=head_n)
    return PairedCheckResult(
        delta=-fail.delta,
        ci95=(-fail.ci95[1], -fail.ci95[0]),
        p_value=fail.p_value,
        p_decrease=fail.p_increase,
        test=fail.test,
        discordant=int(np.sum(np.abs(np.asarray(base) - np.asarray(head)) > 1e-12)),
    )


def paired_score_test(
    base: FloatArray, head: FloatArray, weights: FloatArray | None = None, *, seed: int = 0
) -> PairedCheckResult:
    """Per-input mean scores (aligned by input) → the paired change of the mean score, in the score's units."""
    b = np.asarray(base, dtype=float)
    h = np.asarray(head, dtype=float)
    w = np.ones_like(b) if weights is None else np.asarray(weights, dtype=float)
    ok = np.isfinite(b) & np.isfinite(h) & np.isfinite(w) & (w > 0)
    b, h, w = b[ok], h[ok], w[ok]
    n = int(b.size)
    if n == 0:
        return PairedCheckResult(0.0, (-math.inf, math.inf), 1.0, 1.0, "none (no paired inputs)", 0)
    w = w / w.mean()
    d = h - b
    d = np.where(np.abs(d) < 1e-12, 0.0, d)
    delta = float((w * d).sum() / w.sum())
    p_two, _, how = _sign_flip_test(w * d, seed=seed, n_resamples=10000)
    _, p_down, _ = _sign_flip_test(-w * d, seed=seed, n_resamples=10000)
    if n >= 2:
        var = float((w * (d - delta) ** 2).sum() / w.sum())
        se = math.sqrt(var / (n - 1))
        tq = t_ppf(0.975, n - 1)
        ci = (delta - tq * se, delta + tq * se)
    else:
        ci = (-math.inf, math.inf)
    label = "weighted " if weights is not None and not np.allclose(w, w[0]) else ""
    return PairedCheckResult(
        delta=delta,
        ci95=ci,
        p_value=p_two,
        p_decrease=p_down,
        test=f"paired sign-flip permutation over inputs, {label}mean score difference ({how})",
        discordant=int(np.count_nonzero(d)),
    )
