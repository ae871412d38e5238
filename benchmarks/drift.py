"""Drift's calibration: how often `promptreview drift` alarms when nothing moved, and how often it catches
weights rotated behind the same model name.

Every repetition is a whole `drift` through the engine (`promptreview.engine.drift.drift`), in a real git
repository: the config, the suite and the prompt read at HEAD, `drift --record` asking the `sim` model for the
recorded answers (into a fresh response cache), then `drift` asking the same requests again and running the
review's scoring, analysis and gates on the two sides. No network.

Setup: the 100 tickets of `benchmarks/calibration.py` in 3 strata (email 50, chat 30, phone 20, every row taken),
K = 3 samples per input, temperature 0.7, the default gates (max_increase 0.02 for parse failures, schema
violations and refusals, alpha 0.05), and the output-distribution shift gating as drift makes it. The prompt
file names `sim:bench?parse_failure=0.05&refusal=0.02`; every repetition commits a prompt that says
"Repetition s-r." so its recorded answers are fresh draws too.

"Rotated weights": for the second run only, the sim resolves that same model id to other overrides (its served
name stays `bench`), as a provider that rotated an alias would. Scenarios:
  (aa)     A/A: nothing rotated; the fresh answers are independent draws of the same model.
  (rate)   parse failures 5 % -> 15 % (+10 pp) behind the same name.
  (labels) the label distribution moved: every categorical value moves to another with chance 0.3 (`flip`),
           rates unchanged.
  (small)  parse failures 5 % -> 8 % (+3 pp): a change just past the gate's 2 pp margin.

"Alarm" = drift's verdict is `fail` (exit 1). Targets: A/A alarms at most 5 % (the 95 % Clopper-Pearson
interval's lower bound at most 5 %, as a measurement cannot prove more), detection of the +10 pp rate and of the
label shift at least 90 %. Prints each rate with its exact (Clopper-Pearson) 95 % interval; exit 1 when a target
is missed.

    python benchmarks/drift.py                      # 200 reps per scenario, 2 processes
    python benchmarks/drift.py --quick              # 20 reps per scenario
    python benchmarks/drift.py --reps 500 --jobs 4 --scenarios aa
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from scipy import stats as sps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from calibration import suite_rows  # noqa: E402

from promptreview.engine.drift import drift  # noqa: E402
from promptreview.engine.jobs import ReviewOptions  # noqa: E402
from promptreview.providers import sim as sim_provider  # noqa: E402  (the registry's module for `sim`)
from promptreview.providers.sim.model_id import validate_model_id  # noqa: E402

MODEL_ID = "bench?parse_failure=0.05&refusal=0.02"
SCENARIOS: dict[str, str | None] = {
    "aa": None,
    "rate": "bench?parse_failure=0.15&refusal=0.02",
    "labels": "bench?parse_failure=0.05&refusal=0.02&flip=0.3",
    "small": "bench?parse_failure=0.08&refusal=0.02",
}
FALSE_ALARM_TARGET = 0.05
DETECTION_TARGET = 0.90
DEFAULT_SEED = 20261207

CONFIG = f"""version: 1
model: "sim:{MODEL_ID}"
samples: 3
concurrency: 8
prompts:
  - files: "prompts/*.prompt.yml"
    suite: data/tickets.jsonl
    strata: [channel]
    output: json
"""

_WORKDIR: Path | None = None


def prompt_file(seed: int, rep: int) -> str:
    system = f"Classify the support ticket with a label and a summary. Repetition {seed}-{rep}."
    return (
        "name: drift\nmodelParameters:\n  temperature: 0.7\n"
        f"messages:\n  - role: system\n    content: {json.dumps(system)}\n"
        "  - role: user\n    content: 'Channel: {{channel}}\n\n      {{ticket}}'\n"
    )


def _git(*args: str) -> None:
    assert _WORKDIR is not None
    subprocess.run(["git", *args], cwd=_WORKDIR, check=True, capture_output=True)


def _init_worker(parent: str) -> None:
    global _WORKDIR
    _WORKDIR = Path(tempfile.mkdtemp(prefix="drift-", dir=parent))
    (_WORKDIR / "data").mkdir()
    (_WORKDIR / "prompts").mkdir()
    (_WORKDIR / "data" / "tickets.jsonl").write_text(
        "\n".join(json.dumps(r) for r in suite_rows(False)) + "\n"
    )
    (_WORKDIR / "promptreview.yml").write_text(CONFIG)
    _git("init", "-q", "-b", "main")
    for key, value in (
        ("user.name", "bench"),
        ("user.email", "bench@example.com"),
        ("commit.gpgsign", "false"),
    ):
        _git("config", key, value)


def _rotated(moved: str) -> object:
    """The sim's `create`, resolving MODEL_ID to the `moved` overrides: new weights behind the same id."""

    def create(env: object) -> sim_provider.SimProvider:
        provider = sim_provider.SimProvider()
        provider._models[MODEL_ID] = validate_model_id(moved)
        return provider

    return create


