"""`promptreview demo`: a whole review offline, from the packaged sample suite, in an empty folder."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import run_installed


@pytest.mark.e2e
def test_demo_in_an_empty_folder_reviews_the_sample_edit_offline(tmp_path):
    result = run_installed(["demo"], tmp_path, env={"NO_COLOR": "1"})
    assert result.code == 0, result.err
    assert result.out.startswith("promptreview: FAIL: regression · parse failure +12.1 pp")
    assert "\033[" not in result.out  # piped: plain text
    folder = tmp_path / "promptreview-demo"
    comment, page = folder / "comment.md", folder / "report.html"
    assert f"The PR comment (Markdown): {comment}" in result.err and f"The HTML report: {page}" in result.err
    assert comment.read_text("utf-8").startswith("## ❌ promptreview: FAIL")
    assert "<svg" in page.read_text("utf-8")
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=folder / "repo", capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert log == ["support_triage: edit the prompt", "support_triage: the prompt as it is"]
    assert "promptreview check --base" in result.out  # how to run it again, by hand

    again = run_installed(["demo"], tmp_path, env={"NO_COLOR": "1"})  # a previous demo is replaced
    assert again.code == 0 and again.out.splitlines()[0] == result.out.splitlines()[0]
    assert "calls: 720 (720 cached" in again.out  # the second run is answered from the cache


def test_demo_refuses_a_folder_it_did_not_make_and_an_unknown_suite(tmp_path, run_cli):
    (tmp_path / "promptreview-demo").mkdir()
    (tmp_path / "promptreview-demo" / "notes.txt").write_text("mine", encoding="utf-8")
    result = run_cli(["demo"], tmp_path)
    assert result.code == 2 and "not a promptreview demo folder" in result.err
    assert (tmp_path / "promptreview-demo" / "notes.txt").exists()
    result = run_cli(["demo", "nope", "--dir", str(tmp_path / "x")], tmp_path)
    assert (
        result.code == 2
        and "unknown sample suite 'nope' (packaged: content_moderation, order_tools, support_answers, support_triage)"
        in result.err
    )
    assert len(result.err.strip().splitlines()) == 1


@pytest.mark.e2e
def test_plan_totals_and_detectable_increase_agree_with_the_report(run_cli):
    from promptreview import stats
    from tests.conftest import REPO

    suite = "promptreview/sample_suites/support_triage"
    args = [
        "compare",
        f"{suite}/prompts/triage.prompt.yml",
        f"{suite}/prompts/triage.edited.prompt.yml",
        "--config",
        f"{suite}/promptreview.yml",
        "--format",
        "json",
    ]
    plan = run_cli([*args, "--plan"], REPO).json()["plan"]
    sides = plan["prompts"][0]["sides"].values()
    assert plan["calls"] == sum(s["calls"] for s in sides)
    assert plan["uncached_calls"] == sum(s["uncached_calls"] for s in sides)
    deff = stats.weighting_design_effect([155, 100, 65], [40, 40, 40])  # 40 per channel, weighted back
    planned = plan["prompts"][0]["min_detectable_increase"]["parse_failure"]
    assert planned == pytest.approx(
        stats.min_detectable_increase(120, 3, 0.05, max_increase=0.02, n_tests=3, design_effect=deff)
    )
    rates = run_cli(args, REPO).json()["prompts"][0]["rates"]
    for name in (
        "parse_failure",
        "refusal",
    ):  # the report's figure: the same formula at the observed base rate
        assert rates[name]["min_detectable_increase"] == pytest.approx(
            stats.min_detectable_increase(
                120, 3, rates[name]["base"], max_increase=0.02, n_tests=3, design_effect=deff
            )
        )


@pytest.mark.e2e
@pytest.mark.parametrize("suite", ["support_triage", "support_answers", "content_moderation", "order_tools"])
def test_the_demo_repositorys_try_it_runs_there(tmp_path, run_cli, suite):
    """The config in the demo repository says how to try it; that line names only what is there, and runs."""
    assert run_cli(["demo", suite, "--dir", str(tmp_path / "demo")], tmp_path).code == 0
    repo = tmp_path / "demo" / "repo"
    config = (repo / "promptreview.yml").read_text("utf-8")
    (line,) = [line for line in config.splitlines() if "Try it" in line]
    command = line.split("Try it:", 1)[1].split("(", 1)[0].split()
    assert command[0] == "promptreview"
    for word in command[1:]:
        if "/" in word or word.endswith((".yml", ".yaml", ".txt", ".jsonl", ".json")):
            assert (repo / word).exists(), word
    result = run_cli(command[1:], repo)
    assert result.code in (0, 1), (
        result.err
    )  # the edit reviewed again (a regression exits 1), never a usage error


@pytest.mark.e2e
def test_the_tools_demo_shows_a_renamed_parameter_break_the_calls(tmp_path, run_cli):
    """`demo order_tools`: the edit renames a tool's parameter; the calls, judged by the base's declaration, break
    its schema, and the report says so with a call as its example (exit 0: a demonstration that ran)."""
    result = run_cli(["demo", "order_tools", "--dir", str(tmp_path / "demo")], tmp_path)
    assert result.code == 0, result.err
    report = json.loads((tmp_path / "demo" / "report.json").read_text("utf-8"))
    (prompt,) = report["prompts"]
    assert prompt["verdict"] == "fail"
    broken = prompt["rates"]["tool_invalid_arguments"]
    assert broken["base"] == 0.0 and broken["head"] > 0.5 and broken["gate"] == "fail"
    assert all(prompt["rates"][name]["gate"] == "pass" for name in ("tool_unknown", "tool_invalid_json"))
    example = next(e for e in prompt["examples"] if e["head_outcome"] == "tool_invalid_arguments")
    assert '"order_number"' in example["head_text"] and '"order_id"' in example["base_text"]
