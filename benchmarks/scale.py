"""Scale, measured: a whole `sim` review of 5k / 20k / 50k completions, its cached re-run, the analysis alone,
and the peak memory.

For each size N the suite has N / (2 K) inputs (K = 5 samples, two sides, three strata), the base and head
prompts are the support-triage sample prompts (the head's wording edit raises parse failures), and the model
is the embedded `sim`. Each size runs in fresh child processes (so the peak memory is the review's own):
first with an empty response cache (every completion made by the sim through the async runner), then again
from the cache, each time as the console script runs (`promptreview compare`, its garbage-collector setting,
its exit without teardown). "analysis" is scoring, the completion frame, the statistics, the gates and the JSON
report of the cached run (everything after the answers are in hand); "imports" is the loading of pandas and
scipy the analysis waits for first (a fixed cost, the same at any size, timed apart).

    python benchmarks/scale.py                 # 5000 20000 50000
    python benchmarks/scale.py --sizes 20000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
K = 5


def _setup(root: Path, n_inputs: int) -> None:
    source = ROOT / "promptreview" / "sample_suites" / "support_triage"
    rows = [json.loads(line) for line in (source / "inputs.jsonl").read_text().splitlines() if line.strip()]
    with (root / "inputs.jsonl").open("w") as out:
        for i in range(n_inputs):
            row = dict(rows[i % len(rows)])
            row["id"] = f"X{i:06d}"
            row["ticket"] = f"{row['ticket']} (ref {i})"
            out.write(json.dumps(row) + "\n")
    (root / "prompts").mkdir()
    for name in ("triage.prompt.yml", "triage.edited.prompt.yml"):
        (root / "prompts" / name).write_bytes((source / "prompts" / name).read_bytes())
    (root / "schema.json").write_bytes((source / "schema.json").read_bytes())
    (root / "promptreview.yml").write_text(
        "version: 1\nmodel: sim:triage-v1\nparams: {temperature: 0.7, max_tokens: 300}\n"
        f"samples: {K}\nconcurrency: 16\nbudget: {{max_calls: 1000000}}\n"
        "prompts:\n  - files: 'prompts/*.prompt.yml'\n    suite: inputs.jsonl\n    schema: schema.json\n"
        f"    strata: [channel]\n    sample: {{size: {n_inputs}, allocation: proportional, seed: 1}}\n"
    )


def child(root: Path) -> None:
    """One review in this process, as the console script runs it; prints wall time, import time, analysis time
    and peak RSS as JSON."""
    started = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    import gc

    from promptreview import cli
    from promptreview.engine import review as review_module

    gc.set_threshold(*cli._GC_THRESHOLD)  # what the console script sets
    spent = {"analysis": 0.0, "imports": 0.0}

    def timed(fn, before=None):  # type: ignore[no-untyped-def]
        """`fn`, its time added to the analysis (after `before`, whose time counts as imports)."""

        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            if before is not None:
                t = time.perf_counter()
                before()
                spent["imports"] += time.perf_counter() - t
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent["analysis"] += time.perf_counter() - t

        return wrapper

    def import_analysis() -> None:
        # the analysis' own imports (pandas, scipy: loaded on first use) are timed apart from the analysis
        from promptreview.engine.measurement import analysis as analyse  # noqa: F401

    from promptreview.report import json as json_report

    review_module._score_and_decide = timed(review_module._score_and_decide, import_analysis)  # type: ignore[assignment]
    json_report.render = timed(json_report.render)  # type: ignore[assignment]
    os.chdir(root)
    os.environ["PROMPTREVIEW_CACHE_DIR"] = str(root / "cache")
    args = ["compare", "prompts/triage.prompt.yml", "prompts/triage.edited.prompt.yml"]
    args += ["--format", "json", "--output", str(root / "report.json")]
    try:
        cli.main(args)
    except SystemExit as exc:
        if exc.code not in (0, 1):
            raise
    wall = time.perf_counter() - started
    data = json.loads((root / "report.json").read_text())
    print(
        json.dumps(
            {
                "wall": wall,
                "imports": spent["imports"],
                "analysis": spent["analysis"],
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "calls": data["calls"],
                "verdict": data["verdict"],
            }
        ),
        flush=True,
    )
    os._exit(0)  # as the console script does: no teardown of the review's objects


def _run_child(root: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(root)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[5000, 20000, 50000])
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    print(
        f"K = {K} samples per input and side; times in seconds (wall of the whole process, imports included)"
    )
    print(
        f"{'completions':>11} {'first run':>9} {'cached':>7} {'analysis':>8} {'imports':>7} {'peak MB':>8}  verdict"
    )
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            _setup(root, size // (2 * K))
            first = _run_child(root)
            cached = _run_child(root)
            assert cached["calls"]["cached"] == cached["calls"]["total"] == size, cached["calls"]
            print(
                f"{size:>11} {first['wall']:>9.2f} {cached['wall']:>7.2f} {cached['analysis']:>8.2f}"
                f" {cached['imports']:>7.2f}"
                f" {max(first['peak_mb'], cached['peak_mb']):>8.0f}  {cached['verdict']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
