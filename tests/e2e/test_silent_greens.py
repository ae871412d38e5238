# ruff: noqa: F811  (pytest fixtures imported from other test modules)
"""Red team 3 (issues 23-25): a pull request's author, or a user holding a report, after a green check or a wrong
verdict from the surfaces these issues added (the leakage guard, tools, conversations, batches, the manifest and
`verify`, drift, the sealed cache, model moves). One test per attack that got through, failing on the code
before its fix; the attacks that held are covered by the tests docs/security.md names."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.test_openai import OPENAI_MODEL, triage
from tests.e2e_helpers import SCHEMA, STRICT, check, prompt_yml, suite_rows
from tests.servers import ScriptedServer, openai_compatible_handler

pytestmark = pytest.mark.e2e

KEY = "sk-proj-REDTEAM3testKEY0123456789abcdef"


# -- the leakage guard: a head that pastes the suite into its prompt hides its rows from the quality checks --


JUDGE = "gpt-4o-2024-08-06"
CHECKS = {
    "expect": "    expect: {category: expected_category}\n",
    "judge": (
        "    evaluators:\n      - name: right-category\n        llm:\n"
        f"          modelId: openai:{JUDGE}\n"
        "          prompt: 'Expected category: {{expected_category}}. The answer: {{completion}}'\n"
        "          choices: [{choice: right, score: 1}, {choice: wrong, score: 0}]\n"
    ),
}


def _quality_repo(repo, kind: str) -> list[dict]:
    rows = suite_rows()
    for row in rows:
        row["expected_category"] = json.loads(triage(STRICT, f"Ticket: {row['ticket']}"))["category"]
    repo.write(
        "promptreview.yml",
        f"version: 1\nmodel: openai:{OPENAI_MODEL}\nsamples: 1\nconcurrency: 4\nprompts:\n"
        "  - files: 'prompts/**/*.prompt.yml'\n    suite: data/inputs.jsonl\n    schema: data/schema.json\n"
        + CHECKS[kind],
    )
    repo.write("data/inputs.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    repo.write("data/schema.json", json.dumps(SCHEMA))
    repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT, user="Ticket: {{ticket}}"))
    repo.commit("base: a prompt whose categories the suite expects")
    return rows


def _wrong_when_told(body: dict) -> str:
    """The model: right on the base prompt, every category `other` once the prompt says "Examples"; as the
    judge, `right` when the answer's category is the expected one."""
    last = body["messages"][-1]["content"]
    if body["model"] == JUDGE:
        expected = re.search(r'Expected category: <data name="expected_category">\n"(\w+)"', last)
        said = re.search(r'\\?"category\\?": \\?"(\w+)', last)
        return "right" if expected and said and expected.group(1) == said.group(1) else "wrong"
    system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
    answer = json.loads(triage(system, last))
    if "Examples" in system:
        answer["category"] = "other"
    return json.dumps(answer)


@pytest.mark.parametrize(("kind", "name", "words"), [
    ("expect", "category", "expected category pass rate (leaked rows in)"),
    ("judge", "right-category", "judge right-category (leaked rows in) mean score"),
])  # fmt: skip
def test_a_head_that_pastes_the_suite_into_its_prompt_does_not_hide_a_quality_regression(
    git_repo, run_cli, kind, name, words
):
    rows = _quality_repo(git_repo, kind)
    examples = " Examples: " + " | ".join(r["ticket"] for r in rows)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT + examples, user="Ticket: {{ticket}}"))
    git_repo.commit("few-shot examples (every suite input) and a regression on every expectation")
    with ScriptedServer(openai_compatible_handler(_wrong_when_told)) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": KEY}
        result, report = check(run_cli, git_repo, env)
    assert result.code == 1, result.out + result.err  # it was a pass: 15 of 18 rows left the check
    (prompt,) = report["prompts"]
    assert prompt["verdict"] == "fail" and len(prompt["leakage"]) == 15
    by_name = {e["name"]: e for e in prompt["evaluators"]}
    assert by_name[name]["base_n"] == 3  # the guard still leaves the leaked rows out of the check
    assert by_name[f"{name} (leaked rows in)"]["base_n"] == 18  # and its twin over every row gates
    assert any(w.startswith(words) for w in prompt["warnings"]), prompt["warnings"]
    judged = [json.dumps(r.json, sort_keys=True) for r in server.requests if r.json["model"] == JUDGE]
    assert len(judged) == len(set(judged)) and (kind == "judge") == bool(judged)  # nothing judged twice


