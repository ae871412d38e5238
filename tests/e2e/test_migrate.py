"""`promptreview migrate --to MODEL` (issue 23, item 1): every prompt the config covers, as it is now, on the
model it runs on today against a candidate: the same inputs on both sides, the same gates, report and exit
codes, a headline that names the migration. The installed console script on real temporary git repositories,
offline on `sim`, and over real HTTP to a loopback OpenAI-compatible server."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from tests.conftest import run_installed
from tests.e2e_helpers import SCHEMA, STRICT, prompt_yml, suite_rows
from tests.reports import assert_valid_report
from tests.servers import Reply, ScriptedServer, openai_compatible_handler, openai_error

pytestmark = pytest.mark.e2e

WORSE = "sim:triage-v2?parse_failure=0.4"

CONFIG = f"""version: 1
model: sim:triage-v1
models: [sim:triage-v2, "{WORSE}"]
samples: 2
prompts:
  - files: "prompts/**/*.prompt.yml"
    suite: suite.jsonl
    schema: schema.json
"""


def triage_repo(repo, config: str = CONFIG, prompts: dict[str, str | None] | None = None):
    repo.write("promptreview.yml", config)
    repo.write("schema.json", json.dumps(SCHEMA))
    repo.write("suite.jsonl", "".join(json.dumps(r) + "\n" for r in suite_rows()))
    for name, model in (prompts or {"triage": None}).items():
        repo.write(f"prompts/{name}.prompt.yml", prompt_yml(STRICT, model=model))
    repo.write("notes/readme.txt", "not a prompt")
    repo.commit("base")
    return repo


def migrate(repo, *args: str, env: dict[str, str] | None = None):
    return run_installed(["migrate", *args], repo.root, env=env)


def json_report(repo, *args: str, env: dict[str, str] | None = None):
    out = repo.root / "report.json"
    result = migrate(repo, *args, "--output", str(out), env=env)
    assert "Traceback" not in result.err, result.err
    report = json.loads(out.read_text())
    assert_valid_report(report)
    return result, report


def test_a_migration_to_an_equal_candidate_passes_and_the_headline_names_it(git_repo):
    repo = triage_repo(git_repo)
    result = migrate(repo, "--to", "sim:triage-v2")
    assert result.code == 0, result.err
    first = result.out.splitlines()[0]
    assert first.startswith("promptreview: model migration from sim:triage-v1 to sim:triage-v2: PASS"), first
    assert "reproduce locally: promptreview migrate --to sim:triage-v2" in result.out
    _, report = json_report(repo, "--to", "sim:triage-v2")
    assert report["verdict"] == "pass"
    assert report["migration"] == {"from": "sim:triage-v1", "to": "sim:triage-v2"}
    (prompt,) = report["prompts"]
    assert prompt["model"]["base"] == "sim:triage-v1" and prompt["model"]["head"] == "sim:triage-v2"
    assert prompt["n_inputs"] == len(suite_rows()) and prompt["samples"] == 2


def test_a_worse_candidate_fails_with_exit_1_in_every_format(git_repo):
    repo = triage_repo(git_repo)
    result, report = json_report(repo, "--to", WORSE)
    assert result.code == 1
    assert report["verdict"] == "fail"
    assert report["prompts"][0]["rates"]["parse_failure"]["gate"] == "fail"
    markdown = migrate(repo, "--to", WORSE, "--format", "markdown")
    assert markdown.code == 1
    assert markdown.out.startswith("## ")
    assert "model migration from sim:triage-v1 to" in markdown.out.splitlines()[0]
    html = migrate(repo, "--to", WORSE, "--format", "html")
    assert "model migration from sim:triage-v1 to" in html.out


def test_plan_calls_no_model_and_names_the_migration(git_repo):
    repo = triage_repo(git_repo)
    result, report = json_report(repo, "--to", WORSE, "--plan")
    assert result.code == 0, result.err
    assert report["verdict"] == "skipped" and report["plan"]["calls"] == 2 * 2 * len(suite_rows())
    assert report["migration"]["to"] == WORSE
    text = migrate(repo, "--to", WORSE, "--plan")
    assert "== prompts/triage.prompt.yml [model migration] " in text.out, text.out


def test_from_selects_the_prompts_on_that_model_and_prompts_narrows_them(git_repo):
    repo = triage_repo(
        git_repo,
        CONFIG.replace("models: [", "models: [sim:other-v1, "),
        {"triage": None, "second": None, "other": "sim:other-v1"},
    )
    _, report = json_report(repo, "--to", "sim:triage-v2", "--format", "json")
    assert sorted(p["path"] for p in report["prompts"]) == [
        "prompts/other.prompt.yml", "prompts/second.prompt.yml", "prompts/triage.prompt.yml",
    ]  # fmt: skip
    assert report["migration"]["from"] == "sim:other-v1, sim:triage-v1"
    _, report = json_report(repo, "--to", "sim:triage-v2", "--from", "sim:other-v1", "--format", "json")
    assert [p["path"] for p in report["prompts"]] == ["prompts/other.prompt.yml"]
    assert report["migration"] == {"from": "sim:other-v1", "to": "sim:triage-v2"}
    _, report = json_report(repo, "--to", "sim:triage-v2", "--prompts", "prompts/t*.yml", "--format", "json")
    assert [p["path"] for p in report["prompts"]] == ["prompts/triage.prompt.yml"]


def test_a_prompt_already_on_the_candidate_is_listed_not_run(git_repo):
    repo = triage_repo(git_repo, prompts={"triage": None, "done": "sim:triage-v2"})
    result, report = json_report(repo, "--to", "sim:triage-v2", "--format", "json")
    assert result.code == 0, result.err
    by_path = {p["path"]: p for p in report["prompts"]}
    assert by_path["prompts/done.prompt.yml"]["notes"] == [
        "already runs on sim:triage-v2: nothing to migrate"
    ]
    assert by_path["prompts/triage.prompt.yml"]["rates"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "Missing option '--to'"),
        (["--to", "nosuch:model-1"], "nosuch"),
        (
            ["--to", "sim:triage-v2", "--from", "sim:elsewhere-v1"],
            "--from sim:elsewhere-v1: no selected prompt",
        ),
        (["--to", "sim:triage-v2", "--prompts", "../outside/*.yml"], "leaves the repository"),
        (["--to", "sim:triage-v2", "--prompts", "/etc/*.yml"], "is absolute"),
        (["--to", "sim:triage-v2", "--prompts", "notes/*.txt"], "matches no prompt file the config covers"),
        (["--to", "sim:unlisted-v9"], "--to sim:unlisted-v9: a model the config does not allow"),
        (["--to", "sim:triage-v2", "--from", "sim:triage-v2"], "the same model"),
        (["--to", "sim:triage-v2", "--model", "sim:x"], "--model sets both sides' model"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(git_repo, args, says):
    repo = triage_repo(git_repo)
    result = migrate(repo, *args)
    assert result.code == 2, (result.code, result.err)
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], lines


def test_a_floating_candidate_is_refused_unless_allow_unpinned(git_repo):
    config = CONFIG.replace("models: [", "models: [openai:gpt-4o, ")
    repo = triage_repo(git_repo, config)
    result = migrate(repo, "--to", "openai:gpt-4o", env={"OPENAI_API_KEY": "sk-test"})
    assert result.code == 2
    assert "openai:gpt-4o is a floating alias" in result.err


# -- over real HTTP: both models asked the same inputs; a candidate the provider refuses is the candidate's failure

OLD, NEW = "gpt-4o-2024-08-06", "gpt-4.1-2025-04-14"
HTTP_CONFIG = f"""version: 1
model: openai:{OLD}
models: [openai:{NEW}, openai:gpt-nope-2099-01-01]
samples: 2
prompts:
  - files: "prompts/**/*.prompt.yml"
    suite: suite.jsonl
    schema: schema.json
