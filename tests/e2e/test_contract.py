# ruff: noqa: F811  (pytest fixtures imported from other test modules)
"""The base owns the contract (issue 19): the paths to a green check that a pull request's author opens by
trimming, moving or adding what it is judged by. One test per attack, each failing on the code before the fix:
a prompt file's own rows, the models the base names, a prompt moved to a laxer entry, a judge the head adds,
the schema of the base branch's tip, a glob that matches nothing, and a decoy copy left inside the globs."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_ci import CI, ci, labeled, run  # noqa: F401
from tests.e2e.test_openai import OPENAI_MODEL, openai_answer
from tests.e2e_helpers import (
    LOOSE,
    SCHEMA,
    STRICT,
    TICKETS,
    check,
    config_yml,
    make_triage_repo,
    one_line,
    prompt_yml,
)
from tests.fakegithub import fake_github  # noqa: F401
from tests.servers import Reply, ScriptedServer, openai_compatible_handler, openai_error

pytestmark = pytest.mark.e2e

KEY = "sk-proj-CONTRACTtestKEY0123456789abcdef"


def branch(ci: CI, base: str) -> None:
    """A feature branch off `base` (the base's commit is the PR's base)."""
    ci.base = base
    ci.repo.git("checkout", "-q", "-b", "feature")


# -- 1. a prompt file's own testData: the base's rows are the contract -----------------------------------

FILE_SUITE_CONFIG = (
    "version: 1\nmodel: sim:triage-v1\nsamples: 1\nconcurrency: 4\n"
    "prompts:\n  - files: 'prompts/**/*.prompt.yml'\n    schema: data/schema.json\n"
)
ROWS = [ticket for tickets in TICKETS.values() for ticket in tickets][:12]


def with_rows(system: str, rows: list[str]) -> str:
    """A .prompt.yml carrying its own inputs (`testData`), no `suite:` in the config."""
    return (
        prompt_yml(system, user="Ticket: {{ticket}}")
        + "testData:\n"
        + "".join(f"  - ticket: {json.dumps(t)}\n" for t in rows)
    )


def file_suite_repo(repo) -> str:
    repo.write("promptreview.yml", FILE_SUITE_CONFIG)
    repo.write("data/schema.json", json.dumps(SCHEMA))
    repo.write("prompts/triage.prompt.yml", with_rows(STRICT, ROWS))
    return repo.commit("base: a prompt with its own rows")


def test_trimmed_test_data_still_runs_every_base_row_and_needs_the_accept_label(ci, run_cli):
    branch(ci, file_suite_repo(ci.repo))
    ci.repo.write("prompts/triage.prompt.yml", with_rows(STRICT + " Be brief.", [*ROWS[:2], "a new row"]))
    ci.head = ci.repo.commit("trim the rows to two, add one")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 1, result.out + result.err
    assert ci.outputs()["verdict"] == "fail"
    (prompt,) = ci.report()["prompts"]
    assert prompt["n_inputs"] == len(ROWS)  # every base row; the head's new one is counted, not run
    assert prompt["verdict"] == "fail"
    (said,) = [w for w in prompt["warnings"] if "input rows" in w]
    assert "drops or edits 10 of the base's own input rows (row3, row4," in said and "accept label" in said
    ci.fake.permissions["maintainer-alice"] = "write"  # the label counts from someone else with write access
    accepted = run(run_cli, ci, ci.env(labeled(ci, "labeled")))
    assert accepted.code == 0 and ci.outputs()["verdict"] == "accepted"


def test_rows_the_head_only_adds_pass_without_a_label(git_repo, run_cli):
    file_suite_repo(git_repo)
    git_repo.write("prompts/triage.prompt.yml", with_rows(STRICT, [*ROWS, "one more ticket"]))
    git_repo.commit("add a row")
    result, report = check(run_cli, git_repo)
    assert result.code == 0, result.err
    (prompt,) = report["prompts"]
    assert prompt["n_inputs"] == len(ROWS)  # the base's rows are the contract: the new one does not run
    assert any("adds 1 input rows to the file: they do not run here" in n for n in prompt["notes"])


def test_rows_the_head_adds_do_not_dilute_a_regression_on_the_base_rows(ci, run_cli):
    """600 easy rows beside a loosened prompt that breaks the base's rows: pooled, the regression fell to a
    +1.5 % warning; the gates are decided on the base's rows alone."""
    ci.repo.write(
        "promptreview.yml", FILE_SUITE_CONFIG.replace("model: sim:triage-v1", f"model: openai:{OPENAI_MODEL}")
    )
    ci.repo.write("data/schema.json", json.dumps(SCHEMA))
    rows = [f"please refund order {i}, I was charged twice" for i in range(10)]  # the loosened prompt breaks
    rows += [f"the app crashes on screen {i}" for i in range(50)]
    ci.repo.write("prompts/triage.prompt.yml", with_rows(STRICT, rows))
    branch(ci, ci.repo.commit("base: a prompt with its own rows"))
    easy = [f"where is my order number {i}?" for i in range(600)]
    ci.repo.write("prompts/triage.prompt.yml", with_rows(LOOSE, [*rows, *easy]))
    ci.head = ci.repo.commit("loosen the prompt, add 600 easy rows")
    with ScriptedServer(openai_compatible_handler(openai_answer)) as server:
        key = "sk-proj-CONTRACTtestKEY0123456789abcdef"
        result = run(run_cli, ci, ci.env(ci.event(), OPENAI_BASE_URL=f"{server.url}/v1", OPENAI_API_KEY=key))
    assert result.code == 1 and ci.check_runs()[-1]["conclusion"] == "failure", result.out + result.err
    (prompt,) = ci.report()["prompts"]
    assert prompt["n_inputs"] == len(rows) and prompt["verdict"] == "fail"