# -- tools: a head that stops declaring them (so no call can be owed) -----------------------------------------


def _tools_repo(repo, base_doc: dict, head_doc: dict, entry: str = "") -> None:
    from tests.e2e.test_tools import CITIES

    rows = [{"id": f"q{i}", "question": f"What is the weather in {c} now?"} for i, c in enumerate(CITIES)]
    repo.write(
        "promptreview.yml",
        "version: 1\nmodel: sim:tools-v1\nsamples: 2\nconcurrency: 4\nprompts:\n"
        "  - files: 'prompts/*.prompt.yml'\n    suite: data/questions.jsonl\n    output: text\n" + entry,
    )
    repo.write("data/questions.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    repo.write("prompts/weather.prompt.yml", json.dumps(base_doc))
    repo.commit("base: a prompt that must call its tool")
    repo.write("prompts/weather.prompt.yml", json.dumps(head_doc))
    repo.commit("head")


def _weather(system: str, **extra) -> dict:
    return {"name": "weather", "messages": [{"role": "system", "content": system},
            {"role": "user", "content": "{{question}}"}], **extra}  # fmt: skip


def test_a_head_that_drops_its_tools_and_tool_choice_still_owes_the_call(git_repo, run_cli):
    from tests.e2e.test_tools import CALLS, SEARCH, WEATHER

    base = _weather(CALLS, tools=[WEATHER, SEARCH], tool_choice="required")
    _tools_repo(git_repo, base, _weather(CALLS))
    result, report = check(run_cli, git_repo)
    assert result.code == 1, result.out + result.err
    (p,) = report["prompts"]
    assert p["rates"]["tool_missing"]["head"] == 1.0 and p["verdict"] == "fail"


def test_an_empty_tools_list_in_the_head_file_does_not_cancel_the_entrys_required_call(git_repo, run_cli):
    from tests.e2e.test_tools import CALLS, WEATHER

    entry = f"    tools: {json.dumps([WEATHER])}\n    tool_choice: required\n"
    _tools_repo(git_repo, _weather(CALLS), _weather(CALLS, tools=[]), entry)
    result, report = check(run_cli, git_repo)
    assert result.code == 1, result.out + result.err
    (p,) = report["prompts"]
    assert p["rates"]["tool_missing"]["head"] == 1.0 and p["verdict"] == "fail"


# -- verify: what a report says beyond its numbers ----------------------------------------------------------

from tests.e2e.test_verify import recorded, verify  # noqa: E402, F401


def _edited(report, tmp_path, edit) -> str:
    data = json.loads(report.read_text())
    edit(data)
    out = tmp_path / "edited.json"
    out.write_text(json.dumps(data))
    return str(out)


def _other_model(data: dict) -> None:
    """The report now says another model, and other weights, answered (its numbers untouched)."""
    data["model"]["spec"] = "openai:gpt-4o-2024-08-06"
    data["model"]["served"] = ["gpt-4o-2024-08-06"]
    for block in (data["model"]["provenance"], *data["prompts"][0]["provenance"].values()):
        block["served"] = {"gpt-4o-2024-08-06": block["answers"]}
        block["fingerprints"] = {"fp_other": block["answers"]}
    data["prompts"][0]["model"] = "openai:gpt-4o-2024-08-06"


def _dropped_prompt(data: dict) -> None:
    data["prompts"] = []


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (
            _other_model,
            "differs model.spec: recorded 'openai:gpt-4o-2024-08-06', replayed 'openai:gpt-4o-mini",
        ),
        (_dropped_prompt, "differs prompts/triage.prompt.yml: reviewed by the replay, but not in the report"),
    ],
)
def test_a_report_edited_beyond_its_numbers_does_not_verify(recorded, run_cli, tmp_path, edit, says):
    repo, env, report, down = recorded
    result = verify(run_cli, repo, env, _edited(report, tmp_path, edit))
    assert result.code == 1, result.out + result.err  # it was 0: verify compared the numbers alone
    assert any(line.startswith(says) for line in result.out.splitlines()), result.out
    assert down.requests == []


