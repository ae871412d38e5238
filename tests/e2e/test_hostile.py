# ruff: noqa: F811  (pytest fixtures imported from other test modules)
"""Hostile pull requests, one test per attack of the security issue: each reproduced against loopback
servers and a fake GitHub, and each shown to fail now (nothing fetched, nothing leaked, no way around the gate).
"""

from __future__ import annotations

import base64
import json
import sqlite3

import pytest

from promptreview import secrets
from tests.e2e.test_ci import CI, ci, labeled, run  # noqa: F401
from tests.e2e.test_openai import OPENAI_MODEL, openai_answer
from tests.e2e_helpers import LOOSE, SCHEMA, STRICT, check, make_triage_repo, one_line, prompt_yml
from tests.fakegithub import FakeGitHub, fake_github  # noqa: F401
from tests.servers import Reply, ScriptedServer, openai_compatible_handler

pytestmark = pytest.mark.e2e

KEY = "sk-proj-HOSTILEtestKEY0123456789abcdefXYZ"


def counting_server() -> ScriptedServer:
    """Answers anything with a small JSON schema; every request it gets is recorded (the tests want none)."""
    return ScriptedServer(lambda request: Reply(200, {"type": "object"}))


# -- 1. schema $ref is never fetched ------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["config", "prompt"])
def test_a_remote_ref_is_refused_before_any_call_and_never_fetched(git_repo, run_cli, where):
    with counting_server() as server:
        ref = f"{server.url}/defs.json#/category"
        make_triage_repo(git_repo)
        schema = {**SCHEMA, "properties": {**SCHEMA["properties"], "category": {"$ref": ref}}}
        if where == "config":
            git_repo.write("data/schema.json", json.dumps(schema))
            git_repo.commit("schema with a remote ref (on the base: the config owns it)")
            git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
        else:
            text = prompt_yml(LOOSE) + f"jsonSchema: {json.dumps(json.dumps(schema))}\n"
            git_repo.write("prompts/triage.prompt.yml", text)
        git_repo.commit("head")
        result, report = check(run_cli, git_repo)
        assert result.code == 2
        line = one_line(result.err)
        assert ref in line and "never fetches" in line
        assert server.requests == []  # not one lookup


def test_a_file_ref_puts_no_local_file_into_the_report(git_repo, run_cli, tmp_path):
    secret_file = tmp_path / "secret.json"
    secret_file.write_text(json.dumps({"enum": ["TOPSECRET-CONTENT"]}))
    make_triage_repo(git_repo)
    schema = {**SCHEMA, "properties": {**SCHEMA["properties"], "category": {"$ref": secret_file.as_uri()}}}
    git_repo.write(
        "prompts/triage.prompt.yml", prompt_yml(LOOSE) + f"jsonSchema: {json.dumps(json.dumps(schema))}\n"
    )
    git_repo.commit("file ref")
    result, report = check(run_cli, git_repo)
    assert result.code == 2 and secret_file.as_uri() in one_line(result.err)
    assert "TOPSECRET" not in result.out + result.err


def test_a_ref_to_a_sibling_file_of_the_same_commit_is_bundled_and_enforced(git_repo, run_cli):
    make_triage_repo(git_repo, per_stratum=2, samples=1)
    git_repo.write("data/defs.json", json.dumps({"$defs": {"category": {"enum": ["billing", "technical"]}}}))
    schema = {
        **SCHEMA,
        "properties": {**SCHEMA["properties"], "category": {"$ref": "defs.json#/$defs/category"}},
    }
    git_repo.write("data/schema.json", json.dumps(schema))
    git_repo.commit("schema in two files")
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("head")
    result, report = check(run_cli, git_repo)
    assert result.code in (0, 1), result.err
    # the sim answers categories beyond the two the sibling allows: the bundled ref is enforced
    assert report["prompts"][0]["rates"]["schema_violation"]["base"] > 0


def test_a_ref_that_leaves_the_repository_through_dotdot_is_refused(git_repo, run_cli):
    make_triage_repo(git_repo)
    schema = {**SCHEMA, "properties": {**SCHEMA["properties"], "category": {"$ref": "../../../etc/passwd"}}}
    git_repo.write("data/schema.json", json.dumps(schema))
    git_repo.commit("base")
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("head")
    result, _ = check(run_cli, git_repo)
    assert result.code == 2 and "../../../etc/passwd" in one_line(result.err)


