"""Sequential stopping, calibrated: false alarms, power and calls saved against the fixed design.

Simulation at the level of per-input outcomes (the statistics, not the HTTP path): 100 inputs per stratum x 3
strata = 300 inputs, K = 3 samples per input and side, three gated rates (parse_failure moves as the scenario
says; schema_violation and refusal stay at 1 % on both sides), the default gates (max_increase 0.02, alpha
0.05, Holm over the three). Per-input rates vary between inputs (a Beta spread around the scenario's rate), as
real inputs do.

* fixed design: every input runs; the verdict is "fail" when a gate's Holm-adjusted one-sided p (the paired
  sign-flip test the review uses) is < alpha, its increase is > its margin and its 95 % interval is clear of
  zero.
* sequential: the same inputs in seeded batches of 30 (`engine.sequential.batch_size`); after each batch
  `stats.sequential.decide_look` may stop it (regression or futility). As in a real sequential review, a stop
  is the verdict: "fail" after a stop for regression, no failing gate after a stop for futility, the fixed
  rule when every input ran.

    python benchmarks/sequential.py               # 400 repetitions per scenario
    python benchmarks/sequential.py --reps 100
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from promptreview import stats  # noqa: E402
from promptreview.engine.sequential import batch_size  # noqa: E402
from promptreview.stats.sequential import decide_look  # noqa: E402

N, K, ALPHA, MARGIN = 300, 3, 0.05, 0.02
METRICS = ("parse_failure", "schema_violation", "refusal")
SCENARIOS = {  # name: (base rate, head rate, every gate's max_increase)
    "A/A (5 % both sides)": (0.05, 0.05, MARGIN),
    "clear regression (+25 pp)": (0.02, 0.27, MARGIN),
    "borderline (+4 pp)": (0.05, 0.09, MARGIN),
    "clear pass (0 % both sides)": (0.0, 0.0, MARGIN),
    "clear pass, margins 5 pp": (0.0, 0.0, 0.05),
    "+7 pp, margins 5 pp": (0.02, 0.09, 0.05),
}


def _rates(rng: np.random.Generator, base: float, head: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per metric: per-input base and head rates from K completions each."""
    out = {}
    for metric in METRICS:
        b, h = (base, head) if metric == "parse_failure" else (0.01, 0.01)
        p_b = rng.beta(2, 2 * (1 - b) / b, N) if b > 0 else np.zeros(N)
        p_h = np.clip(p_b + (h - b), 0, 1)  # the same inputs are hard on both sides
        out[metric] = (rng.binomial(K, p_b) / K, rng.binomial(K, p_h) / K)
    return out


def _fixed_verdict(data: dict[str, tuple[np.ndarray, np.ndarray]], n: int, seed: int, margin: float) -> bool:
    p, deltas, lows = [], [], []
    for metric in METRICS:
        b, h = data[metric][0][:n], data[metric][1][:n]
        result = stats.paired_rate_test(b, h, seed=seed, n_resamples=2000)
        p.append(result.p_increase)
        deltas.append(float(np.mean(h) - np.mean(b)))
        lows.append(result.ci95[0])
    adjusted = stats.holm(p)
    return any(q < ALPHA and d > margin and low > 0 for q, d, low in zip(adjusted, deltas, lows, strict=True))


def _sequential(
    data: dict[str, tuple[np.ndarray, np.ndarray]], order: np.ndarray, margin: float
) -> tuple[int, str]:
    size = batch_size(N)
    done = 0
    while done < N:
        done = min(N, done + size)
        if done >= N:
            break
        diffs = {m: (data[m][1] - data[m][0])[order[:done]] for m in METRICS}
        decision, _ = decide_look(diffs, dict.fromkeys(METRICS, margin), ALPHA, ALPHA / 2)
        if decision is not None:
            return done, decision
    return N, "completed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=400)
    args = parser.parse_args()
    print(f"{N} inputs x K={K} x 2 sides = {N * K * 2} calls planned; {args.reps} repetitions per scenario")
    print(f"{'scenario':<30} {'fail (fixed)':>12} {'fail (seq)':>11} {'calls (seq)':>12} {'saved':>6}  stops")
    for s, (name, (base, head, margin)) in enumerate(SCENARIOS.items()):
        rng = np.random.default_rng(1000 + s)
        fixed = seqf = 0
        calls = []
        reasons: dict[str, int] = {}
        for rep in range(args.reps):
            data = _rates(rng, base, head)
            order = rng.permutation(N)
            shuffled = {m: (b[order], h[order]) for m, (b, h) in data.items()}
            fixed += _fixed_verdict(shuffled, N, rep, margin)
            ran, why = _sequential(data, order, margin)
            # the stop is the verdict: fail on a regression stop, no fail on a futility stop
            seqf += why == "regression" or (why == "completed" and _fixed_verdict(shuffled, ran, rep, margin))
            calls.append(ran * K * 2)
            reasons[why] = reasons.get(why, 0) + 1
        mean_calls = float(np.mean(calls))
        se = math.sqrt(0.25 / args.reps)
        print(
            f"{name:<30} {fixed / args.reps:>12.3f} {seqf / args.reps:>11.3f} {mean_calls:>12.0f}"
            f" {1 - mean_calls / (N * K * 2):>6.0%}  {', '.join(f'{k} {v}' for k, v in sorted(reasons.items()))}"
        )
    print(f"(simulation error of a rate: at most ±{2 * se:.3f} at 2 standard errors)")


if __name__ == "__main__":
    main()