# -- 3. the allowed models are exactly those the base names ------------------------------------------------


def test_the_built_in_default_model_is_not_named_by_the_base(ci, run_cli):
    """The base config names no model; the base prompt runs on sim:triage-v2, which its file names. The
    built-in default (sim:triage-v1) is named by no one, so moving the prompt to it is refused in CI."""
    make_triage_repo(ci.repo)
    config = config_yml().replace("model: sim:triage-v1\n", "")
    ci.repo.write("promptreview.yml", config)
    ci.repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT, model="sim:triage-v2"))
    branch(ci, ci.repo.commit("base: the prompt names its model, the config none"))
    ci.repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE, model="sim:triage-v1?parse_failure=0"))
    ci.head = ci.repo.commit("move to the built-in default, parse failures off")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 2, result.out + result.err
    assert ci.outputs()["verdict"] == "invalid"
    assert "offline simulator" in result.out and "base does not name" in result.out
    (check_run,) = ci.check_runs()
    assert check_run["conclusion"] == "failure"


def test_an_added_prompt_may_run_on_a_model_the_bases_prompt_files_name_and_on_no_other(git_repo, run_cli):
    """The allowed models are those the base names, in its config or in its prompt files: a new prompt on the
    model its neighbours run on is no migration (the config `init` writes names no model when every file names
    its own); a model the base names nowhere is refused, naming it."""
    make_triage_repo(git_repo, per_stratum=1, samples=1)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT, model="sim:triage-v2"))
    git_repo.commit("the base prompt names its own model")
    git_repo.write("prompts/other.prompt.yml", prompt_yml(STRICT, model="sim:triage-v2"))
    git_repo.commit("an added prompt on the model a base prompt names")
    result, report = check(run_cli, git_repo)
    assert result.code in (0, 1), result.err
    assert [p["path"] for p in report["prompts"]] == ["prompts/other.prompt.yml"]
    git_repo.write("prompts/other.prompt.yml", prompt_yml(STRICT, model="sim:triage-v3"))
    git_repo.commit("the added prompt on a model the base names nowhere")
    result, _ = check(run_cli, git_repo, None, "--base", "HEAD~2")
    line = one_line(result.err)
    assert result.code == 2 and "adds a prompt on sim:triage-v3, a model the base names nowhere" in line


