"""Calibration benchmark for promptreview.stats (pure numpy simulation, no model, no network).

Measures, over seeded repetitions, the false-alarm rate of A/A reviews (same prompt on both
sides) and the power against known regressions, for the tests in ``promptreview.stats``.

Simulation model: each input i has its own outcome rate p_i drawn from a Beta distribution
(heterogeneous inputs: some are hard, most are easy); each side draws K Bernoulli(p_i)
completions per input; the per-input rate is the share of the K completions with the outcome.
A regression adds +10 percentage points to the head's rate.

    python benchmarks/calibration_stats.py            # 1000 reps per scenario
    python benchmarks/calibration_stats.py --reps 200  # quicker
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats as sps

from promptreview import stats

ALPHA = 0.05
MARGIN = 0.02  # gates: max_increase
N_INPUTS = 100
K = 3


def beta_rates(rng: np.random.Generator, n: int, mean: float, conc: float) -> np.ndarray:
    """Per-input rates with the given mean; ICC of the completions = 1 / (conc + 1)."""
    if conc == np.inf:
        return np.full(n, mean)
    return rng.beta(mean * conc, (1 - mean) * conc, size=n)


def draw(rng: np.random.Generator, p: np.ndarray, k: int) -> np.ndarray:
    return rng.binomial(k, np.clip(p, 0, 1)) / k


def cp_upper(hits: int, n: int) -> float:
    """One-sided 95 % Clopper-Pearson upper bound of a simulated rate."""
    return 1.0 if hits >= n else float(sps.beta.ppf(0.95, hits + 1, n - hits))


def line(name: str, hits: int, reps: int, extra: str = "") -> str:
    rate = hits / reps
    se = np.sqrt(rate * (1 - rate) / reps)
    return f"  {name:<48s} {rate:6.1%}  (MC se {se:.1%}, 95% upper {cp_upper(hits, reps):.1%}){extra}"


def rate_scenario(
    reps: int,
    seed: int,
    *,
    n: int = N_INPUTS,
    k: int = K,
    mean: float = 0.05,
    conc: float = 10.0,
    increase: float = 0.0,
    shared: bool = True,
    n_resamples: int = 2000,
) -> dict[str, float]:
    """One gated rate. shared=True: the regression moves every input by +increase (hard inputs
    stay hard); shared=False: the head's per-input rates are drawn afresh (new failures appear
    on other inputs), which removes the benefit of pairing."""
    rng = np.random.default_rng(seed)
    sig1 = sig2 = gate = cover = unsure = 0
    for r in range(reps):
        p = beta_rates(rng, n, mean, conc)
        ph = p + increase if shared else beta_rates(rng, n, mean + increase, conc)
        true_delta = increase
        b, h = draw(rng, p, k), draw(rng, ph, k)
        res = stats.paired_rate_test(b, h, seed=r, n_resamples=n_resamples)
        sig1 += res.p_increase < ALPHA
        sig2 += res.p_value < ALPHA and res.delta > 0
        gate += stats.gate_decision(res.delta, res.p_increase, MARGIN, ALPHA) == "fail"
        cover += res.ci95[0] <= true_delta <= res.ci95[1]
        unsure += res.delta > MARGIN and res.p_increase >= ALPHA  # reported once as "inconclusive"
    return {
        "sig_one_sided": sig1,
        "sig_two_sided_up": sig2,
        "gate_fail": gate,
        "ci_cover": cover,
        "inconclusive": unsure,
    }


def margin_scenarios(reps: int, seed: int) -> None:
    """What the gate's words promise: how often it fails with a true increase equal to the margin, and how
    often an A/A review is called inconclusive (estimated above the margin, not significant)."""
    print("At the margin and inconclusive (the wording of docs/statistics.md, section 7):")
    for n, k in ((100, 3), (30, 1)):
        aa = rate_scenario(reps, seed + n + k, n=n, k=k)
        print(line(f"A/A {n} x {k}: gate fails", aa["gate_fail"], reps))
        print(line(f"A/A {n} x {k}: inconclusive", aa["inconclusive"], reps))
        at = rate_scenario(reps, seed + 2 * n + k, n=n, k=k, increase=MARGIN)
        print(line(f"true +{MARGIN:.2f} = margin, {n} x {k}: gate fails", at["gate_fail"], reps))


def family_scenario(
    reps: int, seed: int, *, increase: float = 0.0, n_resamples: int = 2000
) -> dict[str, float]:
    """Three mutually exclusive outcomes per completion (parse failure 5 %, schema violation
    5 %, refusal 2 % on average, each heterogeneous over inputs); Holm over the three gates;
    the regression (if any) moves +increase of the head's mass from ok to parse_failure."""
    rng = np.random.default_rng(seed)
    any_fail = parse_fail = 0
    means = np.array([0.05, 0.05, 0.02])
    for r in range(reps):
        p = np.stack([beta_rates(rng, N_INPUTS, m, 10.0) for m in means], axis=1)
        p = p / np.maximum(1.0, p.sum(axis=1, keepdims=True))
        ph = p.copy()
        ph[:, 0] = np.minimum(ph[:, 0] + increase, 1.0 - ph[:, 1:].sum(axis=1))

        def side(probs: np.ndarray) -> np.ndarray:
            full = np.concatenate([probs, 1.0 - probs.sum(axis=1, keepdims=True)], axis=1)
            counts = np.stack(
                [rng.multinomial(K, np.clip(row, 0, 1) / np.clip(row, 0, 1).sum()) for row in full]
            )
            return counts[:, :3] / K

        b, h = side(p), side(ph)
        results = [
            stats.paired_rate_test(b[:, j], h[:, j], seed=r, n_resamples=n_resamples) for j in range(3)
        ]
        adj = stats.holm([x.p_increase for x in results])
        verdicts = [
            stats.gate_decision(x.delta, pa, MARGIN, ALPHA) for x, pa in zip(results, adj, strict=True)
        ]
        any_fail += "fail" in verdicts
        parse_fail += verdicts[0] == "fail"
    return {"any_gate_fail": any_fail, "parse_gate_fail": parse_fail}


