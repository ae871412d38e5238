"""Traces into a suite that a review runs on, and the leakage guard through whole reviews (`compare` on sim).

The pieces have tests of their own: each importer on the real exports (tests/sources/traces/), the guard's
matching (tests/engine/quality/test_leakage.py)."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import run_installed
from tests.e2e_helpers import SCHEMA, STRICT, prompt_yml, suite_rows
from tests.fixtures_path import FIXTURES
from tests.reports import assert_valid_report

pytestmark = pytest.mark.e2e


def test_an_imported_trace_is_a_suite_compare_reviews(tmp_path):
    shutil.copy(FIXTURES / "traces" / "openai" / "nightly_support_qa_batch.jsonl", tmp_path / "log.jsonl")
    made = run_installed(["suite", "import", "log.jsonl", "--output", "data/suite.jsonl"], tmp_path)
    assert made.code == 0, made.err
    assert "10 rows from 10 model calls" in made.out
    assert (tmp_path / "data" / "suite.jsonl.provenance.json").is_file()
    (tmp_path / "a.txt").write_text("Tag this support ticket.\n\n{{input}}\n")
    (tmp_path / "b.txt").write_text("Tag this support ticket, in one sentence.\n\n{{input}}\n")
    result = run_installed(
        ["compare", "a.txt", "b.txt", "--suite", "data/suite.jsonl", "--model", "sim:triage-v1",
         "--samples", "2", "--format", "json"],
        tmp_path,
    )  # fmt: skip
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["prompts"][0]["n_inputs"] == 10
    bad = run_installed(["suite", "import", "a.txt", "--output", "s.jsonl"], tmp_path)
    assert bad.code == 2 and len(bad.err.strip().splitlines()) == 1 and "Traceback" not in bad.err


def test_an_imported_langfuse_export_is_a_conversation_suite_compare_reviews(tmp_path, run_cli):
    """Langfuse's observations export, found from its first bytes, stratified by its metadata: a suite whose
    conversation row is replayed and whose blind spot the report says."""
    source = FIXTURES / "traces" / "langfuse" / "observations_v2.jsonl"
    made = run_cli(
        ["suite", "import", str(source), "-o", "suite.jsonl", "--strata", "metadata.channel"], tmp_path
    )
    assert made.code == 0, made.err
    assert "3 rows from 5 model calls (langfuse; 8 records read)" in made.out and "1 mid-turn" in made.out
    (tmp_path / "a.txt").write_text("Answer the customer.\n\n{{input}}\n")
    (tmp_path / "b.txt").write_text("Answer the customer in one sentence.\n\n{{input}}\n")
    result = run_cli(
        [
            "compare",
            "a.txt",
            "b.txt",
            "--suite",
            "suite.jsonl",
            "--model",
            "sim:triage-v1",
            "--format",
            "json",
        ],
        tmp_path,
    )
    assert result.code == 0, result.err
    (prompt,) = result.json()["prompts"]
    assert prompt["n_inputs"] == 3
    assert prompt["conversations"]["with_history"] == 1


def test_an_imported_otel_export_is_a_suite_check_reviews(git_repo, run_cli):
    """The OTLP export, stratified by a span attribute, committed as the suite a git review samples."""
    source = FIXTURES / "traces" / "otel" / "latitude_rendering_spans.json"
    made = run_cli(
        ["suite", "import", str(source), "-o", "data/suite.jsonl", "--strata", "metadata.gen_ai.system"],
        git_repo.root,
    )
    assert made.code == 0, made.err
    assert "1 row from 4 model calls (otel; 6 records read)" in made.out and "3 mid-turn" in made.out
    git_repo.write(
        "promptreview.yml",
        "version: 1\nmodel: sim:triage-v1\nsamples: 2\nprompts:\n"
        "  - files: 'prompts/*.txt'\n    suite: data/suite.jsonl\n    strata: [gen_ai.system]\n",
    )
    git_repo.write("prompts/weather.txt", "Answer the question.\n\n{{input}}\n")
    git_repo.commit("base")
    git_repo.write("prompts/weather.txt", "Answer the question in one sentence.\n\n{{input}}\n")
    git_repo.commit("head")
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"], git_repo.root)
    assert result.code == 0, result.err
    (prompt,) = result.json()["prompts"]
    assert prompt["n_inputs"] == 1 and prompt["verdict"] in ("pass", "warn")


LEAKED_VERBATIM = "email-0"  # its ticket is pasted into the head prompt as an example
LEAKED_PARAPHRASE = "email-1"  # its ticket, reworded at the end, too


def _leaky_repo(tmp_path, leakage: str) -> None:
    rows = suite_rows()
    for row in rows:
        row["expected_category"] = "billing" if "charg" in row["ticket"] else "technical"
    (tmp_path / "data").mkdir(parents=True)
    (tmp_path / "data" / "inputs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "data" / "schema.json").write_text(json.dumps(SCHEMA))
    tickets = {r["id"]: r["ticket"] for r in rows}
    paraphrase = tickets[LEAKED_PARAPHRASE].replace("for a week.", "for days now.")
    examples = (
        f" Example: {tickets[LEAKED_VERBATIM]} -> billing. Example: {paraphrase} -> shipping."
        " Example: my cat walked on the keyboard and now the screen is sideways -> technical."
    )
    (tmp_path / "a.prompt.yml").write_text(prompt_yml(STRICT))
    (tmp_path / "b.prompt.yml").write_text(prompt_yml(STRICT + examples))
    (tmp_path / "promptreview.yml").write_text(
        "version: 1\nmodel: sim:triage-v1\nsamples: 2\n" + leakage + "prompts:\n"
        "  - files: '*.prompt.yml'\n    suite: data/inputs.jsonl\n    schema: data/schema.json\n"
        "    expect: {category: expected_category}\n"
    )


def test_leaked_rows_are_named_and_left_out_of_the_quality_checks(tmp_path, run_cli):
    _leaky_repo(tmp_path, "")
    result = run_cli(["compare", "a.prompt.yml", "b.prompt.yml", "--format", "json"], tmp_path)
    assert result.code == 0, result.err
    report = result.json()
    assert_valid_report(report)
    prompt = report["prompts"][0]
    assert prompt["verdict"] == "warn"
    assert [(r["row"], r["column"], r["kind"], r["verbatim"]) for r in prompt["leakage"]] == [
        (LEAKED_VERBATIM, "ticket", "input", True),
        (LEAKED_PARAPHRASE, "ticket", "input", False),
    ]
    assert 0.5 <= prompt["leakage"][1]["overlap"] < 1
    assert any(w.startswith("leakage: the prompt holds 2 of 18") for w in prompt["warnings"])
    expect, twin = [e for e in prompt["evaluators"] if e["kind"] == "expect"]
    assert twin["name"] == expect["name"] + " (leaked rows in)" and twin["base_n"] == 18 * 2
    # 18 rows, 2 left out, 2 samples a side: the expectation is measured on 16 inputs' completions
    assert (expect["base_n"], expect["head_n"]) == (16 * 2, 16 * 2)
    text = run_cli(["compare", "a.prompt.yml", "b.prompt.yml"], tmp_path)
    assert f"{LEAKED_VERBATIM}, {LEAKED_PARAPHRASE}" in text.out


def test_leakage_fail_true_fails_the_review(tmp_path, run_cli):
    _leaky_repo(tmp_path, "leakage: {fail: true, min_overlap: 0.5}\n")
    result = run_cli(["compare", "a.prompt.yml", "b.prompt.yml", "--format", "json"], tmp_path)
    assert result.code == 1, result.err
    assert result.json()["prompts"][0]["verdict"] == "fail"
    # a higher bar than the paraphrase reaches leaves only the verbatim copy
    _leaky_repo(tmp_path / "strict", "leakage: {min_overlap: 0.99}\n")
    strict = run_cli(["compare", "a.prompt.yml", "b.prompt.yml", "--format", "json"], tmp_path / "strict")
    assert [r["row"] for r in strict.json()["prompts"][0]["leakage"]] == [LEAKED_VERBATIM]


def test_a_few_shot_example_copied_from_a_suite_conversation_is_a_leak(tmp_path, run_cli):
    """The guard looks inside a row's `messages`: a history's user turn pasted into the head prompt is a leaked
    input (`messages[i]`), a conversation's last assistant turn (the answer the replay re-generates) a leaked
    expected answer; the history's system turn, the old prompt the head resembles on purpose, is not looked
    for."""
    old_system = "You are the support assistant for a parcel company and answer in one short sentence."
    asked = [
        ("My parcel was marked delivered yesterday but nothing reached my door", "Who signed for it then"),
        ("The refund you promised two weeks ago still has not arrived at my bank", "Can you chase it"),
        ("The lid of the blender I ordered came cracked straight out of the box", "Do I send it back"),
        ("I typed the wrong street when ordering and need the courier redirected", "Is that possible now"),
        ("Your shop charged my card twice for a single pair of winter boots", "Which charge goes away"),
        ("The app keeps logging me out every time I switch to another screen", "Should I reinstall it"),
    ]
    answered = [
        "Please check with your neighbours first and we will open a trace with the courier today",
        "I have asked finance to resend the refund and you should see it within five days",
        "Yes, print the free return label from your account and we will ship a new blender",
        "The courier accepts changes until noon, so I have updated the street on your order",
        "The second charge is a hold that your bank releases by itself within three days",
        "Reinstalling rarely helps here; clearing the cache in the settings usually stops it",
    ]
    rows = []
    for i, ((first, second), last) in enumerate(zip(asked, answered, strict=True)):
        rows.append(
            {
                "id": f"c{i}",
                "messages": [
                    {"role": "system", "content": old_system},
                    {"role": "user", "content": first},
                    {"role": "assistant", "content": "I am sorry about that."},
                    {"role": "user", "content": second},
                    {"role": "assistant", "content": last},
                ],
            }
        )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "chats.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    leaked_turn, leaked_answer = rows[1]["messages"][1]["content"], rows[4]["messages"][4]["content"]
    base = {"messages": [{"role": "system", "content": old_system}]}
    head = {
        "messages": [
            {
                "role": "system",
                "content": f"{old_system} Example: user: {leaked_turn} -> assistant: answer kindly. "
                f"Example of a good last answer: {leaked_answer}.",
            }
        ]
    }
    (tmp_path / "a.prompt.yml").write_text(json.dumps(base))
    (tmp_path / "b.prompt.yml").write_text(json.dumps(head))
    (tmp_path / "promptreview.yml").write_text(
        "version: 1\nmodel: sim:triage-v1\nsamples: 1\nprompts:\n  - files: '*.prompt.yml'\n"
        "    suite: data/chats.jsonl\n    output: text\n"
    )
    result = run_cli(["compare", "a.prompt.yml", "b.prompt.yml", "--format", "json"], tmp_path)
    assert result.code == 0, result.err
    prompt = result.json()["prompts"][0]
    assert [(r["row"], r["column"], r["kind"], r["verbatim"]) for r in prompt["leakage"]] == [
        ("c1", "messages[1]", "input", True),
        ("c4", "messages[4]", "expected", True),
    ]
    assert prompt["verdict"] == "warn"