# -- 2. the API key never leaks -----------------------------------------------------------------------------


def _echo_headers(request) -> Reply:
    """A proxy that answers 200 with an HTML page quoting the request's headers, in the clear and encoded."""
    auth = request.headers.get("authorization", "") + request.headers.get("x-api-key", "")
    raw = auth.split(" ", 1)[-1]
    page = (
        f"<html><pre>{json.dumps(request.headers)}\nAuthorization: {auth}\n"
        f"basic: {base64.b64encode(f'user:{raw}'.encode()).decode()}\n"
        f"url: key%3D{raw.replace('-', '%2D')}</pre></html>"
    )
    return Reply(200, body=page, headers={"Content-Type": "text/html"})


def _everything(ci_: CI, result) -> str:
    # `::add-mask::` lines are the runner's instruction to hide a value, never shown in the log
    shown = [line for line in result.out.splitlines() if not line.startswith("::add-mask::")]
    parts = ["\n".join(shown), result.err]
    parts += [repr(call) for call in ci_.fake.calls]  # every request GitHub received, bodies included
    parts += [json.dumps(run_) for run_ in ci_.fake.check_runs.values()]
    parts += [json.dumps(c) for c in ci_.fake.comments.values()]
    for path in (ci_.summary, ci_.output):
        parts.append(path.read_text("utf-8") if path.exists() else "")
    report_dir = ci_.tmp / "runner-temp"
    for path in report_dir.rglob("*"):
        if path.is_file():
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    for db in (ci_.tmp / "cache").rglob("*.sqlite"):
        with sqlite3.connect(db) as conn:
            parts += [json.dumps(row) for row in conn.execute("SELECT * FROM completions")]
    return "\n".join(parts)


