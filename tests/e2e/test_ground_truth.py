"""The numbers in the report are exactly what the model server answered: every rate, overall and per stratum.

A loopback server speaking OpenAI's chat-completions format answers each request with a seeded mixture of
valid JSON, schema violations, prose, provider refusals and persistent 500s, and records what it did. The test
recounts that ground truth and compares it with the report, number for number.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter

import pytest

from tests.e2e_helpers import LOOSE, TICKETS, make_triage_repo, prompt_yml
from tests.servers import (
    Reply,
    ScriptedServer,
    openai_chat_completion,
    openai_compatible_handler,
    openai_error,
)

pytestmark = pytest.mark.e2e  # runs whole reviews; `pytest -m "not e2e"` skips them

MODEL = "gpt-4o-mini-2024-07-18"
KINDS = ("ok", "schema_violation", "parse_failure", "refusal", "error")


class GroundTruth:
    """Decides each answer from a hash of the request body and remembers (side, channel, kind) per body."""

    def __init__(self, weights_base: list[int], weights_head: list[int]) -> None:
        self.weights = {"base": weights_base, "head": weights_head}
        self.kind_by_request: dict[str, tuple[str, str, str]] = {}
        self.lock = threading.Lock()

    def answer(self, body: dict) -> Reply:
        system = body["messages"][0]["content"]
        user = body["messages"][-1]["content"]
        side = "head" if "clean, parseable" in system else "base"
        channel = user.split("(")[1].split(")")[0]
        # this server ignores `n` (one choice per request), as many compatible servers do: a body asking for
        # several samples is the same request as the one asking for one
        same = {k: v for k, v in body.items() if k != "n"}
        key = hashlib.sha256(json.dumps(same, sort_keys=True).encode()).hexdigest()
        weights = self.weights[side]
        ticket = int(key[:8], 16) % sum(weights)
        kind = next(k for k, upto in zip(KINDS, _cumsum(weights), strict=True) if ticket < upto)
        with self.lock:  # a retried request is the same request: it keeps its first kind
            kind = self.kind_by_request.setdefault(key, (side, channel, kind))[2]
        if kind == "error":
            return Reply(
                500, openai_error("upstream overloaded", "server_error"), headers={"retry-after-ms": "1"}
            )
        if kind == "refusal":
            body_out = openai_chat_completion(None, model=MODEL, refusal="I can't help with that.")
            return Reply(200, body_out)
        text = {
            "ok": json.dumps(
                {"category": "billing", "priority": "low", "summary": "s", "needs_human": False}
            ),
            "schema_violation": json.dumps(
                {"category": "refunds", "priority": "low", "summary": "s", "needs_human": False}
            ),
            "parse_failure": "Sure! The category is billing.",
        }[kind]
        return Reply(200, openai_chat_completion(text, model=MODEL))

    def counts(self, samples: int) -> dict[str, Counter]:
        """Completions per kind. The K samples of an input send the same body (the sample index is not on
        the wire), so each distinct body stands for `samples` completions that all got its answer."""
        out: dict[str, Counter] = {"base": Counter(), "head": Counter()}
        for side, channel, kind in self.kind_by_request.values():
            out[side][kind] += samples
            out[side][(channel, kind)] += samples
        return out


def _cumsum(values: list[int]) -> list[int]:
    total, out = 0, []
    for v in values:
        total += v
        out.append(total)
    return out


def expected_rate(counts: Counter, kind: str, channel: str | None = None) -> float | None:
    def c(k: str) -> int:
        return counts[(channel, k)] if channel else counts[k]

    total = sum(c(k) for k in KINDS)
    n = total if kind == "error" else total - c("error")
    return c(kind) / n if n else None


@pytest.mark.parametrize("samples", [1, 3])
def test_every_rate_equals_the_ground_truth(git_repo, run_cli, retry_waits, samples):
    make_triage_repo(git_repo, model=f"openai:{MODEL}", samples=samples, extra="max_error_rate: 0.5\n")
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("loosen")
    truth = GroundTruth(weights_base=[70, 8, 5, 7, 10], weights_head=[50, 10, 25, 5, 10])
    with ScriptedServer(openai_compatible_handler(truth.answer)) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test"}
        result = run_cli(
            ["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"], git_repo.root, env
        )
    assert result.code == 0, result.err  # the deterministic answers give a pass: no gate fails
    report = result.json()
    assert report["verdict"] == "pass"
    (prompt,) = report["prompts"]
    counts = truth.counts(samples)
    n_inputs = sum(len(t) for t in TICKETS.values())
    assert prompt["n_inputs"] == n_inputs and prompt["samples"] == samples
    assert (
        sum(counts["base"][k] for k in KINDS) == sum(counts["head"][k] for k in KINDS) == n_inputs * samples
    )
    assert counts["base"]["error"] > 0 and counts["head"]["parse_failure"] > 0  # the mixture really is mixed
    assert retry_waits and set(retry_waits) == {0.001}  # each retry waits what the server asked (unslept)
    assert prompt["calls"]["total"] == 2 * n_inputs * samples
    assert prompt["calls"]["failed"] == counts["base"]["error"] + counts["head"]["error"]
    for kind in ("parse_failure", "schema_violation", "refusal", "error"):
        row = prompt["rates"][kind]
        for side in ("base", "head"):
            assert row[side] == expected_rate(counts[side], kind), (kind, side)
            assert row[f"{side}_count"] == counts[side][kind]
        assert row["delta"] == pytest.approx(row["head"] - row["base"], abs=1e-15)
        if row["ci95"] is not None:  # failed calls make inputs unequal: the change still sits in its interval
            assert row["ci95"][0] <= row["delta"] <= row["ci95"][1], (kind, row)
    assert {s["stratum"]["channel"] for s in prompt["strata"]} == set(TICKETS)
    for stratum in prompt["strata"]:
        channel = stratum["stratum"]["channel"]
        assert stratum["n_inputs"] == len(TICKETS[channel])
        for kind in ("parse_failure", "schema_violation", "refusal", "error"):
            for side in ("base", "head"):
                assert stratum["rates"][kind][side] == expected_rate(counts[side], kind, channel), (
                    channel,
                    kind,
                )


def test_weighted_overall_rate_when_strata_are_sampled_unequally(git_repo, run_cli):
    # per_stratum=4 from strata of 8, 6 and 4 rows: not proportional, so the overall rate is weighted
    make_triage_repo(git_repo, model=f"openai:{MODEL}", samples=1, per_stratum=4)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("loosen")
    truth = GroundTruth(weights_base=[80, 0, 20, 0, 0], weights_head=[40, 0, 60, 0, 0])
    with ScriptedServer(openai_compatible_handler(truth.answer)) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test"}
        result = run_cli(
            ["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"], git_repo.root, env
        )
    prompt = result.json()["prompts"][0]
    assert prompt["weighted"] is True
    counts = truth.counts(1)
    population = {channel: len(t) for channel, t in TICKETS.items()}
    total = sum(population.values())
    for side in ("base", "head"):
        expected = sum(
            population[ch] / total * expected_rate(counts[side], "parse_failure", ch) for ch in population
        )
        assert prompt["rates"]["parse_failure"][side] == pytest.approx(expected, abs=1e-12)
        assert prompt["rates"]["parse_failure"][f"{side}_count"] == counts[side]["parse_failure"]
