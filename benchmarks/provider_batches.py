"""Scale through provider batches, measured: a review of 100,000 completions sent as provider batches to a
local batch server that completes at once, against the same review on `sim`: wall time and peak memory.

The review is scale.py's (the support-triage sample prompts, base and head, K = 5 samples, three strata) with
N / (2 K) inputs. Three paths, each in a fresh child process that runs the review as the console script does
(`promptreview compare`, its garbage-collector setting, its exit without teardown) with an empty cache:
- `sim`: the embedded model through the async runner (the reference);
- `anthropic`: `--batch` with `anthropic:claude-sonnet-4-5-20250929` at ANTHROPIC_BASE_URL, Message Batches
  (one batch creation of up to 100,000 requests, a poll, the JSONL results);
- `openai`: `--batch` with `openai:gpt-4o-mini-2024-07-18` at OPENAI_BASE_URL, the Batch API (a multipart file
  upload of up to 50,000 lines per batch, the batch, a poll, the output file).

The batch server (its own process, so its memory is not ours) speaks both wire formats and completes every
batch at once: the first poll finds it ended. It reads only the custom ids of what it is sent (a regular
expression over the body, not a JSON parse) and answers each with one of a few valid triage answers, chosen
by the id; its results are made in memory in one piece and sent with their length. Each child reports its wall
time (process start to exit), its CPU time (user + system: what a loaded machine changes least) and its peak
resident memory (`ru_maxrss` of the child itself: the review's
process, not the server's). Targets (issue 24): batch wall at most 2 x the `sim` wall, peak at most 500 MB.

    python benchmarks/provider_batches.py                       # 100000 completions, all three paths
    python benchmarks/provider_batches.py --size 20000 --paths sim anthropic
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from scale import K, _setup  # noqa: E402  (the same review as the scale benchmark)

MODELS = {
    "sim": "sim:triage-v1",
    "anthropic": "anthropic:claude-sonnet-4-5-20250929",
    "openai": "openai:gpt-4o-mini-2024-07-18",
}
ANSWERS = [
    json.dumps(
        {"category": c, "priority": p, "summary": "The customer asks about their order.", "needs_human": h}
    )
    for c, p, h in itertools.product(
        ("billing", "technical", "account", "shipping"), ("low", "medium", "high"), (False, True)
    )
]
CUSTOM_ID = re.compile(rb'"custom_id":\s*"([A-Za-z0-9_-]{1,64})"')


# -- the batch server ----------------------------------------------------------------------------------------


def _answer(custom_id: str) -> str:
    return ANSWERS[zlib.crc32(custom_id.encode()) % len(ANSWERS)]


def _anthropic_results(ids: list[str], model: str) -> bytes:
    lines = []
    for i, custom_id in enumerate(ids):
        message = {
            "id": f"msg_bench_{i}", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": _answer(custom_id)}],
            "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 180, "output_tokens": 30, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0},
        }  # fmt: skip
        lines.append(
            json.dumps({"custom_id": custom_id, "result": {"type": "succeeded", "message": message}})
        )
    return ("\n".join(lines) + "\n").encode()


def _openai_results(ids: list[str], model: str) -> bytes:
    lines = []
    for i, custom_id in enumerate(ids):
        body = {
            "id": f"chatcmpl-bench-{i}", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": _answer(custom_id),
                                                 "refusal": None}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 180, "completion_tokens": 30, "total_tokens": 210},
        }  # fmt: skip
        line = {"id": f"batch_req_{i}", "custom_id": custom_id, "error": None,
                "response": {"status_code": 200, "request_id": f"req_{i}", "body": body}}  # fmt: skip
        lines.append(json.dumps(line))
    return ("\n".join(lines) + "\n").encode()


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counter = itertools.count(1)
        self.files: dict[str, list[str]] = {}  # OpenAI input file id -> custom ids
        self.batches: dict[str, tuple[str, list[str], str]] = {}  # id -> (wire format, custom ids, model)
        self.outputs: dict[str, bytes] = {}  # results by batch id (Anthropic) or output file id (OpenAI)
        self.received = 0  # bytes of batch input read


def _serve(port_queue: Any, anthropic_model: str, openai_model: str) -> None:
    state = _State()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _json(self, body: Any, status: int = 200) -> None:
            self._send(status, json.dumps(body).encode())

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else b""
            with state.lock:
                state.received += len(data)
            return data

        def do_POST(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            data = self._body()
            with state.lock:
                n = next(state.counter)
            if path == "/v1/messages/batches":
                ids = [m.decode() for m in CUSTOM_ID.findall(data)]
                batch_id = f"msgbatch_bench{n}"
                with state.lock:
                    state.batches[batch_id] = ("anthropic", ids, anthropic_model)
                self._json(_message_batch(batch_id, len(ids), ended=False, url=None))
            elif path == "/v1/files":
                ids = [m.decode() for m in CUSTOM_ID.findall(data)]
                file_id = f"file-bench{n}"
                with state.lock:
                    state.files[file_id] = ids
                self._json({"id": file_id, "object": "file", "bytes": len(data), "created_at": 0,
                            "filename": "batch.jsonl", "purpose": "batch", "status": "processed"})  # fmt: skip
            elif path == "/v1/batches":
                request = json.loads(data)
                batch_id = f"batch_bench{n}"
                with state.lock:
                    state.batches[batch_id] = ("openai", state.files[request["input_file_id"]], openai_model)
                self._json(_openai_batch(batch_id, 0, "validating", None))
            else:
                self._json({"error": {"message": f"unknown path {path}"}}, 404)

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            host = f"http://{self.headers.get('Host')}"
            if match := re.fullmatch(r"/v1/messages/batches/([\w-]+)", path):
                batch_id = match.group(1)
                _, ids, model = state.batches[batch_id]
                with state.lock:
                    if batch_id not in state.outputs:
                        state.outputs[batch_id] = _anthropic_results(ids, model)
                url = f"{host}/v1/messages/batches/{batch_id}/results"
                self._json(_message_batch(batch_id, len(ids), ended=True, url=url))
            elif match := re.fullmatch(r"/v1/messages/batches/([\w-]+)/results", path):
                self._send(200, state.outputs[match.group(1)], "application/binary")
            elif match := re.fullmatch(r"/v1/batches/([\w-]+)", path):
                batch_id = match.group(1)
                _, ids, model = state.batches[batch_id]
                output = f"file-out-{batch_id}"
                with state.lock:
                    if output not in state.outputs:
                        state.outputs[output] = _openai_results(ids, model)
                self._json(_openai_batch(batch_id, len(ids), "completed", output))
            elif match := re.fullmatch(r"/v1/files/([\w-]+)/content", path):
                self._send(200, state.outputs[match.group(1)], "application/octet-stream")
            elif path == "/stats":
                self._json({"received": state.received, "batches": len(state.batches)})
            else:
                self._json({"error": {"message": f"unknown path {path}"}}, 404)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def _message_batch(batch_id: str, n: int, *, ended: bool, url: str | None) -> dict:
    return {
        "id": batch_id, "type": "message_batch", "processing_status": "ended" if ended else "in_progress",
        "request_counts": {"processing": 0 if ended else n, "succeeded": n if ended else 0, "errored": 0,
                           "canceled": 0, "expired": 0},
        "created_at": "2026-12-07T10:00:00Z", "expires_at": "2026-12-08T10:00:00Z",
        "ended_at": "2026-12-07T10:00:01Z" if ended else None, "cancel_initiated_at": None,
        "archived_at": None, "results_url": url,
    }  # fmt: skip


def _openai_batch(batch_id: str, n: int, status: str, output: str | None) -> dict:
    return {
        "id": batch_id, "object": "batch", "endpoint": "/v1/chat/completions", "errors": None,
        "input_file_id": "file-in", "completion_window": "24h", "status": status,
        "output_file_id": output, "error_file_id": None, "created_at": 0,
        "request_counts": {"total": n, "completed": n if status == "completed" else 0, "failed": 0},
    }  # fmt: skip


# -- one review ----------------------------------------------------------------------------------------------


def child(root: Path, path: str, url: str) -> None:
    """One review in this process, as the console script runs it; prints wall time and peak RSS as JSON."""
    started = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    import gc

    from promptreview import cli

    gc.set_threshold(*cli._GC_THRESHOLD)  # what the console script sets
    os.chdir(root)
    os.environ["PROMPTREVIEW_CACHE_DIR"] = str(root / "cache")
    os.environ["ANTHROPIC_BASE_URL"] = url
    os.environ["ANTHROPIC_API_KEY"] = "sk-ant-bench"
    os.environ["OPENAI_BASE_URL"] = f"{url}/v1"
    os.environ["OPENAI_API_KEY"] = "sk-bench"
    args = ["compare", "prompts/triage.prompt.yml", "prompts/triage.edited.prompt.yml"]
    args += ["--model", MODELS[path], "--format", "json", "--output", str(root / "report.json")]
    if path != "sim":
        args.append("--batch")
    try:
        cli.main(args)
    except SystemExit as exc:
        if exc.code not in (0, 1):
            raise
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    data = json.loads((root / "report.json").read_text())
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": usage.ru_utime + usage.ru_stime,
                "peak_mb": usage.ru_maxrss / 1024,
                "calls": data["calls"],
                "verdict": data["verdict"],
            }
        ),
        flush=True,
    )
    os._exit(0)  # as the console script does: no teardown of the review's objects


def _run_child(root: Path, path: str, url: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(root), path, url], capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"the {path} review failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _stats(url: str) -> dict:
    """What the batch server has received so far: its batches, and the bytes of their input."""
    from urllib.request import urlopen

    with urlopen(f"{url}/stats", timeout=30) as response:
        return json.loads(response.read())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="completions (both sides, all samples)")
    parser.add_argument("--paths", nargs="*", default=["sim", "anthropic", "openai"], choices=list(MODELS))
    parser.add_argument("--child", nargs=3, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        root, path, url = args.child
        child(Path(root), path, url)
        return
    ports: Any = multiprocessing.Queue()
    anthropic_model, openai_model = (MODELS[p].partition(":")[2] for p in ("anthropic", "openai"))
    server = multiprocessing.Process(target=_serve, args=(ports, anthropic_model, openai_model), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{ports.get(timeout=30)}"
    print(f"{args.size} completions (K = {K}); wall of the whole process in seconds, peak RSS of the review")
    print(
        f"{'path':>10} {'wall':>7} {'x sim':>6} {'cpu':>7} {'x sim':>6} {'peak MB':>8} {'batches':>7} {'sent MB':>7}"
        "  verdict"
    )
    sim: dict | None = None
    try:
        for path in args.paths:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                _setup(root, args.size // (2 * K))
                before = _stats(url)
                result = _run_child(root, path, url)
                after = _stats(url)
            calls = result["calls"]
            assert calls["total"] == args.size, calls
            if path == "sim":
                sim = result
            ratio = f"{result['wall'] / sim['wall']:6.2f}" if sim else f"{'-':>6}"
            cpu_ratio = f"{result['cpu'] / sim['cpu']:6.2f}" if sim else f"{'-':>6}"
            batches = after["batches"] - before["batches"]
            sent = (after["received"] - before["received"]) / 1e6
            print(
                f"{path:>10} {result['wall']:>7.2f} {ratio} {result['cpu']:>7.2f} {cpu_ratio} {result['peak_mb']:>8.0f}"
                f" {batches:>7} {sent:>7.1f}"
                f"  {result['verdict']}",
                flush=True,
            )
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
