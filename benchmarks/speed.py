"""Speed, measured in one run: the bare-client floor, promptreview's wall time, and their ratio.

A loopback OpenAI-compatible server (plain asyncio, HTTP/1.1 keep-alive, in its own process) answers every
call after a fixed latency. The **floor** is a bare httpx loop sending the same number of requests to the same
server with the same concurrency (an `AsyncClient` with one connection per slot, nothing else): no client can
do the calls faster. **Ours** is the installed `promptreview compare` command, timed from process start to
exit (interpreter start, imports, config, planning, the calls, analysis, the report), with the cache off.
Then a **cached re-run** of the same review (every answer from the response cache), and the same review
against the server **honouring `n`** (the K samples of an input in one request: the requests that reached
the server, our wall time, and the floor for that many requests with `n` = K). The server of the first lines
ignores `n`, as many compatible servers do (one choice per request).

    python benchmarks/speed.py                          # 1200 calls, 200 ms, concurrency 16
    python benchmarks/speed.py --calls 600 --latency 0.05 --concurrency 8 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ANSWER = json.dumps({"category": "billing", "priority": "low", "summary": "s", "needs_human": False})
SAMPLES = 3


def _reply(model: str, n: int = 1) -> bytes:
    choice = {"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}
    body = json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{**choice, "index": i} for i in range(n)],
            "usage": {"prompt_tokens": 40, "completion_tokens": 20 * n, "total_tokens": 40 + 20 * n},
        }
    ).encode()
    head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


def _serve(
    latency: float,
    port_queue: multiprocessing.Queue,
    count: multiprocessing.Value,
    first: multiprocessing.Value,
    last: multiprocessing.Value,
    honour_n: multiprocessing.Value,
) -> None:
    """The fake provider: answers each request on a kept-alive connection after `latency` seconds, with `n`
    choices while `honour_n` is set (else one, whatever `n` asks)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                body = await reader.readexactly(length) if length else b"{}"
                decoded = json.loads(body or b"{}")
                model = decoded.get("model", "gpt-4o-mini-2024-07-18")
                n = int(decoded.get("n") or 1) if honour_n.value else 1
                with first.get_lock():
                    if first.value == 0:
                        first.value = time.time()  # wall clock: comparable with the client's process
                await asyncio.sleep(latency)
                with count.get_lock():
                    count.value += 1
                writer.write(_reply(model, n))
                last.value = time.time()
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
        port_queue.put(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


async def _floor(url: str, calls: int, concurrency: int, n: int = 1) -> float:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    body: dict = {"model": "gpt-4o-mini-2024-07-18", "messages": [{"role": "user", "content": "ticket"}]}
    if n > 1:
        body["n"] = n
    started = time.perf_counter()
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        semaphore = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with semaphore:
                response = await client.post(f"{url}/v1/chat/completions", json={**body, "seed": i})
                response.json()

        await asyncio.gather(*(one(i) for i in range(calls)))
    return time.perf_counter() - started


def _setup(root: Path, inputs: int) -> None:
    rows = [
        {"id": str(i), "channel": ("email", "chat", "phone")[i % 3], "ticket": f"ticket number {i}"}
        for i in range(inputs)
    ]
    (root / "inputs.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    for name, word in (("old.txt", "strictly"), ("new.txt", "cleanly")):
        (root / name).write_text(f"Answer {word} in JSON. Ticket: {{{{ticket}}}}\n")
    (root / "promptreview.yml").write_text(
        "version: 1\nmodel: openai:gpt-4o-mini-2024-07-18\n"
        f"samples: {SAMPLES}\nbudget: {{max_calls: 1000000}}\n"
        "prompts:\n  - files: '*.txt'\n    suite: inputs.jsonl\n    strata: [channel]\n"
        f"    sample: {{size: {inputs}, allocation: proportional}}\n"
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)


def _ours(root: Path, url: str, concurrency: int, cached: bool) -> float:
    exe = shutil.which("promptreview") or sys.exit("promptreview is not installed in this environment")
    env = {
        **os.environ,
        "OPENAI_BASE_URL": f"{url}/v1",
        "OPENAI_API_KEY": "sk-bench",
        "PROMPTREVIEW_CACHE_DIR": str(root / "cache"),
    }
    args = [exe, "compare", "old.txt", "new.txt", "--concurrency", str(concurrency), "--format", "json"]
    args += ["--output", str(root / "report.json")] + ([] if cached else ["--no-cache"])
    started = time.perf_counter()
    done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"promptreview exited {done.returncode}: {done.stderr.strip()}")
    return wall


def _timed_ours(
    root: Path, url: str, concurrency: int, first: multiprocessing.Value, last: multiprocessing.Value
) -> tuple[float, float, float]:
    """Our wall time, and its fixed costs: process start to the first request, the last answer to exit."""
    first.value = 0.0
    began = time.time()
    wall = _ours(root, url, concurrency, cached=False)
    ended = time.time()
    return wall, first.value - began, ended - last.value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1200, help="model calls (a multiple of 2 x 3 samples)")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the server waits per call")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=2, help="floor/ours pairs to measure")
    args = parser.parse_args()
    inputs = args.calls // (2 * SAMPLES)
    calls = inputs * 2 * SAMPLES

    ports: multiprocessing.Queue = multiprocessing.Queue()
    count = multiprocessing.Value("i", 0)
    first, last = multiprocessing.Value("d", 0.0), multiprocessing.Value("d", 0.0)
    honour_n = multiprocessing.Value("b", 0)
    server = multiprocessing.Process(
        target=_serve, args=(args.latency, ports, count, first, last, honour_n), daemon=True
    )
    server.start()
    url = f"http://127.0.0.1:{ports.get(timeout=30)}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            _setup(root, inputs)
            print(f"{calls} calls, latency {args.latency * 1000:.0f} ms, concurrency {args.concurrency}")
            for _ in range(args.repeat):
                floor = asyncio.run(_floor(url, calls, args.concurrency))
                before = count.value
                ours, to_first, from_last = _timed_ours(root, url, args.concurrency, first, last)
                made = count.value - before
                print(
                    f"floor (bare httpx): {floor:6.2f} s   promptreview: {ours:6.2f} s   "
                    f"ratio {ours / floor:.3f}   (start to first request {to_first:.2f} s, "
                    f"last answer to exit {from_last:.2f} s; {made} calls reached the server)",
                    flush=True,
                )
            _ours(root, url, args.concurrency, cached=True)  # fill the cache
            cached = _ours(root, url, args.concurrency, cached=True)
            print(f"cached re-run: {cached:.2f} s (interpreter start to exit, no call made)")
            honour_n.value = 1  # the same review, the server now answering n choices per request
            floor_n = asyncio.run(_floor(url, calls // SAMPLES, args.concurrency, n=SAMPLES))
            before = count.value
            ours_n, _, _ = _timed_ours(root, url, args.concurrency, first, last)
            made = count.value - before
            print(
                f"n honoured: {calls} completions in {made} requests; promptreview {ours_n:6.2f} s   "
                f"floor for {calls // SAMPLES} requests with n={SAMPLES}: {floor_n:6.2f} s   "
                f"ratio {ours_n / floor_n:.3f}   (vs the one-request-per-sample floor {floor:.2f} s: "
                f"{ours_n / floor:.3f})",
                flush=True,
            )
    finally:
        server.terminate()
        server.join(timeout=10)


if __name__ == "__main__":
    main()