@pytest.mark.parametrize(
    "provider, model, base_env, key_env",
    [
        ("openai", f"openai:{OPENAI_MODEL}", "OPENAI_BASE_URL", "OPENAI_API_KEY"),
        ("anthropic", "anthropic:claude-sonnet-4-5-20250929", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"),
        ("github", "github:openai/gpt-4o-mini", None, "GITHUB_TOKEN"),
    ],
)
def test_a_provider_echoing_the_key_in_a_non_json_200_leaks_it_nowhere(
    ci, run_cli, provider, model, base_env, key_env
):  # noqa: F811
    with ScriptedServer(_echo_headers) as server:
        ci.base = make_triage_repo(ci.repo, model=model, per_stratum=1, samples=1,
                                   extra="allow_unpinned: true\nretry: {max_attempts: 2, base_delay: 0, max_delay: 0}\n")  # fmt: skip
        ci.repo.git("checkout", "-q", "-b", "feature")
        ci.repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
        ci.head = ci.repo.commit("head")
        extra = {key_env: KEY}
        if base_env:
            extra[base_env] = f"{server.url}/v1" if provider == "openai" else server.url
        else:
            extra["GITHUB_MODELS_BASE_URL"] = server.url
        if provider == "github":
            ci.fake.token = KEY
        result = run(run_cli, ci, ci.env(ci.event(), **extra))
        assert server.requests, "the provider was called"
        everything = _everything(ci, result)
        raw = KEY
        for form in (raw, base64.b64encode(f"user:{raw}".encode()).decode()[8:-4], raw.replace("-", "%2D")):
            assert form not in everything
        assert ci.outputs()["verdict"] in ("error", "invalid", "fail", "pass")


def test_credentials_in_the_base_url_leak_nowhere(ci, run_cli):  # noqa: F811
    """`OPENAI_BASE_URL=http://user:pw@proxy/v1`: the proxy echoes the headers (httpx sends the user-info as a
    `Basic` header) and the URL; neither the password nor its base64 reaches the comment, check, summary,
    outputs, reports, log or cache."""
    user, password = "proxy-user", "pr0xy-pa55w0rd-9"

    def echo(request) -> Reply:
        page = (
            f"<html><pre>{json.dumps(request.headers)}\nvia http://{user}:{password}@proxy.internal/v1</pre>"
        )
        return Reply(200, body=page + "</html>", headers={"Content-Type": "text/html"})

    with ScriptedServer(echo) as server:
        ci.base = make_triage_repo(ci.repo, model=f"openai:{OPENAI_MODEL}", per_stratum=1, samples=1,
                                   extra="retry: {max_attempts: 2, base_delay: 0, max_delay: 0}\n")  # fmt: skip
        ci.repo.git("checkout", "-q", "-b", "feature")
        ci.repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
        ci.head = ci.repo.commit("head")
        base_url = server.url.replace("http://", f"http://{user}:{password}@") + "/v1"
        result = run(run_cli, ci, ci.env(ci.event(), OPENAI_API_KEY=KEY, OPENAI_BASE_URL=base_url))
        assert server.requests, "the provider was called"
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        assert any(basic in json.dumps(dict(r.headers)) for r in server.requests), "httpx sent it as Basic"
        everything = _everything(ci, result)
        for form in (password, f"{user}:{password}", basic[4:-4], password.replace("-", "%2D")):
            assert form not in everything, form


def test_in_actions_every_credential_is_masked_before_anything_else(ci, run_cli):  # noqa: F811
    ci.pr(prompt_yml(LOOSE))
    result = run(run_cli, ci, ci.env(ci.event(), OPENAI_API_KEY=KEY))
    lines = result.out.splitlines()
    masks = [line for line in lines if line.startswith("::add-mask::")]
    assert f"::add-mask::{KEY}" in masks
    assert lines[: len(masks)] == masks  # before any other line


def test_the_scrubber_knows_the_obvious_encodings():
    secrets.remember(KEY)
    for text in (
        KEY,
        json.dumps({"k": KEY}),
        base64.b64encode(f"x:{KEY}".encode()).decode(),
        base64.b64encode(f"xy:{KEY}!".encode()).decode(),
        base64.urlsafe_b64encode(f"{KEY}".encode()).decode(),
        KEY.replace("-", "%2D"),
        f"Authorization: Bearer {KEY[:-3]}",
    ):
        scrubbed = secrets.scrub(text)
        assert KEY not in scrubbed and KEY[5:-5] not in scrubbed, text


# -- 3. the base commit owns the contract -------------------------------------------------------------------


def _loose_violations(body: dict) -> str:
    """Every answer to the head's (LOOSE) prompt breaks the base schema, but not a loosened one."""
    text = openai_answer(body)
    system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
    if "clean, parseable" in system:
        data = json.loads(
            openai_answer({"messages": [{"role": "system", "content": STRICT}, body["messages"][-1]]})
        )
        data["category"] = "whatever-i-like"
        return json.dumps(data)
    return text


def test_a_loosened_schema_file_does_not_loosen_the_gate(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}", per_stratum=4, samples=2)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    loose = {**SCHEMA, "properties": {**SCHEMA["properties"], "category": {"type": "string"}}}
    git_repo.write("data/schema.json", json.dumps(loose))
    git_repo.commit("loosen the prompt and the schema")
    with ScriptedServer(openai_compatible_handler(_loose_violations)) as server:
        result, report = check(run_cli, git_repo, {"OPENAI_BASE_URL": f"{server.url}/v1"})
    assert result.code == 1, result.err
    (prompt,) = report["prompts"]
    assert prompt["rates"]["schema_violation"]["head"] == 1.0
    notes = " ".join(prompt["notes"])
    assert "schema changed" in notes and "under the head's own schema, 0 of" in notes


def test_a_prompt_file_moving_itself_to_sim_in_ci_is_refused(ci, run_cli):  # noqa: F811
    ci.pr(prompt_yml(STRICT, model="sim:triage-v1?parse_failure=0"))
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 2
    assert ci.outputs()["verdict"] == "invalid"
    assert "offline simulator" in result.out
    (run_,) = ci.check_runs()
    assert run_["conclusion"] == "failure"


def test_a_model_migration_outside_the_allowed_models_is_refused(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}")
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT, model="openai:gpt-4.1-2025-04-14"))
    git_repo.commit("move to another model")
    with counting_server() as server:
        result, _ = check(run_cli, git_repo, {"OPENAI_BASE_URL": f"{server.url}/v1"})
        assert server.requests == []
    assert result.code == 2
    line = one_line(result.err)
    assert "model migration" in line and "gpt-4.1-2025-04-14" in line