# -- model moves through the head's config: an entry it adds in front of the prompt's own -------------------


def test_a_head_config_entry_added_in_front_moves_the_prompt_and_is_reviewed_as_a_migration(git_repo):
    from promptreview.engine.review import ReviewOptions, review_changes
    from tests.e2e.test_migrate import CONFIG, WORSE, triage_repo

    repo = triage_repo(git_repo)
    base = repo.git("rev-parse", "HEAD").strip()
    front = f'  - files: "prompts/triage.prompt.yml"\n    model: "{WORSE}"\n    suite: suite.jsonl\n'
    repo.write("promptreview.yml", CONFIG.replace("prompts:\n", "prompts:\n" + front))
    head = repo.commit("an entry of its own for the triage prompt, on another model")
    env = {"GITHUB_ACTIONS": "true", "PROMPTREVIEW_CACHE_DIR": str(repo.root.parent / "cache")}
    report = review_changes(
        ReviewOptions(repo_root=repo.root, env=env, config_rev=base, base=base, head=head)
    )
    (prompt,) = report.prompts
    assert (prompt.models["base"], prompt.models["head"]) == ("sim:triage-v1", WORSE)
    assert report.verdict == "fail"


def test_expect_tool_turned_off_in_the_heads_own_rows_does_not_cancel_the_call(git_repo, run_cli):
    """The rows are the prompt file's own (`testData`, no suite): the base's, with `expect_tool`, are the
    contract; the head's `expect_tool: false` on every row and a prompt that stops calling are not."""
    from tests.e2e.test_tools import CALLS, CITIES, DIRECT, SEARCH, WEATHER

    def doc(system: str, expect: str | bool) -> dict:
        rows = [{"question": f"What is the weather in {c} now?", "expect_tool": expect} for c in CITIES]
        return _weather(system, tools=[WEATHER, SEARCH], testData=rows)

    git_repo.write(
        "promptreview.yml",
        "version: 1\nmodel: sim:tools-v1\nsamples: 2\nprompts:\n  - files: 'prompts/*.prompt.yml'\n    output: text\n",
    )
    git_repo.write("prompts/weather.prompt.yml", json.dumps(doc(CALLS, "get_weather")))
    git_repo.commit("base: every row expects a get_weather call")
    git_repo.write("prompts/weather.prompt.yml", json.dumps(doc(DIRECT, False)))
    git_repo.commit("head: no row expects a call, and the prompt stops calling")
    result, report = check(run_cli, git_repo)
    assert result.code == 1, result.out + result.err
    (p,) = report["prompts"]
    assert p["rates"]["tool_missing"]["head"] == 1.0 and p["verdict"] == "fail"


def test_a_stand_in_moved_by_the_head_config_is_said_as_a_migration_never_silently(git_repo):
    """The prompt file names a deployment no provider of ours serves; the base config's `models_map` stands a
    model in for it. The head moves the stand-in to another model the base allows and loosens the prompt: the
    review runs each side on its own config's stand-in and says so as a migration, judged by the base's gates."""
    from promptreview.engine.review import ReviewOptions, review_changes
    from tests.e2e.test_migrate import CONFIG, WORSE, triage_repo

    config = CONFIG.replace("samples: 2\n", "samples: 2\nmodels_map: {azure-prod: sim:triage-v1}\n")
    repo = triage_repo(git_repo, config=config, prompts={"triage": "azure-prod"})
    base = repo.git("rev-parse", "HEAD").strip()
    repo.write(
        "promptreview.yml", config.replace("{azure-prod: sim:triage-v1}", f'{{azure-prod: "{WORSE}"}}')
    )
    head = repo.commit("stand the better-looking model in for production's deployment")
    env = {"GITHUB_ACTIONS": "true", "PROMPTREVIEW_CACHE_DIR": str(repo.root.parent / "cache")}
    report = review_changes(
        ReviewOptions(repo_root=repo.root, env=env, config_rev=base, base=base, head=head)
    )
    (prompt,) = report.prompts
    assert (prompt.models["base"], prompt.models["head"]) == ("sim:triage-v1", WORSE)
    assert report.migration is not None and report.verdict == "fail"


