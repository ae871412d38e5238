"""The words every format shares: effect sizes a person reads, warnings in the order that matters, notes said
once, the remedies of parse failures, and a reproduce line that runs the review that was made."""

from __future__ import annotations

import shlex
from dataclasses import replace

import pytest

from promptreview.notes import note
from promptreview.report.document import Report, Rerun, ShiftRow, StatTest
from promptreview.report.notes import words
from promptreview.report.wording import (
    effect_words,
    ordered_warnings,
    parse_failure_table,
    prompt_notes,
    reproduce_command,
    review_notes,
    shift_sentence,
)
from promptreview.verdicts import ReviewVerdict
from tests.review_fixture import regression, review


def _length(base: float, head: float, field: str = "(answer length, characters)") -> ShiftRow:
    return ShiftRow(
        field,
        "length",
        StatTest("Wilcoxon signed-rank"),
        6.0,
        1e-9,
        {"median": base, "mean": base, "n": 360},
        {"median": head, "mean": head, "n": 360},
        effect=head - base,
        effect_name="median_shift",
        p_adjusted=1e-8,
        matters=True,
    )


def test_effect_sizes_in_plain_words():
    assert effect_words(_length(172.0, 111.0)) == "median length 35% shorter (172 → 111 characters)"
    assert effect_words(_length(43.0, 50.0, "(output tokens)")) == "median length 16% longer (43 → 50 tokens)"
    categorical = ShiftRow(
        "decision",
        "categorical",
        StatTest("Stuart-Maxwell"),
        20.0,
        0.001,
        {"allow": 116, "block": 184},
        {"allow": 179, "block": 121},
        effect=0.21,
        effect_name="total_variation",
    )
    assert effect_words(categorical) == "21.0% of answers moved to another value"
    sentence = shift_sentence(categorical)
    assert sentence.startswith("decision: 21.0% of answers moved to another value (allow 38.7% → 59.7%")
    for said in (sentence, effect_words(categorical), effect_words(_length(172.0, 111.0))):
        assert "total_variation" not in said and "median_shift" not in said


def test_failing_gates_come_before_warnings_that_do_not_gate():
    p = regression()
    flip = note("flip_disagreement", head_vs_base=0.3, noise_floor=0.2, p_adjusted=0.001, excess=0.1)
    shifted = note("distribution_shift", fields=(("category", "Stuart-Maxwell"),))
    failing = p.warnings[0]
    assert p.rates["parse_failure"].gate == "fail" and failing.subject == "parse_failure"
    p = replace(p, warnings=(flip, shifted, failing))
    assert ordered_warnings(p) == [failing, flip, shifted]


def test_a_note_every_prompt_has_is_said_once_for_the_review():
    shared = note("output_mode", mode="json", configured=False)
    own = note("stratum_short", "channel=web", rows=3, quota=5)
    first = replace(regression(), path="a.prompt.yml", notes=(shared, own))
    second = replace(regression(), path="b.prompt.yml", notes=(shared,))
    report = Report(verdict=ReviewVerdict.FAIL, prompts=(first, second))
    assert [words(n) for n in review_notes(report)] == [words(shared)]
    assert prompt_notes(first, report) == [own] and prompt_notes(second, report) == []
    alone = Report(verdict=ReviewVerdict.FAIL, prompts=(first,))  # one prompt: its notes stay with it
    assert review_notes(alone) == [] and prompt_notes(first, alone) == [shared, own]


def test_parse_failures_by_kind_with_their_remedy():
    p = replace(regression(), parse_failure_kinds={"fenced": 3, "truncated": 9})
    rows = parse_failure_table(p)
    assert [r[:2] for r in rows] == [["cut off at max_tokens", "9"], ["JSON inside a ```json fence", "3"]]
    assert "max_tokens" in rows[0][2] and "allow_fenced" in rows[1][2]
    assert parse_failure_table(replace(p, verdict="pass")) == []  # nothing to fix


def test_reproduce_line_carries_the_flags_the_review_was_asked_with():
    flags = (
        "--config",
        "ci/promptreview.yml",
        "--model",
        "sim:triage-v1?parse_failure=0.1",
        "--samples",
        "1",
    )
    rerun = Rerun("check", "abc123", None, flags)
    line = reproduce_command(Report(verdict=ReviewVerdict.PASS, config="ci/promptreview.yml", rerun=rerun))
    assert line is not None
    assert shlex.split(line) == [
        "promptreview",
        "check",
        "--base",
        "abc123",
        "--config",
        "ci/promptreview.yml",
        "--model",
        "sim:triage-v1?parse_failure=0.1",
        "--samples",
        "1",
    ]
    spaced = Rerun("compare", "my prompts/a.txt", "my prompts/b.txt")
    line = reproduce_command(replace(review(), config=None, rerun=spaced))
    assert line is not None and shlex.split(line)[2:] == ["my prompts/a.txt", "my prompts/b.txt"]


