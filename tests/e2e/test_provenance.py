"""Provenance in the report (issue 23, item 2) and the prompt-cache cold start of a model change (item 5), end to
end over real HTTP to loopback servers speaking the OpenAI and Anthropic wire formats.

- served ids and fingerprints are counted per side and summed at the top, with the provider's first and last time;
- a fingerprint that changes mid-review is a warning naming when and how many answers;
- a re-run from the cache reports the same counts (a cached answer keeps the provenance of when it was made);
- the Anthropic shape: its time comes from the `date` header;
- the cold start of a model change, in the report and in `--plan`, checked against a hand computation from the
  price table."""

from __future__ import annotations

import calendar
import json
import threading

import pytest

from tests.reports import assert_valid_report
from tests.servers import Reply, ScriptedServer, anthropic_message, openai_chat_completion

pytestmark = pytest.mark.e2e

ANSWER = json.dumps({"label": "billing"})
T0 = calendar.timegm((2026, 12, 7, 10, 0, 0))


def _prompt(word: str, model: str | None = None) -> str:
    return (
        (f"model: {model}\n" if model else "")
        + "messages:\n"
        + f"  - role: system\n    content: You triage tickets. Answer {word} in JSON with a label.\n"
        + "  - role: user\n    content: 'Ticket: {{ticket}}'\n"
    )


