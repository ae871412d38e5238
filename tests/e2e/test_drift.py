"""`promptreview drift` (issue 23, item 4): the answers a review recorded against the same requests asked again
on the same pinned model. A local OpenAI-compatible server serves other weights behind the same model name
after a switch: drift fails (exit 1) and names what moved; unchanged, it passes (exit 0); nothing recorded is
exit 2 naming how to record; a provider that is down is exit 3. Real HTTP on loopback, real git repositories."""

from __future__ import annotations

import json
import threading

import pytest

from tests.conftest import run_installed
from tests.e2e_helpers import STRICT, check, make_triage_repo, one_line, prompt_yml
from tests.reports import assert_valid_report
from tests.servers import Reply, ScriptedServer, openai_chat_completion, openai_error

pytestmark = pytest.mark.e2e

MODEL = "gpt-4o-mini-2024-07-18"
KEY = {"OPENAI_API_KEY": "sk-test"}
CATEGORIES = (("charge", "billing"), ("refund", "billing"), ("invoice", "billing"), ("order", "shipping"),
              ("deliver", "shipping"), ("package", "shipping"), ("crash", "technical"), ("slow", "technical"),
              ("password", "account"), ("login", "account"), ("account", "account"))  # fmt: skip


class Weights:
    """An OpenAI-compatible model whose weights can be rotated behind its name: the served id stays the
    requested one, only `system_fingerprint` says so. The old weights triage by keyword; the new ones refuse
    every chat ticket and file billing under account and what is no category under technical."""

    def __init__(self) -> None:
        self.rotated = False
        self.asked = 0
        self._lock = threading.Lock()

    def __call__(self, request) -> Reply:
        body = request.json
        with self._lock:
            self.asked += 1
        ticket = body["messages"][-1]["content"]
        rotated = self.rotated
        category = next((name for word, name in CATEGORIES if word in ticket.lower()), "other")
        if rotated:
            category = {"billing": "account", "other": "technical"}.get(category, category)
        if rotated and ticket.startswith("Ticket (chat)"):
            sorry = "I'm sorry, I can't help with that."
            reply = openai_chat_completion(None, model=body["model"], refusal=sorry)
        else:
            answer = {
                "category": category,
                "priority": "medium",
                "summary": ticket[:80],
                "needs_human": False,
            }
            reply = openai_chat_completion(json.dumps(answer), model=body["model"])
        reply["system_fingerprint"] = "fp_new" if rotated else "fp_old"
        return Reply(200, reply)


def drift(run_cli, repo, env, *extra):
    out = repo.root / "drift.json"
    out.unlink(missing_ok=True)
    result = run_cli(["drift", "--format", "json", "--output", str(out), *extra], repo.root, env)
    assert "Traceback" not in result.err, result.err
    report = json.loads(out.read_text()) if out.exists() else None
    if report is not None:
        assert_valid_report(report)
    return result, report


def edited(repo) -> None:
    """The triage repository on the OpenAI model, and a prompt edit that a review then reviews (and records)."""
    make_triage_repo(repo, model=f"openai:{MODEL}")
    repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT + " Be brief."))
    repo.commit("edit the prompt")


def test_drift_fails_on_weights_rotated_behind_the_same_name_and_passes_while_they_stay(git_repo, run_cli):
    edited(git_repo)
    weights = Weights()
    with ScriptedServer(weights) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", **KEY}
        result, _ = check(run_cli, git_repo, env)  # the review records the answers drift compares against
        assert result.code == 0, result.err
        recorded = weights.asked

        result, report = drift(run_cli, git_repo, env)
        assert result.code == 0, result.err
        assert report["verdict"] == "pass"
        prompt = report["prompts"][0]
        calls = prompt["calls"]
        # the recorded side is read from the cache, the fresh side asked again: one request per input (`n`)
        assert calls["cached"] == calls["total"] // 2 and weights.asked > recorded
        said = next(n for n in report["notes"] if n.startswith("drift watch: base is the answers recorded "))
        assert "head the same requests asked again on " in said  # "recorded on" or "between" two minutes

        weights.rotated = True
        out = git_repo.root / "rotated.json"
        rotated = run_installed(["drift", "--output", str(out)], git_repo.root, env)
        text = run_installed(["drift"], git_repo.root, env)
    assert rotated.code == 1, rotated.err
    report = json.loads(out.read_text())
    assert_valid_report(report)
    assert report["verdict"] == "fail"
    prompt = report["prompts"][0]
    assert prompt["verdict"] == "fail" and prompt["rates"]["refusal"]["gate"] == "fail"
    assert prompt["rates"]["refusal"]["base"] == 0 and prompt["rates"]["refusal"]["head"] > 0.3
    # what moved among the answers the new weights still give (18 inputs are too few for the shift to count)
    shift = next(row for row in prompt["distribution_shift"] if row["field"] == "category")
    assert shift["base"]["billing"] > 0 and shift["head"]["billing"] == 0 and shift["head"]["technical"] > 3
    # the served id stayed the requested name on both sides: nothing but the answers says it changed
    assert prompt["model"]["served"] == {"base": [MODEL], "head": [MODEL]}
    # ... and the fingerprints the provider sent with them (provenance, kept in the cache with each answer)
    recorded, fresh = prompt["provenance"]["base"], prompt["provenance"]["head"]
    assert recorded["fingerprints"] == {"fp_old": 54} and fresh["fingerprints"] == {"fp_new": 54}
    assert recorded["served"] == fresh["served"] == {MODEL: 54}
    assert text.code == 1 and "drift watch" in text.out and "refusal" in text.out.splitlines()[0]
    assert "reproduce locally: promptreview drift" in text.out