def weighted_scenario(reps: int, seed: int, n_resamples: int = 2000) -> dict[str, float]:
    """A/A on a stratified sample: 4 strata with population shares 70/20/7/3 % and rates
    3/6/12/25 %, sampled equally (25 inputs each); weighted test and interval."""
    rng = np.random.default_rng(seed)
    shares = {"a": 7000, "b": 2000, "c": 700, "d": 300}
    means = {"a": 0.03, "b": 0.06, "c": 0.12, "d": 0.25}
    strata = np.repeat(list(shares), 25)
    w = stats.input_weights(strata, shares)
    sig = gate = cover = 0
    for r in range(reps):
        p = np.concatenate([beta_rates(rng, 25, means[s], 10.0) for s in shares])
        b, h = draw(rng, p, K), draw(rng, p, K)
        res = stats.paired_rate_test(b, h, w, seed=r, n_resamples=n_resamples)
        sig += res.p_increase < ALPHA
        gate += stats.gate_decision(res.delta, res.p_increase, MARGIN, ALPHA) == "fail"
        cover += res.ci95[0] <= 0.0 <= res.ci95[1]
    return {"sig_one_sided": sig, "gate_fail": gate, "ci_cover": cover}


def answers_for(rng: np.random.Generator, probs: np.ndarray, k: int) -> np.ndarray:
    """(n, k) answers drawn from per-input label distributions probs (n, L)."""
    n, n_labels = probs.shape
    cum = probs.cumsum(axis=1)
    u = rng.random((n, k))
    idx = (u[:, :, None] > cum[:, None, :]).sum(axis=2)
    idx = np.minimum(idx, n_labels - 1)
    return np.array([f"label{j}" for j in range(n_labels)], dtype=object)[idx]


