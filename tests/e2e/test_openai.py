"""`promptreview check` against real provider wire formats on loopback servers: the same report structure as
with `sim`, pinned-model refusals, and a served model that differs from the requested one."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import run_installed
from tests.e2e_helpers import LOOSE, STRICT, make_triage_repo, prompt_yml
from tests.reports import assert_valid_report
from tests.servers import (
    Reply,
    ScriptedServer,
    anthropic_compatible_handler,
    openai_compatible_handler,
    openai_schema_problem,
)

pytestmark = pytest.mark.e2e  # runs whole reviews; `pytest -m "not e2e"` skips them

OPENAI_MODEL = "gpt-4o-mini-2024-07-18"
ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929"


def triage(system: str, user: str) -> str:
    """A deterministic stand-in for the model: keyword triage; the loosened prompt answers refunds in prose."""
    ticket = user.lower()
    if "clean, parseable" in system and "refund" in ticket:
        return "Sure! This looks like a billing issue, I'd route it to the refunds team."
    category = "other"
    for word, name in (("charge", "billing"), ("refund", "billing"), ("invoice", "billing"), ("order", "shipping"),
                       ("deliver", "shipping"), ("package", "shipping"), ("crash", "technical"),
                       ("slow", "technical"), ("password", "account"), ("login", "account"), ("account", "account")):  # fmt: skip
        if word in ticket:
            category = name
            break
    return json.dumps(
        {
            "category": category,
            "priority": "high" if "!" in ticket or "never" in ticket else "medium",
            "summary": user[:80],
            "needs_human": category == "other",
        }  # fmt: skip
    )


def openai_answer(body: dict) -> str:
    system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
    return triage(system, body["messages"][-1]["content"])


def anthropic_answer(body: dict) -> str:
    return triage(body.get("system", ""), body["messages"][-1]["content"])


def shape(report: dict) -> dict:
    """The keys a report always has, at each level a script reads (values and data-dependent keys aside)."""
    prompt = report["prompts"][0]
    return {
        "report": set(report) - {"notes", "warnings"},
        "model": set(report["model"]),
        "prompt": set(prompt) - {"notes", "warnings"},
        "rates": {name: set(row) for name, row in prompt["rates"].items()},
        "calls": set(prompt["calls"]),
        "flip_rate": set(prompt["flip_rate"]),
        "strata": [set(s) for s in prompt["strata"]][:1],
        "stratum_rates": {name: set(row) for name, row in prompt["strata"][0]["rates"].items()},
        "distribution_shift_keys": [set(d) for d in prompt["distribution_shift"]][:1],
    }


def check(run_cli, repo, env, *extra):
    out = repo.root / f"report-{len(list(repo.root.glob('report-*.json')))}.json"
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "--output", str(out),
                      *extra], repo.root, env=env)  # fmt: skip
    assert "Traceback" not in result.err, result.err
    report = json.loads(out.read_text()) if out.exists() else None
    if report is not None:
        assert_valid_report(report)  # every report written, an error report included
    return result, report


@pytest.fixture
def edited_repo(git_repo):
    def make(model: str):
        make_triage_repo(git_repo, model=model, per_stratum=4, samples=2)
        git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
        git_repo.commit("loosen the format instruction")
        return git_repo

    return make


def test_openai_report_has_the_structure_of_a_sim_report(edited_repo, run_cli):
    repo = edited_repo(f"openai:{OPENAI_MODEL}")
    with ScriptedServer(openai_compatible_handler(openai_answer, validate=True)) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test-e2e"}
        result, real = check(run_cli, repo, env)
    assert result.code == 0, result.err  # the deterministic answers give a pass: no gate fails
    assert_valid_report(real)
    calls = 2 * 12 * 2  # sides x inputs (4 per stratum x 3 strata) x samples
    assert len(server.requests) == calls
    for request in server.requests:
        assert request.path == "/v1/chat/completions"
        assert request.headers["authorization"] == "Bearer sk-test-e2e"
        assert openai_schema_problem("CreateChatCompletionRequest", request.json) is None
        assert request.json["model"] == OPENAI_MODEL
    assert real["model"]["pinned"] is True and real["model"]["simulated"] is False
    assert real["model"]["served"] == [OPENAI_MODEL]
    (prompt,) = real["prompts"]
    assert prompt["calls"]["total"] == calls and prompt["calls"]["failed"] == 0
    assert prompt["rates"]["parse_failure"]["head"] > prompt["rates"]["parse_failure"]["base"] == 0
    assert not [w for w in real.get("warnings", []) if "served" in w]

    _, simulated = check(run_cli, repo, {}, "--model", "sim:triage-v1")
    assert_valid_report(simulated)
    assert shape(real) == shape(simulated)
    assert real["verdict"] == simulated["verdict"] == "pass"


def test_anthropic_check_through_anthropic_base_url(edited_repo):
    repo = edited_repo(f"anthropic:{ANTHROPIC_MODEL}")
    with ScriptedServer(anthropic_compatible_handler(anthropic_answer)) as server:
        env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test-e2e"}
        out = repo.root / "report.json"
        result = run_installed(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "--output",
                                str(out)], repo.root, env=env)  # fmt: skip
    assert result.code == 0, result.err  # the deterministic answers give a pass: no gate fails
    report = json.loads(out.read_text())
    assert_valid_report(report)
    assert report["verdict"] == "pass"
    assert report["model"]["served"] == [ANTHROPIC_MODEL] and report["model"]["pinned"] is True
    for request in server.requests:
        assert request.path == "/v1/messages" and request.headers["x-api-key"] == "sk-ant-test-e2e"
        assert request.json["system"] in (STRICT, LOOSE)
    assert report["prompts"][0]["calls"]["total"] == len(server.requests) == 48


@pytest.mark.parametrize(
    ("provider", "served"), [("openai", "gpt-4o-2024-08-06"), ("anthropic", "claude-haiku-4-5-20251001")]
)
def test_a_served_model_that_differs_is_reported(edited_repo, run_cli, provider, served):
    requested = OPENAI_MODEL if provider == "openai" else ANTHROPIC_MODEL
    repo = edited_repo(f"{provider}:{requested}")
    if provider == "openai":
        handler = openai_compatible_handler(openai_answer, served_model=served)
    else:
        handler = anthropic_compatible_handler(anthropic_answer, served_model=served)
    with ScriptedServer(handler) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test",
               "ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test"}  # fmt: skip
        result, report = check(run_cli, repo, env)
    assert result.code == 0, result.err  # the deterministic answers give a pass: no gate fails
    assert report["verdict"] == "pass" and report["model"]["served"] == [served]
    assert any(requested in w and served in w for w in report["warnings"]), report["warnings"]
    markdown = run_cli(
        ["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "markdown"], repo.root, env=env
    )
    assert served in markdown.out.replace(
        "\\", ""
    )  # cached answers: no server needed, and the mismatch is still said


@pytest.mark.parametrize(
    ("spec", "suggested"),
    [
        ("openai:gpt-4o", "gpt-4o-2024-11-20, gpt-4o-2024-08-06, gpt-4o-2024-05-13"),
        ("anthropic:claude-3-5-sonnet-latest", "claude-3-5-sonnet-20241022"),
        ("anthropic:claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
    ],
)
def test_floating_aliases_are_refused_with_the_pinned_ids(edited_repo, run_cli, spec, suggested):
    repo = edited_repo(spec)
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--plan"], repo.root,
                     env={"OPENAI_API_KEY": "sk-test", "ANTHROPIC_API_KEY": "sk-ant-test"})  # fmt: skip
    assert result.code == 2, result.out
    assert "floating alias" in result.err and suggested in result.err
    assert "allow_unpinned" in result.err


@pytest.mark.parametrize("spec", ["openai:gpt-4o-2024-08-06", "anthropic:claude-sonnet-4-5-20250929"])
def test_pinned_ids_are_accepted(edited_repo, run_cli, spec):
    repo = edited_repo(spec)
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--plan", "--format", "json"], repo.root)
    assert result.code == 0, result.err
    plan = result.json()["plan"]
    assert plan["calls"] == 48 and plan["cost_usd_max"] > 0


def test_unverifiable_model_on_a_compatible_server_needs_allow_unpinned(edited_repo, run_cli):
    repo = edited_repo("openai:llama-3.1-8b-instruct")
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--plan"], repo.root)
    assert result.code == 2 and "allow_unpinned" in result.err
    config = (repo.root / "promptreview.yml").read_text() + "allow_unpinned: true\n"
    repo.write("promptreview.yml", config)
    repo.commit("allow unpinned")
    repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT + " Be brief."))
    repo.commit("edit")
    with ScriptedServer(openai_compatible_handler(openai_answer)) as server:
        result, report = check(run_cli, repo, {"OPENAI_BASE_URL": f"{server.url}/v1"})
    assert result.code == 0, result.err  # the deterministic answers give a pass: no gate fails
    assert report["verdict"] == "pass" and report["model"]["pinned"] is False
    assert "authorization" not in server.requests[0].headers  # a local server: no key needed


def test_provider_outage_exits_3_and_bad_key_is_named_not_printed(edited_repo, run_cli):
    repo = edited_repo(f"openai:{OPENAI_MODEL}")
    key = "sk-test-VERYSECRET-0123456789"
    bad_key = Reply(401, {"error": {"message": f"Incorrect API key provided: {key}", "type": "invalid_request_error",
                                    "param": None, "code": "invalid_api_key"}})  # fmt: skip
    with ScriptedServer(lambda request: bad_key) as server:
        result, _ = check(run_cli, repo, {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": key})
    assert result.code == 3
    assert "OPENAI_API_KEY" in result.err and "VERYSECRET" not in result.err + result.out
    assert re.search(r"invalid", result.err)


def test_json_object_response_format_reaches_the_wire(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}", per_stratum=1, samples=1)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE) + "responseFormat: json_object\n")
    git_repo.commit("ask for a JSON object")
    with ScriptedServer(openai_compatible_handler(openai_answer, validate=True)) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test"}
        result, report = check(run_cli, git_repo, env)
    assert result.code == 0, result.err  # the deterministic answers give a pass: no gate fails
    assert report["verdict"] == "pass"
    formats = [r.json.get("response_format") for r in server.requests]
    head = [f for f in formats if f is not None]
    assert head and all(f == {"type": "json_object"} for f in head)
    assert len(head) == len(formats) // 2  # only the head side asks for it


def test_unreachable_provider_exits_3_quickly_and_still_writes_a_report(git_repo, run_cli, retry_waits):
    import socket

    with socket.socket() as probe:  # a port nothing listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}")  # the default retry policy
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit()
    env = {"OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1", "OPENAI_API_KEY": "sk-test"}
    result, report = check(run_cli, git_repo, env)
    assert result.code == 3
    assert "answered none of the first 5 calls" in result.err and len(result.err.strip().splitlines()) == 1
    assert report["verdict"] == "error" and report["prompts"] == [] and "answered none" in report["error"]
    # 5 attempts a call, after 0.5 s doubling (+-50 %): 4 waits for each of the first 5 calls, none slept here
    assert len(retry_waits) >= 4 * 5 and 0.25 <= min(retry_waits) and max(retry_waits) <= 4 * 1.5