# -- 4. a prompt moved to a laxer entry keeps the base's contract --------------------------------------------

TWO_ENTRIES = (
    "version: 1\nmodel: sim:triage-v1\nsamples: 2\nconcurrency: 4\n"
    "models: [sim:triage-v1, 'sim:triage-v1?parse_failure=0.6']\nprompts:\n"
    "  - files: 'prompts/strict/*.prompt.yml'\n    suite: data/inputs.jsonl\n    schema: data/schema.json\n"
    "    strata: [channel]\n"
    "  - files: 'prompts/lax/*.prompt.yml'\n    suite: data/inputs.jsonl\n    output: text\n"
)


def test_a_prompt_moved_from_a_strict_entry_to_a_lax_one_keeps_the_strict_contract(git_repo, run_cli):
    make_triage_repo(git_repo)
    git_repo.write("promptreview.yml", TWO_ENTRIES)
    git_repo.write("prompts/lax/other.prompt.yml", prompt_yml(STRICT, user="Other: {{ticket}}"))
    (git_repo.root / "prompts/strict").mkdir()
    git_repo.git("mv", "prompts/triage.prompt.yml", "prompts/strict/triage.prompt.yml")
    git_repo.commit("base: two entries")
    git_repo.git("mv", "prompts/strict/triage.prompt.yml", "prompts/lax/triage.prompt.yml")
    git_repo.write(
        "prompts/lax/triage.prompt.yml", prompt_yml(STRICT, model="sim:triage-v1?parse_failure=0.6")
    )
    git_repo.commit("move it to the lax entry and break its JSON")
    result, report = check(run_cli, git_repo)
    assert report is not None, result.err
    (prompt,) = report["prompts"]
    assert prompt["output_mode"] == "json"  # the strict entry's JSON, not the lax entry's text mode
    assert any("moved from the config entry of prompts/strict/*.prompt.yml" in n for n in prompt["notes"])
    assert prompt["rates"]["parse_failure"]["head"] > 0.3
    assert result.code == 1 and prompt["verdict"] == "fail", result.err


# -- 6. an evaluator the head adds cannot gate nor neutralise the verdict ------------------------------------

JUDGE = (
    "evaluators:\n  - name: polite\n    llm:\n      modelId: openai:" + OPENAI_MODEL + "\n"
    "      prompt: 'Is this polite? {{completion}}'\n"
    "      choices: [{choice: 'yes', score: 1}, {choice: 'no', score: 0}]\n"
)


def test_a_head_added_judge_answering_403_does_not_neutralise_a_regression(ci, run_cli):
    ci.pr(prompt_yml(STRICT, model="sim:triage-v1?parse_failure=0.6") + JUDGE)
    denied = ScriptedServer(lambda request: Reply(403, openai_error("forbidden", "permission_denied")))
    with denied as server:
        env = ci.env(ci.event(), OPENAI_BASE_URL=f"{server.url}/v1", OPENAI_API_KEY=KEY)
        result = run(run_cli, ci, env)
        assert server.requests == []  # the head's own judge is never called
    assert result.code == 1, result.out + result.err
    assert ci.outputs()["verdict"] == "fail"
    assert ci.check_runs()[-1]["conclusion"] == "failure"
    (prompt,) = ci.report()["prompts"]
    assert prompt["evaluators"] == []
    assert any("the judge 'polite' is new in this pull request: not called" in n for n in prompt["notes"])