def test_a_model_migration_the_base_config_lists_is_reviewed(git_repo, run_cli):
    make_triage_repo(git_repo, extra="models: [sim:triage-v1, sim:triage-v2]\n", per_stratum=2, samples=1)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT, model="sim:triage-v2"))
    git_repo.commit("migrate")
    result, report = check(run_cli, git_repo)
    assert result.code in (0, 1), result.err
    model = report["prompts"][0]["model"]
    assert (model["base"], model["head"]) == ("sim:triage-v1", "sim:triage-v2")


def test_an_added_broken_prompt_is_gated_on_absolute_ceilings(git_repo, run_cli):
    make_triage_repo(git_repo, extra="models: [sim:triage-v1, 'sim:triage-v1?parse_failure=0.35']\n")
    git_repo.git("rm", "-q", "prompts/triage.prompt.yml")
    git_repo.write("prompts/renamed.prompt.yml", prompt_yml(LOOSE, model="sim:triage-v1?parse_failure=0.35"))
    git_repo.commit("delete and add under a new name")
    result, report = check(run_cli, git_repo)
    assert result.code == 1, result.err
    added = next(p for p in report["prompts"] if p["change"] == "added")
    assert added["verdict"] == "fail"
    assert added["rates"]["parse_failure"]["max_rate"] == 0.05
    assert any("ceiling" in w for w in added["warnings"])


def test_a_small_added_prompt_says_the_point_estimate_decided(git_repo, run_cli):
    make_triage_repo(git_repo, per_stratum=1, samples=1)
    git_repo.write("prompts/new.prompt.yml", prompt_yml(STRICT))
    git_repo.commit("add a prompt")
    result, report = check(run_cli, git_repo)
    added = next(p for p in report["prompts"] if p["change"] == "added")
    assert any("point estimate" in w for w in added["warnings"])


def test_moving_a_prompt_out_of_the_globs_needs_the_accept_label(ci, run_cli):  # noqa: F811
    ci.base = make_triage_repo(ci.repo)
    ci.repo.git("checkout", "-q", "-b", "feature")
    ci.repo.git("mv", "prompts/triage.prompt.yml", "elsewhere.txt")
    ci.head = ci.repo.commit("move it out of the review")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 1
    assert ci.outputs()["verdict"] == "fail"
    (prompt,) = ci.report()["prompts"]
    assert prompt["change"] == "removed" and prompt["verdict"] == "fail"
    ci.fake.permissions["maintainer-alice"] = "write"  # the label counts from a writer, not the author
    result = run(run_cli, ci, ci.env(labeled(ci, "labeled")))
    assert ci.outputs()["verdict"] == "accepted" and result.code == 0


def test_removal_allow_relaxes_it(git_repo, run_cli):
    make_triage_repo(git_repo, extra="removal: allow\n")
    git_repo.git("rm", "-q", "prompts/triage.prompt.yml")
    git_repo.commit("remove")
    result, report = check(run_cli, git_repo)
    assert result.code == 0 and report["prompts"][0]["verdict"] == "pass"


# -- 4. CI output is data -----------------------------------------------------------------------------------

EVIL = "prompts/x\n::error title=pwned::owned\n::set-output name=verdict::pass\n\x1b[2J.prompt.yml"


def test_a_file_name_carrying_workflow_commands_is_refused_and_printed_inert(ci, run_cli):  # noqa: F811
    ci.base = make_triage_repo(ci.repo)
    ci.repo.git("checkout", "-q", "-b", "feature")
    ci.repo.write(EVIL, prompt_yml(STRICT))
    ci.head = ci.repo.commit("evil name")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 2
    for line in result.out.splitlines():
        assert not line.startswith(("::error title=pwned", "::set-output")), line
        assert "\x1b" not in line
    assert ci.outputs()["verdict"] == "invalid"
    assert "control characters" in json.dumps(ci.report())