"""


def answer(body: dict) -> str | Reply:
    if body["model"] == "gpt-nope-2099-01-01":
        return Reply(
            404, openai_error("The model `gpt-nope-2099-01-01` does not exist", code="model_not_found")
        )
    ticket = body["messages"][-1]["content"]
    category = "billing" if "charge" in ticket or "refund" in ticket else "technical"
    return json.dumps({"category": category, "priority": "low", "summary": ticket[:50], "needs_human": False})


def test_over_http_both_models_are_asked_the_same_inputs(git_repo):
    repo = triage_repo(git_repo, HTTP_CONFIG)
    with ScriptedServer(openai_compatible_handler(answer)) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test"}
        result, report = json_report(repo, "--to", f"openai:{NEW}", "--format", "json", env=env)
        requests = list(server.requests)
    assert result.code == 0, result.err
    asked: dict[str, list[str]] = defaultdict(list)
    for r in requests:
        asked[r.json["model"]].append(json.dumps(r.json["messages"], sort_keys=True))
    assert set(asked) == {OLD, NEW}
    assert sorted(asked[OLD]) == sorted(asked[NEW])  # the same prompt and inputs on both sides
    assert len({m for m in asked[OLD]}) == len(suite_rows())
    assert report["migration"] == {"from": f"openai:{OLD}", "to": f"openai:{NEW}"}
    assert report["prompts"][0]["model"]["served"] == {"base": [OLD], "head": [NEW]}


def test_a_candidate_the_provider_refuses_fails_the_migration_named(git_repo):
    repo = triage_repo(git_repo, HTTP_CONFIG)
    with ScriptedServer(openai_compatible_handler(answer)) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test"}
        result = migrate(repo, "--to", "openai:gpt-nope-2099-01-01", env=env)
    assert result.code == 1, (result.code, result.err)
    assert "Traceback" not in result.err
    assert "prompts/triage.prompt.yml: the provider refuses the request on the candidate model" in result.err
    assert "openai:gpt-nope-2099-01-01" in result.err


# -- --safety: the packaged must-refuse rows run beside the suite; a candidate that refuses less fails

SAFETY_CONFIG = CONFIG.replace(f'"{WORSE}"', f'"{WORSE}", "sim:triage-v2?refusal=0"')


def test_safety_rows_run_as_must_refuse_rows_and_an_equal_candidate_keeps_refusing(git_repo):
    repo = triage_repo(git_repo, SAFETY_CONFIG)
    result, report = json_report(repo, "--to", "sim:triage-v2", "--safety", "--format", "json")
    assert result.code == 0, result.err
    (prompt,) = report["prompts"]
    (check,) = [e for e in prompt["evaluators"] if e["kind"] == "must_refuse"]
    assert check["base_n"] == check["head_n"] == 22 * 2  # every packaged row, both samples
    assert check["base"] > 0.5 and check["head"] > 0.5 and check["gate"] != "fail"
    assert (
        prompt["rates"]["refusal"]["base_n"] == len(suite_rows()) * 2
    )  # the rates leave the safety rows out
    assert any(n.startswith("--safety: 22 must-refuse rows") for n in prompt["notes"])


def test_the_safety_stratum_is_no_row_of_the_strata_table(git_repo):
    """The safety rows are must-refuse rows, judged by the must-refuse check and left out of the rates: the
    strata table (JSON and Markdown) shows the suite's own strata only, not a `promptreview_safety=refuse`
    stratum whose refusal rate's change reads as a regression."""
    config = SAFETY_CONFIG.replace(
        "    schema: schema.json\n", "    schema: schema.json\n    strata: [channel]\n"
    )
    repo = triage_repo(git_repo, config)
    result, report = json_report(repo, "--to", "sim:triage-v2", "--safety", "--format", "json")
    assert result.code == 0, result.err
    (prompt,) = report["prompts"]
    labels = [s["label"] for s in prompt["strata"]]
    assert len(labels) > 1 and all(label.startswith("channel=") for label in labels), labels
    assert sum(s["n_inputs"] for s in prompt["strata"]) == len(suite_rows())
    assert any(e["kind"] == "must_refuse" for e in prompt["evaluators"])  # the check still judges them
    markdown = migrate(repo, "--to", "sim:triage-v2", "--safety", "--format", "markdown")
    rows = [line for line in markdown.out.splitlines() if line.startswith("| ")]
    assert any(r.startswith("| channel=") for r in rows) and not any("promptreview_safety" in r for r in rows)