def test_an_added_prompts_own_judge_is_not_called_either(ci, run_cli):
    ci.pr(prompt_yml(STRICT))
    ci.repo.write("prompts/new.prompt.yml", prompt_yml(STRICT, user="New: {{ticket}}") + JUDGE)
    ci.head = ci.repo.commit("an added prompt that brings its own judge")
    denied = ScriptedServer(lambda request: Reply(403, openai_error("forbidden", "permission_denied")))
    with denied as server:
        env = ci.env(ci.event(), OPENAI_BASE_URL=f"{server.url}/v1", OPENAI_API_KEY=KEY)
        result = run(run_cli, ci, env)
        assert server.requests == []
    assert result.code == 0, result.out + result.err  # reviewed on its ceilings, not neutralised
    assert ci.outputs()["verdict"] == "pass"
    added = next(p for p in ci.report()["prompts"] if p["change"] == "added")
    assert any("the judge 'polite' is new in this pull request" in n for n in added["notes"])


# -- 8. the contract comes from the base branch's tip, the diff from the merge base -------------------------


def _category_anything(body: dict) -> str:
    """Answers a valid triage, but the loosened prompt's category is one the strict schema refuses."""
    answer = json.loads(
        openai_answer({**body, "messages": [{"role": "system", "content": STRICT}, body["messages"][-1]]})
    )
    if "clean, parseable" in body["messages"][0]["content"]:
        answer["category"] = "whatever-i-like"
    return json.dumps(answer)


def test_a_branch_cut_from_an_old_main_is_judged_by_the_schema_main_has_now(ci, run_cli):
    loose = {**SCHEMA, "properties": {**SCHEMA["properties"], "category": {"type": "string"}}}
    fork_point = make_triage_repo(ci.repo, model=f"openai:{OPENAI_MODEL}", per_stratum=3, samples=1)
    ci.repo.write("data/schema.json", json.dumps(loose))
    fork_point = ci.repo.commit("an old main: a loose category")
    ci.repo.git("checkout", "-q", "-b", "feature")
    ci.repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    ci.head = ci.repo.commit("the branch, cut from the old main")
    ci.repo.git("checkout", "-q", "main")
    ci.repo.write("data/schema.json", json.dumps(SCHEMA))
    ci.base = ci.repo.commit("main now: the category is an enum")
    assert ci.repo.git("merge-base", ci.base, ci.head).strip() == fork_point
    with ScriptedServer(openai_compatible_handler(_category_anything)) as server:
        env = ci.env(ci.event(), OPENAI_BASE_URL=f"{server.url}/v1", OPENAI_API_KEY=KEY)
        result = run(run_cli, ci, env)
    assert result.code == 1, result.out + result.err
    (prompt,) = ci.report()["prompts"]
    assert prompt["rates"]["schema_violation"]["head"] == 1.0
    assert prompt["rates"]["schema_violation"]["base"] == 0.0


def test_rows_main_added_since_the_fork_run_and_are_not_counted_as_dropped(ci, run_cli):
    fork_point = file_suite_repo(ci.repo)
    ci.repo.git("checkout", "-q", "-b", "feature")
    ci.repo.write("prompts/triage.prompt.yml", with_rows(STRICT + " Be brief.", ROWS))
    ci.head = ci.repo.commit("the branch edits the prompt, not its rows")
    ci.repo.git("checkout", "-q", "main")
    ci.repo.write("prompts/triage.prompt.yml", with_rows(STRICT, [*ROWS, "row main added", "another"]))
    ci.base = ci.repo.commit("main adds two rows")
    assert ci.repo.git("merge-base", ci.base, ci.head).strip() == fork_point
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 0, result.out + result.err
    (prompt,) = ci.report()["prompts"]
    assert prompt["n_inputs"] == len(ROWS) + 2  # main's rows are the contract now
    assert not any("input rows" in w for w in prompt["warnings"])