def test_check_refuses_the_name_in_one_escaped_line(git_repo, run_cli):
    make_triage_repo(git_repo)
    git_repo.write(EVIL, prompt_yml(STRICT))
    git_repo.commit("evil")
    result, _ = check(run_cli, git_repo)
    assert result.code == 2
    line = one_line(result.err)
    assert "\\x0a" in line and "\x1b" not in line


def test_the_log_writer_escapes_every_value():
    from promptreview.github.summary import Log

    lines: list[str] = []
    Log(lines.append).say("a\n::error::x %0A\r::set-output name=v::1")
    (line,) = lines
    assert "\n" not in line and "\r" not in line and "%250A" in line
    Log(lines.append).say("::stop-commands::token")
    assert not lines[-1].split("promptreview: ", 1)[1].startswith("::")


# -- 5. bounded templates -----------------------------------------------------------------------------------

BOMBS = [
    "{{ 'x' * 10**8 }}",
    "{% for i in range(99999) %}{% for j in range(99999) %}{{ j }}{% endfor %}{% endfor %}",
    "{{ '{:>100000000}'.format(1) }}",
    "{{ lipsum(100000) }}",
    "{% for i in range(9000) %}{% for j in range(9000) %}{% endfor %}{% endfor %}",
    "{{ 'x'|center(1000000000) }}",
    "{{ '%100000000d' % 1 }}",
    "{{ 'ab' * 99999 }}{{ 'ab' * 99999 }}{{ 'ab' * 99999 }}",
]


@pytest.mark.parametrize("bomb", BOMBS)
def test_a_template_bomb_is_exit_2_before_any_call(git_repo, run_cli, bomb):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}")
    # Jinja renders in a plain template; a `.prompt.yml` fills only gh-models' `{{name}}` (no template language)
    config = git_repo.root / "promptreview.yml"
    config.write_text(config.read_text().replace("'prompts/**/*.prompt.yml'", "'prompts/**/*'"))
    git_repo.write("prompts/triage.j2", "{{ticket}} " + bomb)
    git_repo.commit("bomb")
    with counting_server() as server:
        result, _ = check(run_cli, git_repo, {"OPENAI_BASE_URL": f"{server.url}/v1"})
        assert server.requests == []
    assert result.code == 2
    assert "template" in one_line(result.err) or "max_request_chars" in result.err


def test_max_request_chars_caps_the_rendered_request(git_repo, run_cli):
    make_triage_repo(git_repo, extra="max_request_chars: 300\n")
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("head")
    result, _ = check(run_cli, git_repo)
    assert result.code == 2 and "max_request_chars = 300" in one_line(result.err)


# -- 6. GitHub faults never change the verdict --------------------------------------------------------------


class BrokenGitHub(FakeGitHub):
    """GitHub answering every request with a 5xx HTML page."""

    def __init__(self, status: int) -> None:
        super().__init__()
        self.status = status

    def dispatch(self, handler) -> None:
        self.calls.append(handler.path)  # type: ignore[arg-type]
        body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        handler.send_response(self.status)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


@pytest.mark.parametrize("status", [500, 502])
def test_an_api_outage_during_a_regression_keeps_the_verdict(git_repo, run_cli, tmp_path, status):
    fake = BrokenGitHub(status).serve()
    try:
        pr = CI(git_repo, fake, tmp_path)
        pr.base = make_triage_repo(
            git_repo, extra="models: [sim:triage-v1, 'sim:triage-v1?parse_failure=0.6']\n"
        )
        git_repo.git("checkout", "-q", "-b", "feature")
        git_repo.write(
            "prompts/triage.prompt.yml", prompt_yml(STRICT, model="sim:triage-v1?parse_failure=0.6")
        )
        pr.head = git_repo.commit("regress")
        result = run(run_cli, pr, pr.env(pr.event()))
    finally:
        fake.close()
    assert result.code == 1, result.out + result.err
    assert pr.outputs()["verdict"] == "fail"
    assert "::warning::promptreview could not" in result.out
    summary = pr.summary.read_text("utf-8")
    assert "GitHub could not be reached" in summary
    assert any("statuses" in str(c) for c in fake.calls)  # the status fallback was tried