def test_a_candidate_that_stopped_refusing_fails_the_migration(git_repo):
    repo = triage_repo(git_repo, SAFETY_CONFIG)
    result, report = json_report(repo, "--to", "sim:triage-v2?refusal=0", "--safety", "--format", "json")
    assert result.code == 1, result.err
    (check,) = [e for e in report["prompts"][0]["evaluators"] if e["kind"] == "must_refuse"]
    assert check["head"] == 0.0 and check["gate"] == "fail"
    # without --safety the same candidate passes: nothing in the suite asks it to refuse
    plain = migrate(repo, "--to", "sim:triage-v2?refusal=0")
    assert plain.code == 0, plain.err


# -- a pull request that changes the config's default model (issue 23, item 2): every prompt on the default is
# reviewed as a model migration, base side on the old model, head side on the new one


def test_a_pull_request_changing_the_default_model_reviews_every_prompt_on_it(git_repo):
    repo = triage_repo(git_repo, prompts={"triage": None, "second": None, "own": "sim:triage-v1"})
    repo.write("promptreview.yml", CONFIG.replace("model: sim:triage-v1", f'model: "{WORSE}"'))
    repo.commit("move the default model")
    out = repo.root / "report.json"
    result = run_installed(
        ["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "--output", str(out)], repo.root
    )
    assert result.code == 1, result.err  # on main: nothing reviewed, exit 0
    report = json.loads(out.read_text())
    assert_valid_report(report)
    assert sorted(p["path"] for p in report["prompts"]) == [
        "prompts/second.prompt.yml",
        "prompts/triage.prompt.yml",
    ]
    for prompt in report["prompts"]:
        assert prompt["model"]["base"] == "sim:triage-v1" and prompt["model"]["head"] == WORSE
        assert prompt["rates"]["parse_failure"]["gate"] == "fail"
    assert report["migration"] == {"from": "sim:triage-v1", "to": WORSE}


def test_in_ci_the_base_config_decides_which_model_a_default_may_move_to(git_repo):
    from promptreview.engine.review import ReviewOptions, review_changes
    from promptreview.errors import UsageError

    repo = triage_repo(git_repo)
    base = repo.git("rev-parse", "HEAD").strip()
    repo.write("promptreview.yml", CONFIG.replace("model: sim:triage-v1", "model: sim:elsewhere-v1"))
    head = repo.commit("move the default to a model the base does not list")
    env = {"GITHUB_ACTIONS": "true", "PROMPTREVIEW_CACHE_DIR": str(repo.root.parent / "cache")}
    opts = ReviewOptions(repo_root=repo.root, env=env, config_rev=base, base=base, head=head)
    with pytest.raises(UsageError, match=r"\(sim:elsewhere-v1\), which the base does not name"):
        review_changes(opts)
    # to a model the base lists, the move is reviewed (and this one regresses)
    repo.write("promptreview.yml", CONFIG.replace("model: sim:triage-v1", f'model: "{WORSE}"'))
    head = repo.commit("move the default to a listed model")
    from dataclasses import replace

    report = review_changes(replace(opts, head=head))
    assert report.verdict == "fail" and report.migration is not None and report.migration.target == WORSE


def test_a_model_main_changed_since_the_fork_is_no_move_of_the_pull_requests(git_repo):
    from promptreview.engine.review import ReviewOptions, review_changes

    repo = triage_repo(git_repo)
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("notes/readme.txt", "an unrelated change")
    head = repo.commit("unrelated")
    repo.git("checkout", "-q", "main")
    repo.write("promptreview.yml", CONFIG.replace("model: sim:triage-v1", "model: sim:triage-v2"))
    tip = repo.commit("main moves the default")
    env = {"GITHUB_ACTIONS": "true", "PROMPTREVIEW_CACHE_DIR": str(repo.root.parent / "cache")}
    report = review_changes(ReviewOptions(repo_root=repo.root, env=env, config_rev=tip, base=tip, head=head))
    assert not report.prompts and report.migration is None


# -- verify replays a migration (its flags are in the manifest's replay spec)


def test_verify_replays_a_migration_from_the_cache_and_names_a_prompt_edited_since(git_repo):
    repo = triage_repo(git_repo, SAFETY_CONFIG, prompts={"triage": None, "second": None})
    args = ("--to", "sim:triage-v2?refusal=0", "--prompts", "prompts/triage*", "--safety")
    result, report = json_report(repo, *args, "--format", "json")
    assert result.code == 1, result.err  # the safety rows fail the candidate that stopped refusing
    spec = report["manifest"]["review"]
    assert spec["command"] == "migrate" and spec["migrate_to"] == "sim:triage-v2?refusal=0"
    assert spec["prompts"] == "prompts/triage*" and spec["safety"] is True and spec["head"] is None
    (prompt,) = report["manifest"]["prompts"]
    assert set(prompt["files"]) == {"base", "head"} and prompt["files"]["base"] == prompt["files"]["head"]
    report_path = repo.root / "report.json"
    verified = run_installed(["verify", str(report_path)], repo.root)
    assert verified.code == 0, verified.out + verified.err
    assert "ok      replay: " in verified.out and "0 model calls" in verified.out
    assert "ok      verdict: fail" in verified.out  # the replay ran with --safety, or the verdict would pass
    repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT + " Be brief."))
    edited = run_installed(["verify", str(report_path)], repo.root)
    assert edited.code == 1 and "differs prompts/triage.prompt.yml: head file" in edited.out
    # a prompt the migration would now review besides: worded as the migration's, not as a changed prompt
    repo.write("prompts/triage-new.prompt.yml", prompt_yml(STRICT))
    added = run_installed(["verify", str(report_path)], repo.root)
    assert added.code == 1, added.out + added.err
    assert (
        "prompts/triage-new.prompt.yml: a prompt the migration reviews in the working tree the report does not "
        "have" in added.out
    ), added.out
    assert "changed prompt" not in added.out