def run_one(task: tuple[str, int, int]) -> tuple[str, str, tuple[str, ...]]:
    """One repetition: record, then drift; (scenario, verdict, what failed)."""
    key, seed, rep = task
    root = _WORKDIR
    assert root is not None
    (root / "prompts" / "triage.prompt.yml").write_text(prompt_file(seed, rep))
    _git("add", "-A")
    _git("commit", "-q", "-m", f"{key} {rep}")
    cache = root / f"cache-{key}-{rep}"
    opts = ReviewOptions(repo_root=root, env={"PROMPTREVIEW_CACHE_DIR": str(cache)}, seed=seed + rep)
    recorded = drift(opts, record=True)
    assert recorded.verdict == "skipped", recorded
    moved = SCENARIOS[key]
    original = sim_provider.create
    if moved is not None:
        sim_provider.create = _rotated(moved)  # type: ignore[assignment]
    try:
        report = drift(opts)
    finally:
        sim_provider.create = original  # type: ignore[assignment]
        shutil.rmtree(cache, ignore_errors=True)
    (prompt,) = report.prompts
    failed = tuple(name for name, row in prompt.rates.items() if row.gate == "fail")
    if prompt.flip_rate is not None and prompt.flip_rate.gate == "fail":
        failed += ("flip_rate",)
    failed += tuple(f"shift:{s.field}" for s in prompt.distribution_shift if s.matters)
    return key, str(report.verdict), failed


def interval(hits: int, n: int) -> tuple[float, float]:
    ci = sps.binomtest(hits, n).proportion_ci(confidence_level=0.95, method="exact")
    return float(ci.low), float(ci.high)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20 reps per scenario")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--no-targets", action="store_true", help="print the rates, check no target")
    args = parser.parse_args(argv)
    reps = 20 if args.quick else args.reps
    keys = [k.strip() for k in args.scenarios.split(",") if k.strip()]
    unknown = [k for k in keys if k not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)} (known: {', '.join(SCENARIOS)})")
    tasks = [(key, args.seed, rep) for key in keys for rep in range(reps)]
    started = time.monotonic()
    parent = tempfile.mkdtemp(prefix="promptreview-drift-bench-")
    try:
        ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
        with ctx.Pool(args.jobs, initializer=_init_worker, initargs=(parent,)) as pool:
            results = pool.map(run_one, tasks, chunksize=1)
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    print(
        f"drift calibration: {reps} reps per scenario, seed {args.seed}, {time.monotonic() - started:.0f} s"
    )
    missed = []
    for key in keys:
        mine = [r for r in results if r[0] == key]
        hits = sum(verdict == "fail" for _, verdict, _ in mine)
        low, high = interval(hits, len(mine))
        what = "false alarms" if SCENARIOS[key] is None else "detected"
        reasons = Counter(reason for _, _, failed in mine for reason in failed)
        top = ", ".join(f"{name} {count}" for name, count in reasons.most_common(4)) or "none"
        print(f"  {key:<7s} {what:<13s} {hits:4d}/{len(mine)} = {hits / len(mine):6.1%}  "
              f"95% CI [{low:.1%}, {high:.1%}]  failing gates: {top}")  # fmt: skip
        if SCENARIOS[key] is None and low > FALSE_ALARM_TARGET:
            missed.append(f"{key}: false alarms above {FALSE_ALARM_TARGET:.0%}")
        if key in ("rate", "labels") and high < DETECTION_TARGET:
            missed.append(f"{key}: detection below {DETECTION_TARGET:.0%}")
    for line in missed:
        print(f"target missed: {line}")
    return 1 if missed and not args.no_targets else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