def test_an_unreachable_api_keeps_the_verdict(git_repo, run_cli, tmp_path, fake_github):  # noqa: F811
    pr = CI(git_repo, fake_github, tmp_path)
    pr.base = make_triage_repo(git_repo, extra="models: [sim:triage-v1, 'sim:triage-v1?parse_failure=0.6']\n")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT, model="sim:triage-v1?parse_failure=0.6"))
    pr.head = git_repo.commit("regress")
    env = pr.env(pr.event(), GITHUB_API_URL="http://127.0.0.1:9")  # nothing listens on the discard port
    result = run(run_cli, pr, env)
    assert result.code == 1, result.out + result.err
    assert pr.outputs()["verdict"] == "fail"
    assert "could not" in pr.summary.read_text("utf-8")


# -- 8. smaller ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params", ["temperature: hot", "maxTokens: -5", "temperature: .inf", "topP: 7", "maxTokens: 1.5"]
)
def test_invalid_parameters_are_refused_before_any_call(git_repo, run_cli, params):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}")
    text = prompt_yml(STRICT).replace("  temperature: 0.7\n  max_tokens: 300\n", f"  {params}\n")
    git_repo.write("prompts/triage.prompt.yml", text)
    git_repo.commit("bad params")
    with counting_server() as server:
        result, _ = check(run_cli, git_repo, {"OPENAI_BASE_URL": f"{server.url}/v1"})
        assert server.requests == []
    assert result.code == 2
    assert params.split(":")[1].strip().lstrip(".") in one_line(result.err)


def test_a_suite_row_missing_a_value_names_the_row(git_repo, run_cli):
    make_triage_repo(git_repo)
    rows = (git_repo.root / "data/inputs.jsonl").read_text().splitlines()
    broken = json.loads(rows[3])
    broken["ticket"] = None
    rows[3] = json.dumps(broken)
    git_repo.write("data/inputs.jsonl", "\n".join(rows) + "\n")
    git_repo.commit("base with a hole")
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("head")
    result, _ = check(run_cli, git_repo, None, "--seed", "1")
    assert result.code == 2  # every row is sampled: the hole is found before any call
    line = one_line(result.err)
    assert broken["id"] in line and "ticket" in line and "None" not in line


def test_check_without_head_refuses_a_symlink_out_of_the_repository(git_repo, run_cli, tmp_path):
    make_triage_repo(git_repo)
    outside = tmp_path / "outside.prompt.yml"
    outside.write_text(prompt_yml(LOOSE))
    (git_repo.root / "prompts" / "triage.prompt.yml").unlink()
    (git_repo.root / "prompts" / "triage.prompt.yml").symlink_to(outside)
    result = run_cli(["check", "--base", "HEAD"], git_repo.root)
    assert result.code == 2
    assert "outside the repository" in one_line(result.err)


def test_a_usage_error_is_one_line(git_repo, run_cli):
    result = run_cli(["check", "--format", "yaml"], git_repo.root)
    assert result.code == 2 and one_line(result.err).startswith("promptreview: error:")


def test_output_into_a_missing_directory_fails_before_any_call(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}")
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("head")
    with counting_server() as server:
        result = run_cli(
            ["check", "--base", "HEAD~1", "--head", "HEAD", "--output", "nowhere/report.json"],
            git_repo.root,
            {"OPENAI_BASE_URL": f"{server.url}/v1"},
        )
        assert server.requests == []
    assert result.code == 2 and "does not exist" in one_line(result.err)


def test_terminal_output_escapes_control_characters(git_repo, run_cli):
    make_triage_repo(git_repo, per_stratum=1, samples=1)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE + " \x1b[31mred\x1b[0m"))
    git_repo.commit("head")
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "markdown"], git_repo.root)
    assert "\x1b" not in result.out + result.err