# -- batch: auto in the maintainer-triggered run of a fork's pull request ------------------------------------

from tests.e2e.test_ci import CI, ci, payload, run  # noqa: E402, F401
from tests.fakegithub import fake_github  # noqa: E402, F401


def test_batch_auto_never_makes_the_maintainer_run_of_a_pull_request_wait(ci, run_cli, monkeypatch):
    """The maintainer's run for a fork's pull request is a `workflow_dispatch`, which `auto` took for a run no
    one waits for: it sent the review as a provider batch (up to a day) while the pull request waited."""
    from promptreview.engine.planning import batch_mode
    from tests.batch_servers import OpenAIBatchServer
    from tests.e2e.test_openai import openai_answer

    monkeypatch.setattr(batch_mode, "AUTO_THRESHOLD", 1)  # every run is big enough to batch
    ci.pr(prompt_yml(STRICT + " Be brief."), base_model=f"openai:{OPENAI_MODEL}", base_extra="batch: auto\n")
    ci.repo.git("checkout", "-q", "main")  # workflow_dispatch checks out the default branch
    inputs = {"base": "main", "head": ci.head, "pull-request": "2"}
    data = {"inputs": inputs, "ref": "refs/heads/main", "repository": payload()["repository"],
            "sender": payload()["sender"], "workflow": ".github/workflows/promptreview-maintainer.yml"}  # fmt: skip
    with OpenAIBatchServer(lambda body: openai_answer(body)) as server:
        server.http.route("POST", "/v1/chat/completions", openai_compatible_handler(openai_answer))
        keys = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test", "GITHUB_SHA": ci.base}
        result = run(run_cli, ci, ci.env(data, "workflow_dispatch", **keys))
        assert result.code == 0, result.out + result.err
        assert server.batch_posts == []  # it was one batch: the pull request waited on the provider's queue
        assert server.http.requests_to("/v1/chat/completions")
        # a manual run that reviews no pull request is one nobody waits for: auto batches it
        del inputs["pull-request"]
        again = run(
            run_cli, ci, ci.env(data, "workflow_dispatch", PROMPTREVIEW_CACHE_DIR=str(ci.tmp / "c2"), **keys)
        )
        assert again.code == 0, again.out + again.err
        assert len(server.batch_posts) == 1


def test_a_ci_report_whose_own_verdict_was_edited_does_not_verify(git_repo, fake_github, tmp_path, run_cli):  # noqa: F811
    from pathlib import Path

    from tests.e2e.test_ci import FAILING_MODEL, SEALED

    ci = CI(git_repo, fake_github, tmp_path)
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    assert run_cli(["ci"], git_repo.root, ci.env(ci.event("opened"), **SEALED)).code == 1
    path = Path(ci.outputs()["report-path"])
    env = {"GITHUB_ACTIONS": ""}
    clean = run_cli(["verify", str(path)], git_repo.root, env)
    assert clean.code == 0 and "ok      ci: verdict fail, check failure" in clean.out.splitlines(), clean.out
    data = json.loads(path.read_text("utf-8"))
    data["ci"].update(verdict="pass", conclusion="success", exit_code=0)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    result = run_cli(["verify", str(edited)], git_repo.root, env)
    assert result.code == 1, result.out + result.err  # it was 0: the ci block was never compared
    assert (
        "differs ci: recorded verdict pass and check success, CI concludes fail (failure) from the replay"
        in result.out.splitlines()
    )
