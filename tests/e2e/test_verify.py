"""`promptreview verify` and `--cache-only`, end to end: a review against a loopback OpenAI-compatible server writes
report.json with its manifest; `verify` checks the digests at the report's commits and replays the review from the
cache while the provider fails every call (so not one call is made); each kind of tampering gives its own exit
code and a line naming what differs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import run_installed
from tests.e2e_helpers import LOOSE, STRICT, make_triage_repo, one_line, prompt_yml, suite_rows
from tests.fakegithub import fake_github  # noqa: F401
from tests.reports import assert_valid_report
from tests.servers import Reply, ScriptedServer, openai_compatible_handler, openai_error

pytestmark = pytest.mark.e2e  # runs whole reviews

MODEL = "gpt-4o-mini-2024-07-18"


def answer(body: dict) -> str:
    """Deterministic answers that differ by input: the loosened prompt answers most tickets in prose."""
    system = body["messages"][0]["content"]
    ticket = body["messages"][-1]["content"].lower()
    if "clean, parseable" in system and "?" not in ticket:
        return "Sure, I can help with that."
    category = (
        "billing" if "charge" in ticket or "refund" in ticket else "technical" if "app" in ticket else "other"
    )
    return json.dumps(
        {"category": category, "priority": "medium", "summary": ticket[:40], "needs_human": False}
    )


def failing(request) -> Reply:
    return Reply(500, openai_error("the model is down", type="server_error"))


@pytest.fixture
def recorded(git_repo, run_cli, tmp_path):
    """A reviewed change: the repo, the env that points at a provider failing every call, and the report."""
    make_triage_repo(git_repo, model=f"openai:{MODEL}", per_stratum=4, samples=2)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("loosen the format instruction")
    cache = {"PROMPTREVIEW_CACHE_DIR": str(tmp_path / "cache"), "OPENAI_API_KEY": "sk-test-verify"}
    report = git_repo.root / "report.json"
    with ScriptedServer(openai_compatible_handler(answer)) as server:
        result = run_cli(
            ["check", "--base", "HEAD~1", "--head", "HEAD", "--output", str(report)],
            git_repo.root,
            {**cache, "OPENAI_BASE_URL": f"{server.url}/v1"},
        )
    assert result.code == 1, result.err  # the prose answers fail the parse-failure gate
    assert len(server.requests) == 48
    down = ScriptedServer(failing).start()
    yield git_repo, {**cache, "OPENAI_BASE_URL": f"{down.url}/v1"}, report, down
    down.stop()


def verify(run_cli, repo, env, *args: str):
    result = run_cli(["verify", *args], repo.root, env)
    assert "Traceback" not in result.err
    return result


def test_the_report_carries_a_manifest_of_what_the_review_read(recorded):
    repo, _, report, _ = recorded
    data = json.loads(report.read_text())
    assert_valid_report(data)
    manifest = data["manifest"]
    sha = lambda raw: hashlib.sha256(raw).hexdigest()  # noqa: E731
    (prompt,) = manifest["prompts"]
    base_bytes = repo.git("show", "HEAD~1:prompts/triage.prompt.yml").encode()
    assert prompt["files"]["base"] == {"path": "prompts/triage.prompt.yml", "sha256": sha(base_bytes)}
    assert prompt["files"]["head"]["sha256"] == sha(prompt_yml(LOOSE).encode())
    assert prompt["schemas"]["base"] == prompt["schemas"]["head"] is not None
    assert prompt["rows"] == 12 and prompt["suite"] == "data/inputs.jsonl"
    assert manifest["config"] == {
        "path": "promptreview.yml",
        "sha256": sha((repo.root / "promptreview.yml").read_bytes()),
    }
    assert manifest["review"]["base"] == data["base"] and manifest["review"]["head"] == data["head"]
    assert manifest["requests"] == 48  # sides x 12 inputs x 2 samples, each its own request
    assert manifest["version"] and len(manifest["requests_sha256"]) == 64


def test_verify_replays_from_the_cache_with_no_model_call(recorded, run_cli):
    repo, env, report, down = recorded
    result = verify(run_cli, repo, env, str(report), "--cache-only")
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert down.requests == []  # the provider fails every call: not one was made
    assert "ok      requests: the same 48 requests (sha256 over their keys)" in lines
    assert "ok      replay: 48 completions, 48 from the response cache, 0 model calls" in lines
    assert "ok      verdict: fail" in lines
    assert any(line.startswith("ok      prompts/triage.prompt.yml: verdict fail and ") for line in lines)
    assert lines[-1] == "verify: every digest and number matches the report"
    assert not [line for line in lines if line.startswith("differs")]


def test_a_prompt_file_changed_at_the_commit_is_named(recorded, run_cli):
    repo, env, report, down = recorded
    repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE + " Be brief."))
    repo.commit("rewrite the head")
    result = verify(run_cli, repo, env, str(report), "--commit", "HEAD")
    assert result.code == 1, result.out + result.err
    differs = [line for line in result.out.splitlines() if line.startswith("differs")]
    assert differs[0].startswith(
        "differs prompts/triage.prompt.yml: head file: prompts/triage.prompt.yml sha256 "
    )
    assert any(line.startswith("differs requests: recorded 48") for line in differs)
    assert "info    replay: not run: the review would read other inputs than the report's" in result.out
    assert down.requests == []


def test_a_changed_suite_row_is_named(recorded, run_cli):
    repo, env, report, down = recorded
    rows = suite_rows()
    for (
        row
    ) in rows:  # every row: whichever the sample drew is changed (a row it did not draw changes nothing)
        row["ticket"] = row["ticket"].replace("e", "E", 1)
    # the suites are read at the head commit: the head is rewritten with the suite changed
    repo.write("data/inputs.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    repo.commit("edit the suite")
    result = verify(run_cli, repo, env, str(report), "--commit", "HEAD")
    assert result.code == 1, result.out + result.err
    assert "differs prompts/triage.prompt.yml: suite rows: recorded 12 rows (" in result.out
    assert "ok      prompts/triage.prompt.yml: head file" in result.out
    assert down.requests == []


def test_a_number_edited_in_the_report_is_named(recorded, run_cli, tmp_path):
    repo, env, report, down = recorded
    data = json.loads(report.read_text())
    recorded_rate = data["prompts"][0]["rates"]["parse_failure"]["head"]
    data["prompts"][0]["rates"]["parse_failure"]["head"] = 0.0
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    result = verify(run_cli, repo, env, str(edited))
    assert result.code == 1, result.out + result.err
    assert (
        f"differs prompts/triage.prompt.yml: rates.parse_failure.head: recorded 0.0, replayed {recorded_rate!r}"
        in result.out.splitlines()
    )
    assert result.out.splitlines()[-1] == "verify: 1 check differs from the report"
    assert down.requests == []


def test_an_emptied_cache_is_exit_3_naming_how_many_answers_are_missing(recorded, run_cli, tmp_path):
    repo, env, report, down = recorded
    result = verify(run_cli, repo, {**env, "PROMPTREVIEW_CACHE_DIR": str(tmp_path / "empty")}, str(report))
    assert result.code == 3, result.out + result.err
    assert one_line(result.err) == (
        "promptreview: error: the response cache lacks 48 of the 48 answers this review needs, and --cache-only "
        "refuses to call the model for them"
    )
    assert "ok      requests: the same 48 requests" in result.out  # the digests were checked first
    assert down.requests == []


def test_check_cache_only_answers_from_the_cache_or_refuses(recorded, run_cli, tmp_path):
    repo, env, report, down = recorded
    out = tmp_path / "again.json"
    args = ["check", "--base", "HEAD~1", "--head", "HEAD", "--cache-only", "--output", str(out)]
    again = run_cli(args, repo.root, env)
    assert again.code == 1, again.err  # the same verdict, every answer from the cache
    assert json.loads(out.read_text())["prompts"][0]["calls"]["cached"] == 48
    empty = run_cli(args, repo.root, {**env, "PROMPTREVIEW_CACHE_DIR": str(tmp_path / "empty")})
    assert empty.code == 3
    assert "lacks 48 of the 48 answers" in one_line(empty.err)
    assert json.loads(out.read_text())["verdict"] == "error"  # never a pass
    both = run_cli([*args, "--no-cache"], repo.root, env)
    assert both.code == 2
    assert one_line(both.err).endswith(
        "--cache-only answers from the response cache, so it cannot go with --no-cache"
    )
    assert down.requests == []


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "not a JSON report"),
        ('{"schema_version": 1}', "not a promptreview report: at (root): 'verdict' is a required property"),
        (
            json.dumps(
                {
                    "schema_version": 1,
                    "verdict": "error",
                    "model": {"spec": None, "served": [], "pinned": None},
                    "prompts": [],
                    "error": "the provider failed",
                }
            ),  # fmt: skip
            "the report has no manifest (verdict error: the provider failed)",
        ),
    ],
)
def test_a_file_that_is_no_verifiable_report_is_one_line_and_exit_2(
    git_repo, run_cli, tmp_path, content, says
):
    git_repo.write("README.md", "x")
    git_repo.commit("init")
    path = tmp_path / "report.json"
    path.write_text(content)
    result = verify(run_cli, git_repo, {}, str(path))
    assert result.code == 2
    assert says in one_line(result.err)


def test_the_console_script_verifies_without_a_key(recorded):
    repo, env, report, down = recorded
    result = run_installed(["verify", str(report)], repo.root, {**env, "OPENAI_API_KEY": ""})
    assert result.code == 0, result.out + result.err
    assert down.requests == []


def test_a_ci_report_verifies_at_the_base_config_it_was_reviewed_under(
    git_repo,
    fake_github,  # noqa: F811
    tmp_path,
    run_cli,
):
    """A `ci` run's report.json (config read at the base branch's tip) verifies from the run's cache after main
    moved on, and the comment says how to verify it."""
    from tests.e2e.test_ci import CI, FAILING_MODEL, SEALED

    ci = CI(git_repo, fake_github, tmp_path)
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    env = ci.env(ci.event("opened"), **SEALED)
    assert run_cli(["ci"], git_repo.root, env).code == 1
    report = json.loads(Path(ci.outputs()["report-path"]).read_text("utf-8"))
    assert report["manifest"]["review"]["config_revision"] == ci.base
    (comment,) = ci.comments()
    assert "promptreview verify report.json --cache-only" in comment["body"]
    git_repo.git("checkout", "-q", "main")
    git_repo.write(
        "promptreview.yml",
        (git_repo.root / "promptreview.yml").read_text().replace("samples: 3", "samples: 2"),
    )
    git_repo.commit("main moves on")
    result = run_cli(["verify", ci.outputs()["report-path"]], git_repo.root, {"GITHUB_ACTIONS": ""})
    assert result.code == 0, result.out + result.err
    assert "ok      verdict: fail" in result.out.splitlines()