def distribution_scenario(
    reps: int, seed: int, *, shift: float = 0.0, n_resamples: int = 1000
) -> dict[str, float]:
    """Categorical answers (4 labels, per-input Dirichlet distributions, mostly one dominant
    label), K = 3. A/A (shift = 0) or a head that moves `shift` of its mass to label3. Also a
    numeric field (per-input mean + noise) tested with Wilcoxon on per-input means."""
    rng = np.random.default_rng(seed)
    flip_sig = cat_sig = num_sig = 0
    groups = np.repeat(np.arange(N_INPUTS), K)
    for r in range(reps):
        probs = rng.dirichlet([0.3, 0.3, 0.3, 0.3], size=N_INPUTS)
        probs_h = probs * (1 - shift)
        probs_h[:, 3] += shift
        b, h = answers_for(rng, probs, K), answers_for(rng, probs_h, K)
        fr = stats.flip_vs_noise(b, h, seed=r, n_resamples=n_resamples)
        flip_sig += fr.p_value is not None and fr.p_value < ALPHA
        cs = stats.categorical_shift(
            "label", b.ravel(), h.ravel(), groups=groups, seed=r, n_resamples=n_resamples
        )
        cat_sig += cs.p_value < ALPHA
        mu = rng.normal(0, 1, N_INPUTS)
        vb = np.repeat(mu, K) + rng.normal(0, 0.5, N_INPUTS * K)
        vh = np.repeat(mu + shift, K) + rng.normal(0, 0.5, N_INPUTS * K)
        ns = stats.numeric_shift("score", vb, vh, groups=groups)
        num_sig += ns.p_value < ALPHA
    return {"flip_sig": flip_sig, "cat_sig": cat_sig, "num_sig": num_sig}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20240501)
    ap.add_argument("--margin-only", action="store_true", help="only the at-margin / inconclusive rates")
    args = ap.parse_args()
    reps, seed = args.reps, args.seed
    if args.margin_only:
        margin_scenarios(reps, seed + 100)
        return
    t0 = time.time()
    print(
        f"promptreview.stats calibration: {N_INPUTS} inputs x K={K}, alpha={ALPHA}, margin={MARGIN}, {reps} reps"
    )
    print("Rates per input ~ Beta(mean, concentration 10) (ICC ~ 0.09) unless stated.\n")

    print("A/A, one gated rate, mean 5 % (false alarms; want <= 5 %):")
    aa = rate_scenario(reps, seed)
    print(line("significance alone (one-sided p_increase < a)", aa["sig_one_sided"], reps))
    print(line("two-sided p < a and delta > 0", aa["sig_two_sided_up"], reps))
    print(line("gate fails (significant AND delta > 0.02)", aa["gate_fail"], reps))
    print(line("95 % CI of delta covers 0", aa["ci_cover"], reps))

    print("A/A, homogeneous rate 5 % (no input heterogeneity):")
    aa_h = rate_scenario(reps, seed + 1, conc=np.inf)
    print(line("significance alone (one-sided)", aa_h["sig_one_sided"], reps))
    print(line("gate fails", aa_h["gate_fail"], reps))
    print(line("95 % CI of delta covers 0", aa_h["ci_cover"], reps))

    print("A/A, K = 1 (McNemar mid-p), mean 5 %:")
    aa1 = rate_scenario(reps, seed + 2, k=1)
    print(line("significance alone (one-sided mid-p)", aa1["sig_one_sided"], reps))
    print(line("gate fails", aa1["gate_fail"], reps))
    print(line("95 % CI of delta covers 0 (Newcombe)", aa1["ci_cover"], reps))

    print("A/A, stratified equal allocation from unequal strata, weighted test:")
    ws = weighted_scenario(reps, seed + 3)
    print(line("significance alone (one-sided)", ws["sig_one_sided"], reps))
    print(line("gate fails", ws["gate_fail"], reps))
    print(line("95 % CI of delta covers 0", ws["ci_cover"], reps))

    print("A/A, three gates (parse 5 %, schema 5 %, refusal 2 %), Holm:")
    fam = family_scenario(reps, seed + 4)
    print(line("any gate fails (family-wise)", fam["any_gate_fail"], reps))

    print("\nRegression +10 pp parse failure (5 % -> 15 %) (power; want >= 90 %):")
    reg = rate_scenario(reps, seed + 5, increase=0.10)
    print(line("significant (one-sided)", reg["sig_one_sided"], reps))
    print(line("gate fails", reg["gate_fail"], reps))
    print(line("95 % CI covers +0.10", reg["ci_cover"], reps))
    reg_ind = rate_scenario(reps, seed + 6, increase=0.10, shared=False)
    print("  same, new failures on other inputs (head rates drawn afresh):")
    print(line("gate fails", reg_ind["gate_fail"], reps))
    print(line("95 % CI covers +0.10", reg_ind["ci_cover"], reps))
    fam_reg = family_scenario(reps, seed + 7, increase=0.10)
    print("  same, inside the three-gate family with Holm:")
    print(line("parse_failure gate fails", fam_reg["parse_gate_fail"], reps))

    mde = stats.min_detectable_increase(N_INPUTS, K, 0.05, ALPHA, 0.8)
    mde_gate = stats.min_detectable_increase(N_INPUTS, K, 0.05, ALPHA, 0.8, max_increase=MARGIN)
    print(f"\nmin_detectable_increase(100, 3, 0.05) = {mde:.4f}; gate version = {mde_gate:.4f} (80 % power)")
    chk = rate_scenario(reps, seed + 8, conc=np.inf, increase=mde)
    print(line(f"simulated power at +{mde:.3f}, homogeneous rates", chk["sig_one_sided"], reps))
    icc = 1 / 11
    mde_icc = stats.min_detectable_increase(N_INPUTS, K, 0.05, ALPHA, 0.8, icc=icc)
    chk2 = rate_scenario(reps, seed + 9, increase=mde_icc, shared=False)
    print(line(f"simulated power at +{mde_icc:.3f}, icc {icc:.2f}, unshared", chk2["sig_one_sided"], reps))
    chk3 = rate_scenario(reps, seed + 10, increase=mde_icc, shared=True)
    print(line(f"simulated power at +{mde_icc:.3f}, icc {icc:.2f}, shared", chk3["sig_one_sided"], reps))

    dreps = max(200, reps // 2)
    print(f"\nDistribution tests, 4 labels, K = 3, {dreps} reps:")
    dist0 = distribution_scenario(dreps, seed + 11)
    print(line("A/A flip_vs_noise p < a", dist0["flip_sig"], dreps))
    print(line("A/A categorical_shift p < a", dist0["cat_sig"], dreps))
    print(line("A/A numeric_shift p < a", dist0["num_sig"], dreps))
    dist1 = distribution_scenario(dreps, seed + 12, shift=0.15)
    print("  head moves 15 % of its mass to one label / numeric mean +0.15 sd-of-inputs:")
    print(line("flip_vs_noise p < a", dist1["flip_sig"], dreps))
    print(line("categorical_shift p < a", dist1["cat_sig"], dreps))
    print(line("numeric_shift p < a", dist1["num_sig"], dreps))
    print()
    margin_scenarios(reps, seed + 100)
    print(f"\n{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