def _files(repo, model: str) -> None:
    rows = [{"id": f"t{i}", "ticket": f"ticket {i}"} for i in range(6)]
    repo.write("inputs.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    repo.write("old.prompt.yml", _prompt("strictly"))
    repo.write("new.prompt.yml", _prompt("cleanly"))
    repo.write(
        "promptreview.yml",
        f"version: 1\nmodel: {model}\nsamples: 2\nprompts:\n  - files: '*.prompt.yml'\n    suite: inputs.jsonl\n",
    )


def _side(body: dict) -> str:
    return "base" if "strictly" in json.dumps(body["messages"]) else "head"


class Rotating:
    """An OpenAI-compatible server that moves from fingerprint fp_a to fp_b after `switch` requests, each answer
    made two seconds after the one before; it records which side got which fingerprint when."""

    def __init__(self, switch: int, served: str = "gpt-4o-2024-08-06") -> None:
        self.switch, self.served = switch, served
        self.count = 0
        self.log: list[tuple[str, str, int]] = []  # (side, fingerprint, created)
        self._lock = threading.Lock()

    def __call__(self, request) -> Reply:
        with self._lock:
            index, self.count = self.count, self.count + 1
        fingerprint = "fp_a" if index < self.switch else "fp_b"
        created = T0 + 2 * index
        body = openai_chat_completion(ANSWER, model=self.served)
        body.update(system_fingerprint=fingerprint, created=created, id=f"chatcmpl-{index}")
        with self._lock:
            self.log.append((_side(request.json), fingerprint, created))
        return Reply(200, body)


def _clock(seconds: int, day: bool) -> str:
    import datetime

    stamp = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC" if day else "%H:%M:%S")


def _iso(seconds: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_fingerprints_counted_per_side_a_change_mid_review_says_when_and_a_cached_rerun_says_the_same(
    git_repo, run_cli
):
    _files(git_repo, "openai:gpt-4o-2024-08-06")
    server = Rotating(switch=13)
    args = ["compare", "old.prompt.yml", "new.prompt.yml", "--format", "json"]
    with ScriptedServer(server) as live:
        env = {"OPENAI_BASE_URL": f"{live.url}/v1", "OPENAI_API_KEY": "sk-test"}
        first = run_cli(args, git_repo.root, env)
    assert first.code == 0, first.err  # a warning, not a failure
    report = first.json()
    assert_valid_report(report)
    prompt = report["prompts"][0]
    expected_warnings = []
    for side in ("base", "head"):
        mine = [(fp, at) for s, fp, at in server.log if s == side]
        counts = {
            fp: sum(1 for f, _ in mine if f == fp) for fp in ("fp_a", "fp_b") if any(f == fp for f, _ in mine)
        }
        times = [at for _, at in mine]
        assert prompt["provenance"][side] == {
            "served": {"gpt-4o-2024-08-06": 12},
            "fingerprints": counts,
            "first": _iso(min(times)),
            "last": _iso(max(times)),
            "answers": 12,
        }
        if len(counts) == 2:
            until = max(at for fp, at in mine if fp == "fp_a")
            since = min(at for fp, at in mine if fp == "fp_b")
            expected_warnings.append(
                f"the model changed during the review ({side} side): fingerprint fp_a until "
                f"{_clock(until, True)}, fp_b from {_clock(since, False)} ({counts['fp_b']} of 12 answers)"
            )
    assert expected_warnings  # 24 answers, the switch after 13: at least one side saw both
    assert [w for w in prompt["warnings"] if "changed during" in w] == expected_warnings
    assert [w for w in report["warnings"] if "changed during" in w] == [
        f"new.prompt.yml: {w}" for w in expected_warnings
    ]
    # summed at the top, beside model.served
    assert report["model"]["provenance"] == {
        "served": {"gpt-4o-2024-08-06": 24},
        "fingerprints": {"fp_a": 13, "fp_b": 11},
        "first": _iso(T0),
        "last": _iso(T0 + 2 * 23),
        "answers": 24,
    }

    # the same review again, from the cache: no call, and the provenance of when the answers were made
    with ScriptedServer(Rotating(switch=0)) as live:
        env = {"OPENAI_BASE_URL": f"{live.url}/v1", "OPENAI_API_KEY": "sk-test"}
        again = run_cli(args, git_repo.root, env)
        text = run_cli(args[:-2], git_repo.root, env)
        assert live.requests == []
    assert again.json()["prompts"][0]["calls"]["cached"] == 24
    assert again.json()["prompts"][0]["provenance"] == prompt["provenance"]
    assert again.json()["model"]["provenance"] == report["model"]["provenance"]
    assert [w for w in again.json()["prompts"][0]["warnings"] if "changed during" in w] == expected_warnings
    # the terminal: the warning, and one line with the counts
    assert all(w in text.out for w in expected_warnings)
    served_line = [line.strip() for line in text.out.splitlines() if line.strip().startswith("served: ")]
    assert len(served_line) == 1 and "fp_a ×" in served_line[0] and "fp_b ×" in served_line[0]


def test_one_fingerprint_says_nothing_beyond_the_json(git_repo, run_cli):
    _files(git_repo, "openai:gpt-4o-2024-08-06")
    with ScriptedServer(Rotating(switch=10_000)) as live:
        env = {"OPENAI_BASE_URL": f"{live.url}/v1", "OPENAI_API_KEY": "sk-test"}
        text = run_cli(["compare", "old.prompt.yml", "new.prompt.yml"], git_repo.root, env)
    assert text.code == 0, text.err
    assert "changed during" not in text.out and "served: " not in text.out


def test_a_served_id_that_changes_mid_review_is_said_once_with_when(git_repo, run_cli):
    """A served id change was `served_several` (no when); now the one warning names when, not both."""
    _files(git_repo, "openai:gpt-4o-2024-08-06")
    lock = threading.Lock()
    count = [0]

    def handler(request) -> Reply:
        with lock:
            index = count[0]
            count[0] += 1
        served = "gpt-4o-2024-08-06" if index < 12 else "gpt-4o-2024-11-20"
        body = openai_chat_completion(ANSWER, model=served)
        body.update(created=T0 + index, system_fingerprint=None)
        return Reply(200, body)

    with ScriptedServer(handler) as live:
        env = {"OPENAI_BASE_URL": f"{live.url}/v1", "OPENAI_API_KEY": "sk-test"}
        result = run_cli(
            ["compare", "old.prompt.yml", "new.prompt.yml", "--format", "json"], git_repo.root, env
        )
    assert result.code == 0, result.err
    warnings = result.json()["prompts"][0]["warnings"]
    changed = [w for w in warnings if "changed during" in w]
    assert changed and all("served model gpt-4o-2024-08-06 until" in w for w in changed)
    sides = {w.split("(")[1].split(" side")[0] for w in changed}
    assert not any("served several models to the " + side in w for w in warnings for side in sides)


def test_the_anthropic_shape_takes_its_time_from_the_date_header(git_repo, run_cli):
    _files(git_repo, "anthropic:claude-sonnet-4-5-20250929")

    def handler(request) -> Reply:
        return Reply(
            200,
            anthropic_message(ANSWER),
            headers={"date": "Mon, 07 Dec 2026 10:14:03 GMT", "request-id": "req_011CUq7jX6cDk8hN1mZ8Y3pB"},
        )

    with ScriptedServer(handler) as live:
        env = {"ANTHROPIC_BASE_URL": live.url, "ANTHROPIC_API_KEY": "sk-ant-test"}
        result = run_cli(
            ["compare", "old.prompt.yml", "new.prompt.yml", "--format", "json"], git_repo.root, env
        )
    assert result.code == 0, result.err
    report = result.json()
    assert_valid_report(report)
    for side in ("base", "head"):
        assert report["prompts"][0]["provenance"][side] == {
            "served": {"claude-sonnet-4-5-20250929": 12},
            "fingerprints": {},
            "first": "2026-12-07T10:14:03Z",
            "last": "2026-12-07T10:14:03Z",
            "answers": 12,
        }


# -- the prompt-cache cold start of a model change ---------------------------------------------------------

BASE_MODEL = "openai:gpt-4o-mini-2024-07-18"  # the price table: input 0.15, cached input 0.075, output 0.60
HEAD_MODEL = "openai:gpt-4.1-mini-2025-04-14"  # the price table: input 0.40, cached input 0.10, output 1.60


def _migration_repo(repo) -> None:
    rows = [{"id": f"t{i}", "ticket": f"ticket {i}"} for i in range(6)]
    repo.write("inputs.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    repo.write(
        "promptreview.yml",
        f"version: 1\nmodel: {BASE_MODEL}\nmodels: [{BASE_MODEL}, {HEAD_MODEL}]\nsamples: 2\n"
        "prompts:\n  - files: '*.prompt.yml'\n    suite: inputs.jsonl\n",
    )
    repo.write("triage.prompt.yml", _prompt("strictly", BASE_MODEL))
    repo.commit("base")
    repo.write("triage.prompt.yml", _prompt("strictly", HEAD_MODEL))
    repo.commit("move to gpt-4.1-mini")


def _cache_warm_on_base(request) -> Reply:
    """The base model's cache serves 32 of 50 input tokens; the head's model, new to the cache, none."""
    body = request.json
    cached = 32 if body["model"] == BASE_MODEL.split(":")[1] else 0
    return Reply(
        200, openai_chat_completion(ANSWER, model=body["model"], prompt_tokens=50, cached_tokens=cached)
    )


def test_the_cold_start_of_a_model_change_is_estimated_from_the_base_sides_cached_share(git_repo, run_cli):
    _migration_repo(git_repo)
    check = ["check", "--base", "HEAD~1", "--head", "HEAD"]
    # before any call, and nothing in the cache: unknown
    plan = run_cli([*check, "--plan", "--format", "json"], git_repo.root)
    assert plan.code == 0, plan.err
    cold = plan.json()["plan"]["prompts"][0]["cold_start"]
    assert (cold["base_model"], cold["head_model"], cold["cached_share"]) == (BASE_MODEL, HEAD_MODEL, None)
    assert cold["extra_usd_per_1000_calls"] is None
    said = run_cli([*check, "--plan"], git_repo.root)
    assert f"prompt-cache cold start on {HEAD_MODEL}: unknown until the base side has run" in said.out

    with ScriptedServer(_cache_warm_on_base) as live:
        env = {"OPENAI_BASE_URL": f"{live.url}/v1", "OPENAI_API_KEY": "sk-test"}
        result = run_cli([*check, "--format", "json"], git_repo.root, env)
        text = run_cli(check, git_repo.root, env)
    assert result.code == 0, result.err
    report = result.json()
    assert_valid_report(report)
    # by hand: base cached 12 x 32 of 12 x 50 input tokens = 0.64; the head's 12 calls x 50 tokens, that share
    # at gpt-4.1-mini's full input price (0.40 per 1M) instead of its cached rate (0.10 per 1M)
    assert report["prompts"][0]["cold_start"] == {
        "base_model": BASE_MODEL,
        "head_model": HEAD_MODEL,
        "cached_share": 0.64,
        "head_prompt_tokens_per_call": 50.0,
        "head_calls": 12,
        "extra_usd_per_1000_calls": pytest.approx(1000 * 50 * 0.64 * 0.30 / 1e6, rel=1e-12),  # $0.0096
        "extra_usd": pytest.approx(12 * 50 * 0.64 * 0.30 / 1e6, rel=1e-12),  # $0.0001152
    }
    assert report["prompts"][0]["cold_start"]["extra_usd_per_1000_calls"] == pytest.approx(0.0096)
    assert (
        f"prompt-cache cold start on {HEAD_MODEL}: 64% of the base side's input tokens came from the provider's "
        "cache; until the head's cache warms that share costs the full input price: +$0.0096 per 1,000 calls "
        "(+$0.0001 for this review's 12 head calls)"
    ) in text.out

    # --plan again for a new head wording: the base side's answers are in the cache now, the head's are not
    git_repo.write("triage.prompt.yml", _prompt("cleanly", HEAD_MODEL))
    plan = run_cli(["check", "--base", "HEAD~1", "--plan", "--format", "json"], git_repo.root)
    assert plan.code == 0, plan.err
    prompt = plan.json()["plan"]["prompts"][0]
    head = prompt["sides"]["head"]
    assert head["uncached_calls"] == head["calls"] == 12
    per_call = head["prompt_tokens"] / 12  # the plan's estimate of the head's input tokens per call
    cold = prompt["cold_start"]
    assert cold["cached_share"] == 0.64 and cold["head_prompt_tokens_per_call"] == per_call
    assert cold["extra_usd_per_1000_calls"] == pytest.approx(1000 * per_call * 0.64 * (0.40 - 0.10) / 1e6)
    assert cold["extra_usd"] == pytest.approx(12 * per_call * 0.64 * (0.40 - 0.10) / 1e6)


def test_no_cold_start_when_both_sides_share_the_model(git_repo, run_cli):
    _files(git_repo, BASE_MODEL)
    with ScriptedServer(_cache_warm_on_base) as live:
        env = {"OPENAI_BASE_URL": f"{live.url}/v1", "OPENAI_API_KEY": "sk-test"}
        result = run_cli(
            ["compare", "old.prompt.yml", "new.prompt.yml", "--format", "json"], git_repo.root, env
        )
    assert "cold_start" not in result.json()["prompts"][0]


def test_no_cold_start_where_the_heads_price_has_no_cached_discount(git_repo, run_cli):
    """A free provider (here the simulator) loses nothing to a cold cache: no line, no field."""
    repo = git_repo
    rows = [{"id": f"t{i}", "ticket": f"ticket {i}"} for i in range(6)]
    repo.write("inputs.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    repo.write(
        "promptreview.yml",
        "version: 1\nmodel: sim:triage-v1\nmodels: [sim:triage-v1, sim:triage-v2]\nsamples: 2\n"
        "prompts:\n  - files: '*.prompt.yml'\n    suite: inputs.jsonl\n",
    )
    repo.write("triage.prompt.yml", _prompt("strictly", "sim:triage-v1"))
    repo.commit("base")
    repo.write("triage.prompt.yml", _prompt("strictly", "sim:triage-v2"))
    repo.commit("move to v2")
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"], repo.root)
    assert result.code in (0, 1), result.err
    prompt = result.json()["prompts"][0]
    assert (prompt["model"]["base"], prompt["model"]["head"]) == ("sim:triage-v1", "sim:triage-v2")
    assert "cold_start" not in prompt
