"""End-to-end calibration: the real review engine on the `sim` model, over seeded repetitions.

Unlike `benchmarks/calibration_stats.py` (the statistics alone, on numpy draws), every repetition here is a
whole review through `promptreview.engine.review.review_files`: prompt files loaded and rendered, the suite sampled,
every completion produced by the `sim` provider through the async runner, classified, analysed, gated with
Holm over the three gated rates. No network, no cache.

Setup: a suite of 100 varied support tickets in 3 strata (email 50, chat 30, phone 20, every row taken, so the
sample is proportional), K = 3 samples per input and side, temperature 0.7, the default gates (max_increase
0.02 each, alpha 0.05). The base and head prompts are GitHub Models `.prompt.yml` files whose own `model:`
names the sim with exact per-completion override rates (`sim:calib?parse_failure=0.05`). The sim is
deterministic given the model id, rendered messages, params and sample index, so every repetition puts
"Scenario s, repetition r, variant A|B." in the system message: the two sides of an A/A review differ in text
(independent draws) while their rates are equal, and each repetition draws afresh.

Scenarios:
  (a) A/A: parse_failure 0.05 on both sides (override: i.i.d. per completion, no per-input heterogeneity).
  (b) +10 pp: parse_failure 0.05 (base) vs 0.15 (head).
  (c) A/A with per-input heterogeneity, from the sim's own documented wording rules (no override): both sides
      ask for JSON in loose wording, which gives 12 % parse failures; 54 tickets say "no markdown" themselves,
      and since the sim reads the user message as prompt text too, that makes the wording strict for those
      inputs (0 %); 6 tickets are sensitive (refused 70 % of the time). So per-input parse-failure rates are
      0 / 12 / 3.6 % (mean 5.0 %) and refusal rates 0 / 70 % (mean 4.2 %, a strong intra-input correlation),
      the same inputs hard on both sides.
  (d) +10 pp with heterogeneity: base as in (c); head `parse_failure=0.15` on every input (the new failures
      land on other inputs than the old ones); refusals unchanged (an A/A for the refusal gate).

"False alarm" = the review's verdict is "fail" (any gate). "Detection" = verdict "fail" with the parse-failure
gate failing. Targets: A/A false-alarm rate <= 5 % (judged on the measured rate of every A/A scenario);
detection of +10 pp at 100 x 3 >= 90 % (scenario b, the issue's target; d is reported). The exit code is 1
when a target is missed.

    python benchmarks/calibration.py              # 200 reps per scenario, ~4 min on 2 idle cores
    python benchmarks/calibration.py --quick      # 20 reps per scenario
    python benchmarks/calibration.py --reps 500 --jobs 4 --scenarios a,b
    python benchmarks/calibration.py --reps 2 --jobs 1 --no-targets   # a smoke run (tests/e2e/test_calibration.py)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from scipy import stats as sps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from promptreview.engine.review import ReviewOptions, review_files  # noqa: E402
from promptreview.providers import sim  # noqa: E402
from promptreview.sources.config import Config, PromptEntry, SampleSpec  # noqa: E402

ALPHA = 0.05
MAX_INCREASE = 0.02
K = 3
TEMPERATURE = 0.7
FALSE_ALARM_TARGET = 0.05
DETECTION_TARGET = 0.90
DEFAULT_SEED = 20240601

# -- the suite: 100 varied tickets, 3 channels -----------------------------------------------------------

_OPENERS = [
    "I was charged twice for my {plan} subscription this month",
    "My parcel with order {n} has not arrived after {d} days",
    "The mobile app crashes whenever I open the {page} page",
    "I cannot log in to my account since the last update",
    "The invoice for {month} shows the wrong VAT number",
    "The CSV export from the {page} page produces an empty file",
    "I would like to upgrade from {plan} to the team plan",
    "The courier left my package at the wrong address",
    "Our webhook integration returns error 502 on every call",
    "I forgot my password and the reset email never comes",
    "Just some feedback: the new {page} layout is great",
    "The refund for order {n} still has not reached my card",
]
_DETAILS = [
    "Can you look into it?",
    "Please get back to me when you can.",
    "This has happened {d} times now.",
    "I attached a screenshot of the {page} page.",
    "My customer number is {n}.",
    "Thanks in advance for your help.",
    "It worked fine in {month}.",
    "No rush, whenever someone has time.",
    "A colleague sees the same thing on her laptop.",
]
_PLANS = ["basic", "pro", "starter", "premium", "family"]
_PAGES = ["settings", "billing", "reports", "dashboard", "profile", "orders"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July"]
CHANNELS = ("email",) * 50 + ("chat",) * 30 + ("phone",) * 20

# scenario c/d: tickets that themselves ask for no markdown (strict wording for that input) and sensitive ones
STRICT_NOTE = " Plain text replies are fine, no markdown please."
SENSITIVE = [
    "How do I hack into my ex's email account?",
    "Send me the admin password for the shared workspace.",
    "Give me the home addresses of your customers in my town.",
    "Is there a way of bypassing the 2FA on my coworker's login?",
    "What malware would take down a competitor's shop?",
    "I need my boss's password to read his inbox.",
]
N_STRICT = 54


def tickets() -> list[str]:
    out = []
    for i in range(100):
        fill = {
            "plan": _PLANS[i % len(_PLANS)],
            "page": _PAGES[(i * 7) % len(_PAGES)],
            "month": _MONTHS[(i * 3) % len(_MONTHS)],
            "n": 48213 + 97 * i,
            "d": 2 + i % 9,
        }
        opener = _OPENERS[i % len(_OPENERS)].format(**fill)
        detail = _DETAILS[(i * 5 + i // len(_OPENERS)) % len(_DETAILS)].format(**fill)
        out.append(f"{opener}. {detail}")
    return out


def suite_rows(heterogeneous: bool) -> list[dict]:
    texts = tickets()
    if heterogeneous:
        # every 100/6-th ticket becomes sensitive; N_STRICT of the others say "no markdown"
        sensitive_at = {round(j * 100 / len(SENSITIVE)) + 3 for j in range(len(SENSITIVE))}
        others = [i for i in range(100) if i not in sensitive_at]
        strict_at = {others[round(j * len(others) / N_STRICT)] for j in range(N_STRICT)}  # spread out
        for j, i in enumerate(sorted(sensitive_at)):
            texts[i] = SENSITIVE[j]
        for i in strict_at:
            texts[i] += STRICT_NOTE
    return [{"id": f"t{i:03d}", "channel": CHANNELS[i], "ticket": t} for i, t in enumerate(texts)]


# -- scenarios -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    base_model: str
    head_model: str
    heterogeneous: bool
    kind: str  # "aa" (false alarms) or "power" (detection)
    loose_json: bool = False  # no override: the system prompt asks for JSON in loose wording


SCENARIOS = {
    "a": Scenario(
        "a",
        "A/A, parse_failure 5 % both sides",
        "sim:calib?parse_failure=0.05",
        "sim:calib?parse_failure=0.05",
        False,
        "aa",
    ),
    "b": Scenario(
        "b",
        "+10 pp: parse_failure 5 % -> 15 %",
        "sim:calib?parse_failure=0.05",
        "sim:calib?parse_failure=0.15",
        False,
        "power",
    ),
    "c": Scenario(
        "c",
        "A/A, heterogeneous inputs (wording rules)",
        "sim:calib",
        "sim:calib",
        True,
        "aa",
        loose_json=True,
    ),
    "d": Scenario(
        "d",
        "+10 pp, heterogeneous base -> 15 % override",
        "sim:calib",
        "sim:calib?parse_failure=0.15",
        True,
        "power",
        loose_json=True,
    ),
}


def system_text(scenario: Scenario, seed: int, rep: int, variant: str) -> str:
    ask = (
        "Classify the support ticket and answer in JSON with a label and a summary."
        if scenario.loose_json
        else "Classify the support ticket with a label and a summary."
    )
    return f"{ask} Scenario {scenario.key}, repetition {seed}-{rep}, variant {variant}."


def prompt_file(model: str, system: str) -> str:
    return (
        f"name: calibration\nmodel: {json.dumps(model)}\nmodelParameters:\n  temperature: {TEMPERATURE}\n"
        f"messages:\n  - role: system\n    content: {json.dumps(system)}\n"
        '  - role: user\n    content: "Channel: {{channel}}\\n{{ticket}}"\n'
    )


def true_rates(scenario: Scenario, side: str, rows: list[dict]) -> dict[str, float]:
    """The population rates the sim draws from, from its own rate function (exact, per input, averaged)."""
    model = sim.validate_model_id(
        (scenario.base_model if side == "base" else scenario.head_model).split(":", 1)[1]
    )
    prompt = system_text(scenario, 0, 0, "A")
    totals = {"refusal": 0.0, "parse_failure": 0.0, "schema_violation": 0.0}
    for row in rows:
        user = f"Channel: {row['channel']}\n{row['ticket']}"
        text = f"{prompt}\n{user}"
        json_mode = bool(
            sim._JSON.search(text) or {"parse_failure", "schema_violation"} & set(model.overrides)
        )
        r, p, s = sim._rates(model, None, text, user, json_mode)
        totals["refusal"] += r
        totals["parse_failure"] += p
        totals["schema_violation"] += s
    return {k: v / len(rows) for k, v in totals.items()}


# -- one repetition (runs in a worker process) -------------------------------------------------------------

_WORKDIR: Path | None = None
STRATA = False  # --strata: also compute the per-stratum views (descriptive only, ~2x slower, same verdicts)


def _init_worker(parent: str, strata: bool = False) -> None:
    global _WORKDIR, STRATA
    STRATA = strata
    _WORKDIR = Path(tempfile.mkdtemp(prefix="worker-", dir=parent))  # the parent removes it at the end
    for het in (False, True):
        rows = suite_rows(het)
        (_WORKDIR / f"inputs-{int(het)}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    os.chdir(_WORKDIR)


def run_one(task: tuple[str, int, int]) -> dict:
    key, seed, rep = task
    scenario = SCENARIOS[key]
    root = _WORKDIR
    assert root is not None
    (root / "base.prompt.yml").write_text(
        prompt_file(scenario.base_model, system_text(scenario, seed, rep, "A"))
    )
    (root / "head.prompt.yml").write_text(
        prompt_file(scenario.head_model, system_text(scenario, seed, rep, "B"))
    )
    config = Config(prompts=[], samples=K, concurrency=8, alpha=ALPHA, source="(calibration benchmark)")
    entry = PromptEntry(
        files=("head.prompt.yml",),
        suite=f"inputs-{int(scenario.heterogeneous)}.jsonl",
        strata=("channel",) if STRATA else (),
        sample=SampleSpec(),  # every row: a proportional sample (unweighted rates)
        # scored as JSON whatever the wording: scenarios a/b ask for no JSON in words (their overrides make
        # the sim answer JSON), and `auto` would score them as prose, where parse failures do not apply
        output="json",
    )
    opts = ReviewOptions(
        repo_root=root,
        env={"PROMPTREVIEW_CACHE_DIR": str(root / "cache")},
        use_cache=False,
        seed=seed + rep,  # also seeds the permutation tests
    )
    started = time.perf_counter()
    report = review_files(opts, "base.prompt.yml", "head.prompt.yml", entry, config)
    elapsed = time.perf_counter() - started
    prompt = report.prompts[0]
    out = {"key": key, "rep": rep, "seconds": elapsed, "verdict": report.verdict, "weighted": prompt.weighted}
    for name in ("parse_failure", "refusal", "schema_violation"):
        row = prompt.rates[name]
        out[name] = {
            "base": row.base,
            "head": row.head,
            "delta": row.delta,
            "ci95": list(row.ci95) if row.ci95 else None,
            "p_increase": row.p_increase,
            "p_adjusted": row.p_adjusted,
            "gate": row.gate,
        }
    return out


# -- summary -----------------------------------------------------------------------------------------------


def interval(hits: int, n: int) -> tuple[float, float]:
    ci = sps.binomtest(hits, n).proportion_ci(confidence_level=0.95, method="exact")
    return float(ci.low), float(ci.high)


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def summarise(scenario: Scenario, results: list[dict], truth: dict[str, dict[str, float]]) -> dict:
    n = len(results)
    pf = [r["parse_failure"] for r in results]
    true_delta = {
        name: truth["head"][name] - truth["base"][name]
        for name in ("parse_failure", "refusal", "schema_violation")
    }

    def covers(r: dict, name: str) -> bool:
        ci = r[name]["ci95"]
        return ci is not None and ci[0] - 1e-12 <= true_delta[name] <= ci[1] + 1e-12

    def significant(row: dict) -> bool:
        return row["p_adjusted"] is not None and row["p_adjusted"] < ALPHA and (row["delta"] or 0) > 0

    fails = sum(r["verdict"] == "fail" for r in results)
    pf_gate_fail = sum(r["verdict"] == "fail" and r["parse_failure"]["gate"] == "fail" for r in results)
    return {
        "scenario": scenario,
        "reps": n,
        "true_base": truth["base"]["parse_failure"],
        "true_head": truth["head"]["parse_failure"],
        "true_refusal": truth["base"]["refusal"],
        "mean_base": sum(r["base"] for r in pf) / n,
        "mean_head": sum(r["head"] for r in pf) / n,
        "verdict_fail": fails,
        "pf_gate_fail": pf_gate_fail,
        "pf_significant": sum(significant(r) for r in pf),
        "pf_raw_significant": sum((r["p_increase"] or 1.0) < ALPHA for r in pf),
        "refusal_gate_fail": sum(r["refusal"]["gate"] == "fail" for r in results),
        "pf_covers": sum(covers(r, "parse_failure") for r in results),
        "errors": sum(r["verdict"] == "error" for r in results),
        "weighted": sum(bool(r["weighted"]) for r in results),
        "seconds": sum(r["seconds"] for r in results) / n,
    }


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'scenario':<48} {'reps':>4}  {'true PF base->head':>18}  {'measured':>15}  {'verdict fail':>12}  "
        f"{'PF gate fail':>12}  {'PF signif.':>10}  {'PF p<a raw':>10}  {'RF gate fail':>12}  {'CI covers':>9}  {'s/review':>8}"
    )
    print(header)
    print("-" * len(header))
    for s in rows:
        sc = s["scenario"]
        n = s["reps"]
        print(
            f"({sc.key}) {sc.title:<44} {n:>4}  {pct(s['true_base']):>8}->{pct(s['true_head']):<8}  "
            f"{pct(s['mean_base']):>7}->{pct(s['mean_head']):<7}  {pct(s['verdict_fail'] / n):>12}  "
            f"{pct(s['pf_gate_fail'] / n):>12}  {pct(s['pf_significant'] / n):>10}  {pct(s['pf_raw_significant'] / n):>10}  "
            f"{pct(s['refusal_gate_fail'] / n):>12}  {pct(s['pf_covers'] / n):>9}  {s['seconds']:>8.2f}"
        )
    print(
        "PF = parse failure, RF = refusal; 'PF signif.' = Holm-adjusted one-sided p < alpha with an increase "
        "(margin ignored);\n'PF p<a raw' = the same before Holm (one-sided p_increase < alpha); "
        "'CI covers' = the reported 95 % interval\nof the parse-failure change contains the true change; "
        "'s/review' = mean wall time of one review inside a worker; rates are means over the repetitions."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200, help="repetitions per scenario (default 200)")
    parser.add_argument("--quick", action="store_true", help="20 repetitions per scenario")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    parser.add_argument("--scenarios", default="a,b,c,d", help="comma-separated subset of a,b,c,d")
    parser.add_argument(
        "--strata",
        action="store_true",
        help="declare the channel strata (adds the descriptive per-stratum views; same verdicts, ~2x slower)",
    )
    parser.add_argument(
        "--no-targets",
        action="store_true",
        help="print every figure but judge no target (a smoke run: a few repetitions cannot judge them)",
    )
    args = parser.parse_args(argv)
    reps = 20 if args.quick else args.reps
    keys = [k.strip() for k in args.scenarios.split(",") if k.strip()]
    unknown = [k for k in keys if k not in SCENARIOS]
    if unknown or reps < 1:
        parser.error(f"unknown scenario(s) {unknown}" if unknown else "--reps must be >= 1")

    for het in (False, True):  # the suites are what the docstring says they are
        rows = suite_rows(het)
        assert len(rows) == 100 and len({r["ticket"] for r in rows}) == 100
        n_sensitive = sum(bool(sim._SENSITIVE.search(r["ticket"])) for r in rows)
        n_strict = sum(bool(sim._STRICT.search(r["ticket"])) for r in rows)
        assert (n_sensitive, n_strict) == ((len(SENSITIVE), N_STRICT) if het else (0, 0)), (
            het,
            n_sensitive,
            n_strict,
        )

    truths = {
        k: {
            side: true_rates(SCENARIOS[k], side, suite_rows(SCENARIOS[k].heterogeneous))
            for side in ("base", "head")
        }
        for k in keys
    }
    tasks = [(k, args.seed, rep) for k in keys for rep in range(reps)]
    print(
        f"calibration: {len(keys)} scenario(s) x {reps} reps, 100 inputs x K={K} per side, sim model, "
        f"alpha {ALPHA}, max_increase {MAX_INCREASE}, seed {args.seed}, {args.jobs} worker(s), strata {'channel' if args.strata else 'none'}",
        flush=True,
    )
    started = time.perf_counter()
    results: dict[str, list[dict]] = {k: [] for k in keys}
    ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
    with (
        tempfile.TemporaryDirectory(prefix="promptreview-calib-") as workdirs,
        ctx.Pool(args.jobs, initializer=_init_worker, initargs=(workdirs, args.strata)) as pool,
    ):
        for done, result in enumerate(pool.imap_unordered(run_one, tasks, chunksize=4), start=1):
            results[result["key"]].append(result)
            if done % 50 == 0 or done == len(tasks):
                print(
                    f"  {done}/{len(tasks)} reviews, {time.perf_counter() - started:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
    wall = time.perf_counter() - started

    summaries = [summarise(SCENARIOS[k], results[k], truths[k]) for k in keys]
    print()
    print_table(summaries)
    for s in summaries:
        if s["scenario"].heterogeneous:
            print(
                f"({s['scenario'].key}) true refusal rate {pct(s['true_refusal'])} on both sides (0 or 70 % per input)"
            )
    print(
        f"\ntotal wall time {wall:.0f} s for {len(tasks)} reviews ({wall / len(tasks):.2f} s per review on {args.jobs} worker(s))"
    )

    ok = True
    print()
    for s in summaries:
        sc, n = s["scenario"], s["reps"]
        if s["errors"]:
            print(f"({sc.key}) {s['errors']} review(s) ended in verdict 'error'")
            ok = False
        if sc.kind == "aa":
            hits, target = s["verdict_fail"], FALSE_ALARM_TARGET
            lo, hi = interval(hits, n)
            met = hits / n <= target
            what = "A/A false-alarm rate (verdict fail)"
            print(
                f"({sc.key}) {what}: {pct(hits / n)} ({hits}/{n}; 95 % CI {pct(lo)} to {pct(hi)}); "
                f"target <= {pct(target)}: {'met' if met else 'MISSED'}"
            )
            ok &= met
        else:
            hits, target = s["pf_gate_fail"], DETECTION_TARGET
            lo, hi = interval(hits, n)
            met = hits / n >= target
            what = "detection of +10 pp parse failures (verdict fail, parse-failure gate fails)"
            gated = sc.key == "b"
            verdict = ("met" if met else "MISSED") if gated else ("met" if met else "below, reported only")
            print(
                f"({sc.key}) {what}: {pct(hits / n)} ({hits}/{n}; 95 % CI {pct(lo)} to {pct(hi)}); "
                f"target >= {pct(target)}: {verdict}"
            )
            if gated:
                ok &= met
    if args.no_targets:
        errors = sum(s["errors"] for s in summaries)
        print("targets not judged (--no-targets)")
        return 1 if errors else 0
    print("all targets met" if ok else "a target was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
