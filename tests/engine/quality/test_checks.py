"""Which quality checks apply and each completion's value under them (engine/quality/checks.py): the
matching rules of expectations and string evaluators, and a pull request checked with the base's evaluators.
(The paired tests: tests/stats/test_scores.py; the judges: test_judges.py; the config: tests/sources/test_evaluators.py;
the report's rows: tests/report/test_quality.py.)"""

from __future__ import annotations

import re

from promptreview.engine.quality.checks import expect_passes, normalise, string_passes
from promptreview.notes import note
from promptreview.report.notes import words
from promptreview.sources.config import parse_config
from promptreview.sources.evaluators import ExpectSpec, StringCheck
from promptreview.sources.formats import load_prompt

BASE_CONFIG = "version: 1\nprompts:\n  - files: a\n    suite: s.jsonl\n"


def test_expectations_match_after_normalising_whitespace_and_case():
    exact = ExpectSpec("category", "c")
    assert expect_passes(exact, {"category": " Billing  Issue"}, "billing issue")
    assert not expect_passes(exact, {"category": "billing"}, "billing issue")
    assert not expect_passes(exact, {"other": "billing"}, "billing")
    assert not expect_passes(exact, "billing", "billing")  # not an object: no field
    assert expect_passes(ExpectSpec("a.b", "c"), {"a": {"b": "X"}}, "x")
    assert expect_passes(ExpectSpec("flag", "c"), {"flag": True}, "TRUE")
    assert expect_passes(ExpectSpec("s", "c", "contains"), {"s": "A refund  was REQUESTED"}, "refund was")
    assert expect_passes(ExpectSpec("s", "c", "regex"), {"s": "order #123"}, re.compile(r"#\d+"))
    number = ExpectSpec("n", "c", "number", 0.5)
    assert expect_passes(number, {"n": 3.4}, 3.0) and not expect_passes(number, {"n": 3.6}, 3.0)
    assert not expect_passes(number, {"n": True}, 1.0)
    assert normalise("  A\n b ") == "a b"


def test_string_evaluators_fill_suite_variables_and_are_case_sensitive():
    row = {"name": "Ana", "n": 3}
    assert string_passes(StringCheck("contains", "{{name}}"), "Hi Ana!", row)
    assert not string_passes(StringCheck("contains", "{{name}}"), "hi ana!", row)
    assert string_passes(StringCheck("equals", "{{n}} items"), "  3 items\n", row)
    assert string_passes(StringCheck("startsWith", "Hi"), " Hi there", row)
    assert string_passes(StringCheck("endsWith", "{{ name }}!"), "Hi Ana!", row)


def _job(base_evaluators: str, head_evaluators: str, entry_extra: str = ""):
    from promptreview.engine.jobs import PromptJob, Side
    from promptreview.records import ModelSpec
    from promptreview.sources.suites import SuiteRow, SuiteSample

    def side(name: str, evaluators: str) -> Side:
        doc = "messages:\n  - {role: user, content: '{{q}}'}\n" + evaluators
        template = load_prompt("p.prompt.yml", doc.encode())
        return Side(name, template, ModelSpec("sim", "x"), {}, None, False)

    rows = (
        SuiteRow("r1", {"q": "a", "kind": "redteam"}, "all"),
        SuiteRow("r2", {"q": "b", "kind": "x"}, "all"),
    )
    sample = SuiteSample("s.jsonl", rows, (), frozenset({"q", "kind"}), 2, "all")
    entry = parse_config(BASE_CONFIG + entry_extra).prompts[0]
    sides = (side("base", base_evaluators), side("head", head_evaluators))
    return PromptJob(0, "p.prompt.yml", "modified", None, sample, sides, 1, (), (), entry)


def test_a_pull_request_is_checked_with_the_bases_evaluators():
    from promptreview.engine.quality.checks import plan_quality

    def ev(name: str, value: str) -> str:
        return f"  - {{name: {name}, string: {{contains: '{value}'}}}}\n"

    base = "evaluators:\n" + ev("kept", "a") + ev("changed", "strict") + ev("removed", "c")
    head = "evaluators:\n" + ev("kept", "a") + ev("changed", "lenient") + ev("added", "d") + ev("cfg", "e")
    extra = "    must_refuse: {column: kind, equals: redteam}\n    evaluators:\n" + ev("cfg", "z").replace(
        "  -", "      -"
    )
    job = _job(base, head, extra)
    plan = plan_quality(job, parse_config(BASE_CONFIG + extra))
    checks = {c.name: c for c in plan.checks}
    assert set(checks) == {"must_refuse", "cfg", "kept", "changed", "removed", "added"}
    assert checks["changed"].evaluator.string.value == "strict"  # the base's version on both sides
    assert checks["cfg"].evaluator.string.value == "z"  # the config's, not the prompt file's
    assert checks["added"].gate.gating is False  # the pull request's own check is reported, never gating
    assert checks["kept"].gate.gating is True
    assert plan.must_refuse == frozenset({"r1"})
    assert set(plan.notes) == {
        note("evaluator_changed", "changed", judge=False),
        note("evaluator_added", "added", judge=False),
        note("evaluator_removed", "removed"),
        note("evaluator_skipped", "cfg", origin="p.prompt.yml"),
    }
    said = " | ".join(words(n) for n in plan.notes)
    assert "the evaluator 'changed' changed in this pull request" in said and "'cfg' of p.prompt.yml" in said
    assert (
        "'added' is new in this pull request: both sides are checked with it, reported but not gating" in said
    )


def test_a_judge_the_pull_request_adds_is_never_called():
    from promptreview.engine.quality.checks import plan_quality

    judge = (
        "  - name: polite\n    llm:\n      modelId: openai:gpt-4o-mini-2024-07-18\n      prompt: '{{completion}}'\n"
        "      choices: [{choice: 'yes', score: 1}, {choice: 'no', score: 0}]\n"
    )
    plan = plan_quality(_job("", "evaluators:\n" + judge), parse_config(BASE_CONFIG))
    assert plan.checks == () and plan.judges == []
    assert plan.notes == (note("evaluator_added", "polite", judge=True),)
    assert "not called and not gating" in words(plan.notes[0])
