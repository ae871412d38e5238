"""`promptreview check` end to end on a real git repository, with the embedded sim model."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from promptreview.engine.execution.cache import ResponseCache, default_cache_path
from promptreview.engine.measurement.outcomes import classify
from promptreview.records import Completion, CompletionRequest, Message, ModelSpec
from promptreview.sources.schemas import make_validator
from tests.e2e_helpers import LOOSE, SCHEMA, STRICT, make_triage_repo, prompt_yml
from tests.reports import assert_valid_report

pytestmark = pytest.mark.e2e  # runs whole reviews; `pytest -m "not e2e"` skips them


def check_json(run_cli, repo, *extra):
    out = repo.root / "report.json"
    result = run_cli(
        ["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "--output", str(out), *extra],
        repo.root,
    )
    assert result.err.count("Traceback") == 0
    report = json.loads(out.read_text()) if out.exists() else None
    if report is not None:
        assert_valid_report(report)  # every report written: reviews, plans, nothing to review
    return result, report


def test_modified_prompt_report_matches_schema_and_cache(git_repo, run_cli):
    make_triage_repo(git_repo)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("loosen the format instruction")
    result, report = check_json(run_cli, git_repo)
    assert result.code == 0, result.err  # the deterministic answers give a pass: no gate fails
    assert_valid_report(report)
    assert report["verdict"] == "pass"
    assert report["model"]["simulated"] is True
    (prompt,) = report["prompts"]
    assert prompt["path"] == "prompts/triage.prompt.yml" and prompt["change"] == "modified"
    assert prompt["n_inputs"] == 18 and prompt["samples"] == 3
    assert prompt["calls"]["total"] == 2 * 18 * 3 and prompt["calls"]["cached"] == 0

    # every count in the report equals a recount of what the cache holds, side by side
    cache = ResponseCache(default_cache_path({"XDG_CACHE_HOME": str(Path.home() / ".cache")}))
    validator = make_validator(SCHEMA, "schema")
    tally = {"base": Counter(), "head": Counter()}
    strata = {"base": Counter(), "head": Counter()}
    entries = cache.entries()
    assert len(entries) == 2 * 18 * 3
    for request, response in entries:
        side = "base" if STRICT in request["messages"][0]["content"] else "head"
        fake = CompletionRequest(ModelSpec("sim", "x"), (Message("user", ""),))
        outcome = classify(Completion(fake, response), validator).outcome
        tally[side][outcome] += 1
        channel = request["messages"][1]["content"].split("(")[1].split(")")[0]
        strata[side][(channel, outcome)] += 1
    for name, row in prompt["rates"].items():
        for side in ("base", "head"):
            n = sum(tally[side].values()) - (0 if name == "error" else tally[side]["error"])
            assert row[f"{side}_count"] == tally[side][name]
            assert row[side] == pytest.approx(tally[side][name] / n, abs=0) if n else row[side] is None
        assert row["delta"] == pytest.approx(row["head"] - row["base"])
    assert prompt["weighted"] is False  # all rows sampled: proportional
    for stratum in prompt["strata"]:
        channel = stratum["stratum"]["channel"]
        for name in ("parse_failure", "schema_violation", "refusal"):
            for side in ("base", "head"):
                count = strata[side][(channel, name)]
                assert stratum["rates"][name][f"{side}_count"] == count
    # the loosened instruction produces parse failures the strict one did not
    assert prompt["rates"]["parse_failure"]["head"] > prompt["rates"]["parse_failure"]["base"]


def test_second_run_makes_zero_model_calls(git_repo, run_cli):
    make_triage_repo(git_repo)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit()
    _, first = check_json(run_cli, git_repo)
    _, second = check_json(run_cli, git_repo)
    total = first["prompts"][0]["calls"]["total"]
    assert first["prompts"][0]["calls"]["cached"] == 0
    assert second["prompts"][0]["calls"]["cached"] == total
    assert second["prompts"][0]["rates"] == first["prompts"][0]["rates"]


def test_added_removed_renamed_and_unchanged(git_repo, run_cli):
    make_triage_repo(git_repo, extra="removal: allow\n")  # a removal needs no accept label here
    git_repo.write("prompts/unchanged.prompt.yml", prompt_yml(STRICT + " Unchanged."))
    git_repo.write("prompts/old_name.prompt.yml", prompt_yml(STRICT + " Renamed."))
    git_repo.write(
        "prompts/doomed.prompt.yml", "messages:\n  - {role: user, content: 'Translate {{ticket}}'}\n"
    )
    git_repo.commit("more prompts")
    git_repo.git("mv", "prompts/old_name.prompt.yml", "prompts/new_name.prompt.yml")
    (git_repo.root / "prompts/doomed.prompt.yml").unlink()
    git_repo.write(
        "prompts/fresh.prompt.yml",
        prompt_yml("Summarise this ticket as JSON with a summary field.", user="{{ticket}}"),
    )
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.write("README.txt", "not a prompt\n")
    git_repo.commit("mixed change")
    result, report = check_json(run_cli, git_repo, "--samples", "1")
    # the added prompt answers prose on a quarter of its inputs: above its 5 % parse-failure ceiling
    assert result.code == 1, result.err
    assert_valid_report(report)
    assert report["verdict"] == "fail"
    by_path = {p["path"]: p for p in report["prompts"]}
    assert by_path["prompts/fresh.prompt.yml"]["verdict"] == "fail"
    assert by_path["prompts/fresh.prompt.yml"]["rates"]["parse_failure"]["max_rate"] == 0.05
    assert by_path["prompts/doomed.prompt.yml"]["verdict"] == "pass"  # removal: allow
    assert set(by_path) == {
        "prompts/triage.prompt.yml",
        "prompts/new_name.prompt.yml",
        "prompts/doomed.prompt.yml",
        "prompts/fresh.prompt.yml",
    }
    assert by_path["prompts/doomed.prompt.yml"]["change"] == "removed"
    assert by_path["prompts/doomed.prompt.yml"]["calls"]["total"] == 0
    renamed = by_path["prompts/new_name.prompt.yml"]
    assert renamed["change"] == "renamed" and renamed["old_path"] == "prompts/old_name.prompt.yml"
    assert renamed["calls"]["total"] == 0 and "without a change" in " ".join(renamed["notes"])
    fresh = by_path["prompts/fresh.prompt.yml"]
    assert fresh["change"] == "added" and fresh["calls"]["total"] == 18
    assert (
        fresh["rates"]["parse_failure"]["base"] is None
        and fresh["rates"]["parse_failure"]["head"] is not None
    )


def test_renamed_and_edited_prompt_is_compared_with_its_old_self(git_repo, run_cli):
    make_triage_repo(git_repo)
    git_repo.git("mv", "prompts/triage.prompt.yml", "prompts/triage_v2.prompt.yml")
    git_repo.write("prompts/triage_v2.prompt.yml", prompt_yml(STRICT + " Be concise."))
    git_repo.commit("rename and edit")
    result, report = check_json(run_cli, git_repo, "--samples", "1")
    (prompt,) = report["prompts"]
    assert prompt["change"] == "renamed" and prompt["calls"]["total"] == 36


def test_nothing_to_review(git_repo, run_cli):
    make_triage_repo(git_repo)
    git_repo.write("notes.md", "unrelated\n")
    git_repo.commit("docs only")
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD"], git_repo.root)
    assert result.code == 0
    assert "nothing to review" in result.out


def test_working_tree_is_the_default_head(git_repo, run_cli):
    make_triage_repo(git_repo)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))  # not committed
    result = run_cli(["check", "--base", "main", "--samples", "1", "--format", "json"], git_repo.root)
    report = result.json()
    assert report["prompts"][0]["change"] == "modified" and report["head"] == "working tree"


def test_the_reproduce_line_of_a_working_tree_review_runs(git_repo, run_cli):
    """The report's reproduce line reruns the review: against the working tree it names no `--head` (the
    default), never `--head working tree`, which is bad usage."""
    make_triage_repo(git_repo)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))  # not committed
    first = run_cli(["check", "--base", "main", "--samples", "1", "--format", "markdown"], git_repo.root)
    (line,) = [x for x in first.out.splitlines() if "promptreview check --base" in x]
    command = line[line.index("promptreview check") :].split("`")[0].split()
    assert "--head" not in command and command[:3] == ["promptreview", "check", "--base"]
    again = run_cli([*command[1:], "--samples", "1", "--format", "markdown"], git_repo.root)
    # the same review (its calls now cached): the same verdict, numbers and reproduce line
    assert again.code == first.code and again.out.splitlines()[0] == first.out.splitlines()[0]
    assert line in again.out.splitlines()


def assert_one_line_error(result, fragment):
    assert result.code == 2, (result.out, result.err)
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert fragment in lines[0]
    assert "Traceback" not in result.err


def test_missing_template_variable(git_repo, run_cli):
    make_triage_repo(git_repo)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT, user="{{ticket}} from {{customer_name}}"))
    git_repo.commit()
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD"], git_repo.root)
    assert_one_line_error(result, "template variable 'customer_name' is not a column of data/inputs.jsonl")


def test_unknown_config_key(git_repo, run_cli):
    make_triage_repo(git_repo, extra="colour: blue\n")
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit()
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD"], git_repo.root)
    assert_one_line_error(result, "promptreview.yml: colour: unknown key")


def test_missing_suite_file(git_repo, run_cli):
    make_triage_repo(git_repo)
    (git_repo.root / "data/inputs.jsonl").unlink()
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit()
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD"], git_repo.root)
    assert_one_line_error(result, "suite: file 'data/inputs.jsonl' does not exist")


def test_malformed_schema(git_repo, run_cli):
    make_triage_repo(git_repo)
    git_repo.write("data/schema.json", json.dumps({"type": "objekt"}))
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit()
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD"], git_repo.root)
    assert_one_line_error(result, "data/schema.json: not a valid JSON Schema")


def test_non_utf8_prompt(git_repo, run_cli):
    make_triage_repo(git_repo)
    git_repo.write(
        "prompts/triage.prompt.yml", prompt_yml(LOOSE).encode("utf-8").replace(b"clean", b"cl\xe9an")
    )
    git_repo.commit()
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD"], git_repo.root)
    assert_one_line_error(result, "prompts/triage.prompt.yml: not valid UTF-8")


def test_suite_path_outside_the_repository(git_repo, run_cli):
    make_triage_repo(git_repo)
    config = (git_repo.root / "promptreview.yml").read_text().replace("data/inputs.jsonl", "../inputs.jsonl")
    git_repo.write("promptreview.yml", config)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit()
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD"], git_repo.root)
    assert_one_line_error(result, "leaves the repository")


def test_floating_model_is_refused(git_repo, run_cli):
    make_triage_repo(git_repo)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit()
    result = run_cli(
        ["check", "--base", "HEAD~1", "--head", "HEAD", "--model", "openai:gpt-4o"],
        git_repo.root,
        env={"OPENAI_API_KEY": "sk-test"},
    )
    assert_one_line_error(result, "floating alias")


def test_budget_refuses_a_review_too_large(git_repo, run_cli):
    make_triage_repo(git_repo, extra="budget: {max_calls: 10}\n")
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit()
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD"], git_repo.root)
    assert_one_line_error(result, "over budget.max_calls = 10")


def test_plan_makes_no_call(git_repo, run_cli):
    make_triage_repo(git_repo)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit()
    result = run_cli(
        ["check", "--base", "HEAD~1", "--head", "HEAD", "--plan", "--format", "json"], git_repo.root
    )
    assert result.code == 0
    plan = result.json()["plan"]
    assert plan["calls"] == 108 and plan["uncached_calls"] == 108 and plan["over_budget"] is False
    assert result.json()["prompts"] == []  # nothing reviewed, so no verdicts
    assert (
        not default_cache_path({"XDG_CACHE_HOME": str(Path.home() / ".cache")}).exists()
        or ResponseCache(default_cache_path({"XDG_CACHE_HOME": str(Path.home() / ".cache")})).count() == 0
    )


def test_plan_says_plainly_what_it_would_send(git_repo, run_cli):
    """After a review every call is cached: the plan sends nothing (not "~0 prompt tokens"); with nothing
    changed it says so, instead of "0 calls, 0 of them to make"."""
    make_triage_repo(git_repo, per_stratum=1, samples=1)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit()
    fresh = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--plan"], git_repo.root).out
    assert "prompt tokens to send" in fresh and "inputs × 1 samples" in fresh
    assert run_cli(["check", "--base", "HEAD~1", "--head", "HEAD"], git_repo.root).code in (0, 1)
    cached = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--plan"], git_repo.root).out
    assert "nothing to send" in cached and "prompt tokens" not in cached
    same = run_cli(["check", "--base", "HEAD", "--head", "HEAD", "--plan"], git_repo.root).out
    assert same.startswith("promptreview plan: no changed prompt file to review")


def test_plan_says_when_a_review_is_over_budget(git_repo, run_cli):
    make_triage_repo(git_repo, extra="budget: {max_calls: 10}\n")
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit()
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--plan"], git_repo.root)
    assert result.code == 0 and "over budget" in result.out


def test_the_reproduce_line_of_a_working_tree_review_runs_the_same_review(git_repo, run_cli):
    """The comment's "Reproduce locally" line, copied as it is: a working-tree review (no --head), with the
    flags it was asked with, gives the same numbers again."""
    import re
    import shlex

    make_triage_repo(git_repo)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))  # not committed: the working tree
    first = run_cli(
        ["check", "--base", "HEAD", "--samples", "1", "--seed", "3", "--format", "markdown"], git_repo.root
    )
    assert first.code in (0, 1), first.err
    command = re.search(r"Reproduce locally:\n\n```sh\n(.*?)\n```", first.out).group(1)
    words = shlex.split(command)
    assert words[:2] == ["promptreview", "check"] and "--head" not in words
    assert words[-4:] == ["--samples", "1", "--seed", "3"]
    out = git_repo.root / "again.json"
    again = run_cli([*words[1:], "--format", "json", "--output", str(out)], git_repo.root)
    assert again.code == first.code, again.err
    (prompt,) = json.loads(out.read_text())["prompts"]
    assert prompt["samples"] == 1 and prompt["calls"]["cached"] == prompt["calls"]["total"]  # the same calls


def test_a_report_written_beside_the_prompts_is_no_copy_of_them_on_the_next_run(git_repo, run_cli):
    """A working-tree review previews the pull request: an untracked file (the last report, which quotes the
    prompt; a scratch backup) is nothing a commit holds, so it is not a copy the prompt left the review for.
    Once committed, it is."""
    make_triage_repo(git_repo, per_stratum=1, samples=1)
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))  # the working tree
    (git_repo.root / "backup.bak").write_text(prompt_yml(STRICT))  # the base prompt, copied aside
    args = ["check", "--base", "HEAD", "--format", "json", "--output", "review.json"]
    first = run_cli(args, git_repo.root)
    again = run_cli(args, git_repo.root)
    assert first.code == again.code, again.out + again.err
    report = json.loads((git_repo.root / "review.json").read_text())
    assert [p["change"] for p in report["prompts"]] == ["modified"]
    git_repo.git("add", "backup.bak")  # staged: what a commit would hold
    git_repo.commit("keep the backup")
    (git_repo.root / "review.json").unlink()
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"], git_repo.root)
    assert result.code == 1 and "backup.bak" in result.out  # a committed copy outside the globs: it left
