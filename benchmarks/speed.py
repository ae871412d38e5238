"""Speed, measured: promptreview's wall time against the ideal, and a cached re-run against the first run.

A loopback OpenAI-compatible server (in its own process) answers every call after a fixed latency. With N calls, concurrency C and
latency L, no client can finish faster than ceil(N / C) * L: that is the ideal. We print our wall time for the
whole review (planning, calls, analysis, report) over that ideal, then a second identical run (all cached)
over the first.

    python benchmarks/speed.py [--inputs 100] [--samples 3] [--latency 0.05] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from promptreview.engine.review import ReviewOptions, review_files  # noqa: E402
from promptreview.report.json import render  # noqa: E402
from promptreview.sources.config import Config, PromptEntry, SampleSpec  # noqa: E402
from tests.servers import Reply, ScriptedServer, openai_chat_completion, openai_compatible_handler  # noqa: E402

ANSWER = json.dumps({"category": "billing", "priority": "low", "summary": "s", "needs_human": False})


def _serve(latency: float, urls: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    """The fake provider, in its own process so it does not share our interpreter's lock."""

    def answer(body: dict) -> Reply:
        return Reply(200, openai_chat_completion(ANSWER, model=body["model"]), delay=latency)

    with ScriptedServer(openai_compatible_handler(answer)) as server:
        urls.put(server.url)
        stop.wait()
        urls.put(len(server.requests))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    urls: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(args.latency, urls, stop), daemon=True)
    server.start()
    url = urls.get(timeout=30)
    try:
        measure(args, url, stop, urls)
    finally:
        stop.set()
        server.join(timeout=10)


def measure(
    args: argparse.Namespace, url: str, stop: multiprocessing.Event, urls: multiprocessing.Queue
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows = [
            {"id": str(i), "channel": ("email", "chat", "phone")[i % 3], "ticket": f"ticket number {i}"}
            for i in range(args.inputs)
        ]
        (root / "inputs.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
        for name, word in (("old.txt", "strictly"), ("new.txt", "cleanly")):
            (root / name).write_text(f"Answer {word} in JSON. Ticket: {{{{ticket}}}}\n")
        config = Config(
            prompts=[],
            model="openai:gpt-4o-mini-2024-07-18",
            samples=args.samples,
            concurrency=args.concurrency,
            source="(benchmark)",
        )
        entry = PromptEntry(
            files=("new.txt",), suite="inputs.jsonl", strata=("channel",), sample=SampleSpec()
        )
        env = {
            "OPENAI_BASE_URL": f"{url}/v1",
            "OPENAI_API_KEY": "sk-bench",
            "PROMPTREVIEW_CACHE_DIR": str(root / "cache"),
        }

        def run() -> tuple[float, dict]:
            opts = ReviewOptions(repo_root=root, env=env, concurrency=args.concurrency)
            started = time.perf_counter()
            cwd = os.getcwd()
            os.chdir(root)
            try:
                report = review_files(opts, "old.txt", "new.txt", entry, config)
            finally:
                os.chdir(cwd)
            return time.perf_counter() - started, json.loads(render(report))

        calls = 2 * args.inputs * args.samples
        ideal = math.ceil(calls / args.concurrency) * args.latency
        first, report1 = run()
        second, report2 = run()
        stop.set()
        made = urls.get(timeout=30)
        assert report2["calls"]["cached"] == report2["calls"]["total"] == calls, report2["calls"]
        print(
            f"calls: {calls} ({made} reached the server), concurrency {args.concurrency}, latency {args.latency * 1000:.0f} ms"
        )
        print(f"ideal wall time (ceil(N/C) x latency): {ideal:.2f} s")
        print(f"retried calls: {report1['calls']['retried']} (first run)")
        print(f"uncached review: {first:.2f} s  -> ratio to ideal {first / ideal:.2f}x")
        print(
            f"cached re-run:   {second:.2f} s  -> cached/uncached {second / first:.3f} ({first / second:.1f}x faster)"
        )


if __name__ == "__main__":
    main()