def test_nothing_recorded_exits_2_and_says_how_then_record_fills_the_cache(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{MODEL}")
    weights = Weights()
    with ScriptedServer(weights) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", **KEY}
        result, report = drift(run_cli, git_repo, env)
        assert result.code == 2 and report is None
        line = one_line(result.err)
        assert "nothing recorded yet" in line and "promptreview drift --record" in line
        assert weights.asked == 0  # nothing is asked when there is nothing to compare against

        result, report = drift(run_cli, git_repo, env, "--record")
        assert result.code == 0, result.err
        assert report["verdict"] == "skipped"
        (prompt,) = report["prompts"]
        assert prompt["notes"] == ["recorded 54 answers (0 were recorded already, and stay as they were)"]
        asked = weights.asked

        result, report = drift(run_cli, git_repo, env, "--record")  # nothing left to record: no call
        assert result.code == 0 and weights.asked == asked
        assert report["prompts"][0]["notes"] == [
            "recorded 0 answers (54 were recorded already, and stay as they were)"
        ]

        result, report = drift(run_cli, git_repo, env)
    assert result.code == 0, result.err
    assert report["verdict"] == "pass" and report["prompts"][0]["verdict"] == "pass"


def test_a_prompt_with_nothing_recorded_is_listed_with_a_warning_never_passed(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{MODEL}")
    weights = Weights()
    with ScriptedServer(weights) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", **KEY}
        assert drift(run_cli, git_repo, env, "--record")[0].code == 0
        git_repo.write("prompts/other.prompt.yml", prompt_yml(STRICT + " Be kind."))
        git_repo.commit("a second prompt, never reviewed")
        result, report = drift(run_cli, git_repo, env)
        assert result.code == 0, result.err
        verdicts = {p["path"]: (p["verdict"], p["warnings"]) for p in report["prompts"]}
        assert verdicts["prompts/triage.prompt.yml"][0] == "pass"
        verdict, warnings = verdicts["prompts/other.prompt.yml"]
        assert verdict == "warn" and "nothing recorded yet" in warnings[0] and "--record" in warnings[0]

        # --prompts narrows the watch to the files it matches
        result, report = drift(run_cli, git_repo, env, "--prompts", "prompts/other*")
        assert result.code == 2 and "nothing recorded yet" in one_line(result.err)
        result, report = drift(run_cli, git_repo, env, "--prompts", "prompts/none*")
    assert result.code == 2 and "--prompts 'prompts/none*' matches no prompt file" in one_line(result.err)


def test_provider_down_exits_3_never_a_pass(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{MODEL}")
    with ScriptedServer(Weights()) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", **KEY}
        assert drift(run_cli, git_repo, env, "--record")[0].code == 0
    down = Reply(500, openai_error("The server had an error", type="server_error"))
    with ScriptedServer(lambda request: down) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", **KEY}
        result, report = drift(run_cli, git_repo, env)
    assert result.code == 3, result.err
    assert "answered none" in one_line(result.err)
    assert report is not None and report["verdict"] == "error"


def test_drift_without_the_cache_is_bad_input(git_repo, run_cli):
    make_triage_repo(git_repo)
    result, _ = drift(run_cli, git_repo, {}, "--no-cache")
    assert result.code == 2 and "--no-cache" in one_line(result.err)
    result, _ = drift(run_cli, git_repo, {}, "--record", "--plan")
    assert result.code == 2 and "--record or --plan" in one_line(result.err)


def test_verify_replays_a_drift_run_from_the_cache_with_its_own_fresh_answers(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{MODEL}")
    weights = Weights()
    with ScriptedServer(weights) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", **KEY}
        assert drift(run_cli, git_repo, env, "--record")[0].code == 0
        weights.rotated = True
        result, report = drift(run_cli, git_repo, env)
    assert result.code == 1, result.err
    spec = report["manifest"]["review"]
    assert (
        spec["command"] == "drift"
        and spec["asked_at"]
        and spec["head"] == git_repo.git("rev-parse", "HEAD").strip()
    )
    # when the recorded answers were made and when asked again, as data (the note says it in words)
    window = report["drift"]
    assert window["recorded_from"] <= window["recorded_to"] <= window["asked_at"]
    assert window["asked_at"].endswith("Z") and spec["asked_at"].startswith(window["asked_at"][:-1])
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT + " Be brief."))
    git_repo.commit("an edit after the drift run: verify reads the commit the run watched")
    down = Reply(500, openai_error("The server had an error", type="server_error"))
    with ScriptedServer(lambda request: down) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", **KEY}
        verified = run_cli(["verify", str(git_repo.root / "drift.json")], git_repo.root, env)
    assert not server.requests  # recorded and fresh answers alike come from the cache
    assert verified.code == 0, verified.out + verified.err
    assert (
        "ok      verdict: fail" in verified.out and "ok      requests: the same 108 requests" in verified.out
    )