def test_no_remedies_beside_parse_failures_that_did_not_rise():
    p = replace(regression(), parse_failure_kinds={"not_json": 40})
    calm = replace(p.rates["parse_failure"], gate="pass", delta=-0.007)
    assert parse_failure_table(replace(p, rates={**p.rates, "parse_failure": calm}, verdict="warn")) == []
    assert parse_failure_table(p) != []  # the gate failed: here they are the news


def test_the_cold_start_line_says_what_is_unknown_and_why():
    from promptreview.report.document import ColdStart
    from promptreview.report.wording import cold_start_line

    unknown = ColdStart("openai:a", "openai:b", None, 50.0, 12, None, None)
    assert cold_start_line(unknown, planned=True) == (
        "prompt-cache cold start on openai:b: unknown until the base side has run (no answer of its model "
        "reported cached tokens)"
    )
    assert cold_start_line(unknown) == (
        "prompt-cache cold start on openai:b: unknown (the provider reported no cached tokens on the base side)"
    )
    unpriced = ColdStart("openai:a", "openai:b", 0.5, 50.0, 12, None, None)
    assert cold_start_line(unpriced) == (
        "prompt-cache cold start on openai:b: 50% of the base side's input tokens came from the provider's "
        "cache; the extra cost is unknown (no price for openai:b)"
    )
    assert cold_start_line(None) is None


def test_the_planned_cold_start_line_names_the_plans_calls_and_that_its_tokens_are_estimates():
    from promptreview.report.document import ColdStart
    from promptreview.report.wording import cold_start_line

    planned = ColdStart("openai:a", "openai:b", 0.64, 26.0, 12, 0.004992, 0.0000599)
    assert cold_start_line(planned, planned=True) == (
        "prompt-cache cold start on openai:b: 64% of the base side's input tokens came from the provider's "
        "cache; until the head's cache warms that share costs the full input price: +$0.0050 per 1,000 calls "
        "(+$0.0001 for the plan's 12 head calls, at their estimated input tokens)"
    )


@pytest.mark.e2e
def test_each_tool_rate_has_one_name_in_every_format(git_repo, run_cli):
    """A tool fault's rate is named by `RATE_LABELS` in the table, the gate's warning, the check summary and
    the `--plan` lines: never by its key with the underscores taken out ("tool invalid json")."""
    import json as json_

    from promptreview.report.notes import RATE_LABELS

    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}

    def prompt(model: str) -> str:
        messages = [
            {"role": "system", "content": "Use the get_weather tool."},
            {"role": "user", "content": "{{q}}"},
        ]
        return json_.dumps({"model": model, "messages": messages, "tools": [tool]})

    rows = [{"id": f"q{i}", "q": f"Weather in city {i}?"} for i in range(40)]
    git_repo.write("questions.jsonl", "\n".join(json_.dumps(r) for r in rows) + "\n")
    git_repo.write("base.prompt.yml", prompt("sim:tools-v1"))
    git_repo.write("head.prompt.yml", prompt("sim:tools-v1?tool_invalid_json=0.5"))
    git_repo.write(
        "promptreview.yml",
        "version: 1\nmodel: sim:tools-v1\nsamples: 1\nprompts:\n  - files: '*.prompt.yml'\n"
        "    suite: questions.jsonl\n    output: text\n    sample: {size: 40, seed: 3}\n",
    )
    said = {}
    for how in (["--plan"], ["--format", "text"], ["--format", "markdown"], ["--format", "html"]):
        result = run_cli(["compare", "base.prompt.yml", "head.prompt.yml", *how], git_repo.root)
        assert result.code in (0, 1), result.err
        said[how[-1]] = result.out
    for how, out in said.items():
        for key in ("tool_missing", "tool_unknown", "tool_invalid_json", "tool_invalid_arguments"):
            assert key.replace("_", " ") not in out, (how, key)
            assert RATE_LABELS[key] in out, (how, key)  # type: ignore[index]
    assert f"{RATE_LABELS['tool_invalid_json']} rate 0.0% →" in said["text"]  # the gate's warning