def test_an_evaluator_main_added_since_the_fork_checks_the_branch(ci, run_cli):
    fork_point = make_triage_repo(ci.repo, per_stratum=2, samples=1)
    ci.repo.git("checkout", "-q", "-b", "feature")
    ci.repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT + " Be brief."))
    ci.head = ci.repo.commit("the branch edits the prompt")
    ci.repo.git("checkout", "-q", "main")
    evaluator = "evaluators:\n  - {name: has_category, string: {contains: 'category'}}\n"
    ci.repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT) + evaluator)
    ci.base = ci.repo.commit("main adds an evaluator to the prompt file")
    assert ci.repo.git("merge-base", ci.base, ci.head).strip() == fork_point
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 0, result.out + result.err
    (prompt,) = ci.report()["prompts"]
    (row,) = prompt["evaluators"]
    assert row["name"] == "has_category" and row["gate"] is not None  # main's evaluator, gating


# -- "Also": a glob that matches no file ---------------------------------------------------------------------


def test_a_glob_matching_no_file_fails_the_check_in_ci_naming_the_glob(ci, run_cli):
    make_triage_repo(ci.repo)
    ci.repo.write(
        "promptreview.yml", config_yml().replace("prompts/**/*.prompt.yml", "prompt/**/*.prompt.yml")
    )
    branch(ci, ci.repo.commit("base: a glob with a typo"))
    ci.repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    ci.head = ci.repo.commit("a change the typo hides")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 2, result.out + result.err
    assert ci.outputs()["verdict"] == "invalid"
    assert ci.check_runs()[-1]["conclusion"] == "failure"
    (line,) = [x for x in result.out.splitlines() if x.startswith("::error")]
    assert "'prompt/**/*.prompt.yml' matches no file" in line and "prompts[0].files" in line


def test_a_glob_matching_no_file_is_a_warning_locally(git_repo, run_cli):
    make_triage_repo(git_repo)
    git_repo.write(
        "promptreview.yml", config_yml().replace("prompts/**/*.prompt.yml", "prompt/**/*.prompt.yml")
    )
    git_repo.commit("a glob with a typo")
    result, report = check(run_cli, git_repo)
    assert result.code == 0, result.err
    assert any("'prompt/**/*.prompt.yml' (prompts[0].files) matches no file" in n for n in report["notes"])


# -- low: a decoy copy left inside the globs hides no prompt that leaves ------------------------------------


def test_a_decoy_copy_inside_the_globs_does_not_hide_a_prompt_that_leaves(ci, run_cli):
    """git pairs the old path with the identical copy of the same name inside the globs (a pure rename, which
    needs nothing), while the prompt production reads now lives outside them, edited."""
    branch(ci, make_triage_repo(ci.repo))
    original = (ci.repo.root / "prompts/triage.prompt.yml").read_text()
    ci.repo.git("rm", "-q", "prompts/triage.prompt.yml")
    ci.repo.write("prompts/v2/triage.prompt.yml", original)  # the decoy
    ci.repo.write("src/triage_prompt.yaml", original.replace("Output strictly", "Output"))  # production's
    ci.head = ci.repo.commit("move the prompt out of the review, leave a copy")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 1, result.out + result.err
    assert ci.outputs()["verdict"] == "fail"
    prompts = ci.report()["prompts"]
    assert {(p["path"], p["change"]) for p in prompts} == {
        ("prompts/v2/triage.prompt.yml", "renamed"),  # git's pairing, still listed
        ("prompts/triage.prompt.yml", "removed"),
    }
    (leaving,) = [p for p in prompts if p["change"] == "removed"]
    assert leaving["verdict"] == "fail" and any("src/triage_prompt.yaml" in n for n in leaving["notes"])


def test_a_decoy_at_the_same_path_does_not_hide_a_prompt_that_leaves(ci, run_cli):
    branch(ci, make_triage_repo(ci.repo))
    original = (ci.repo.root / "prompts/triage.prompt.yml").read_text()
    ci.repo.write("app/triage.prompt.yml", original)  # production now reads this one; the old path stays
    ci.head = ci.repo.commit("copy the prompt out of the review")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 1, result.out + result.err
    (prompt,) = ci.report()["prompts"]
    assert prompt["change"] == "removed" and prompt["verdict"] == "fail"
    assert any("app/triage.prompt.yml" in n for n in prompt["notes"])