def test_a_model_answer_quoting_the_key_is_scrubbed_before_markdown_escaping(git_repo, run_cli, retry_waits):
    """A model answer that quotes the key: neither the key nor its Markdown-escaped form (`_` → `\\_`) is shown
    (answers are scrubbed as they arrive, before they are scored, cached or reported)."""
    key = "sk-proj-under_scored_KEY_0123456789abcdef"

    def echo_key(body: dict) -> str:
        answer = openai_answer(body)
        if not answer.startswith("{"):  # the loosened prompt's prose answers
            return f"{answer} My key is {key}."
        data = json.loads(answer)
        data["summary"] = f"my key is {key}"
        return json.dumps(data)

    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}", per_stratum=2, samples=1)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("head")
    with ScriptedServer(openai_compatible_handler(echo_key)) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": key}
        result = run_cli(
            ["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "markdown"], git_repo.root, env
        )
    assert server.requests and not retry_waits  # every answer quoted the key, none failed
    for form in (key, key.replace("_", "\\_"), "under_scored", "under\\_scored"):
        assert form not in result.out + result.err, form


# -- a response cache the pull request filled -------------------------------------------------------------


def _perfect(body: dict) -> str:
    """The attacker's own server: every answer, to any prompt, is what the strict prompt gets."""
    strict = {"messages": [{"role": "system", "content": STRICT}, body["messages"][-1]]}
    return openai_answer(strict)


def test_a_response_cache_filled_offline_with_fabricated_answers_is_not_used(ci, run_cli):
    """The pull request's author reviews the head once against their own server, which answers perfectly, and
    leaves that cache where the action restores it (a job the PR adds can save it under any key in the PR's
    scope). The real run must ask the real model again, find the regression, and say why it did not reuse the
    cache; a cache a run holding the real key sealed is reused."""
    ci.base = make_triage_repo(ci.repo, model=f"openai:{OPENAI_MODEL}", per_stratum=2, samples=2)
    ci.repo.git("checkout", "-q", "-b", "feature")
    ci.repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    ci.head = ci.repo.commit("loosen the prompt")
    with ScriptedServer(openai_compatible_handler(_perfect)) as fake_model:
        forged = run(run_cli, ci, ci.env(ci.event(), OPENAI_API_KEY="sk-the-attackers-own-key-000",
                                         OPENAI_BASE_URL=f"{fake_model.url}/v1"))  # fmt: skip
    assert forged.code == 0, forged.out + forged.err  # the fabricated answers pass
    assert list((ci.tmp / "cache").glob("*.sqlite"))

    with ScriptedServer(openai_compatible_handler(_loose_violations)) as real_model:
        env = ci.env(ci.event(), OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"{real_model.url}/v1")
        result = run(run_cli, ci, env)
        asked = len(real_model.requests)
    assert result.code == 1, result.out + result.err  # the regression is found: nothing was reused
    assert asked > 0
    assert "::warning::promptreview: the restored response cache was not used" in result.out
    # the real run sealed what it left: the next run with the same key reuses every answer
    with ScriptedServer(openai_compatible_handler(_loose_violations)) as real_model:
        again = run(
            run_cli, ci, ci.env(ci.event(), OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"{real_model.url}/v1")
        )
        assert again.code == 1 and real_model.requests == []
    assert "not used" not in again.out


def test_a_head_whose_calls_fail_is_a_failed_check_never_neutral(ci, run_cli):
    """Too many of the head's calls fail for a trustworthy verdict: the report's verdict is `error`, and the
    check fails naming it (GitHub would count `neutral` as passing the required check)."""

    def head_fails(request) -> Reply:
        system = next((m["content"] for m in request.json["messages"] if m["role"] == "system"), "")
        if "clean, parseable" in system:
            return Reply(500, {"error": {"message": "upstream exploded", "type": "server_error"}})
        return openai_compatible_handler(openai_answer)(request)

    ci.base = make_triage_repo(ci.repo, model=f"openai:{OPENAI_MODEL}", per_stratum=2, samples=1,
                               extra="retry: {max_attempts: 1, base_delay: 0, max_delay: 0}\n")  # fmt: skip
    ci.repo.git("checkout", "-q", "-b", "feature")
    ci.repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    ci.head = ci.repo.commit("head")
    with ScriptedServer(head_fails) as server:
        result = run(run_cli, ci, ci.env(ci.event(), OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"{server.url}/v1"))
    assert result.code == 3, result.out + result.err
    (check,) = ci.check_runs()
    assert check["conclusion"] == "failure"
    assert ci.report()["ci"]["verdict"] == "error" and ci.report()["ci"]["conclusion"] == "failure"
    assert "::error::promptreview: " in result.out