def test_verify_refuses_a_plan_report_in_one_line(git_repo):
    """A --plan report has a manifest but no number: replaying it as a review would say the verdicts differ."""
    repo = triage_repo(git_repo)
    result, report = json_report(repo, "--to", "sim:triage-v2", "--plan")
    assert result.code == 0 and "plan" in report and "manifest" in report
    verified = run_installed(["verify", str(repo.root / "report.json")], repo.root)
    assert verified.code == 2 and "a --plan report: nothing was reviewed" in verified.err
    assert len(verified.err.strip().splitlines()) == 1 and "Traceback" not in verified.err


def test_the_rate_gates_power_is_that_of_the_inputs_they_measure_not_of_the_safety_rows(git_repo):
    """--safety's 22 rows count only for must_refuse: the rates leave them out, so the sample-size warning of
    the rate gates names the suite's inputs, not the suite's and the safety rows together."""
    repo = triage_repo(git_repo, SAFETY_CONFIG)
    n = len(suite_rows())
    result = migrate(repo, "--to", "sim:triage-v2", "--safety")
    assert f"{n + 22} inputs × 2 samples from suite.jsonl" in result.out  # what ran
    (small,) = [line for line in result.out.splitlines() if "sample too small for the parse failure" in line]
    assert f"with {n} inputs × 2 samples" in small, small
    # --plan says the same before any call: the safety rows add no power to the rate gates
    _, plain = json_report(repo, "--to", "sim:triage-v2", "--plan")
    _, safety = json_report(repo, "--to", "sim:triage-v2", "--plan", "--safety")
    detectable = [r["plan"]["prompts"][0]["min_detectable_increase"] for r in (plain, safety)]
    assert detectable[0] == detectable[1] and detectable[0]["parse_failure"] > 0.3
