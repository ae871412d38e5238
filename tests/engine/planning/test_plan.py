"""A prompt file's own rows in a git review (`engine/planning/plan.py`, `contract_rows`): the base's rows are
the contract and run alone (the rows the head adds are counted, not run: pooled, they would dilute a regression
on the contract's), and what the head drops or edits since the fork is named."""

from __future__ import annotations

from dataclasses import replace

from promptreview.engine.planning.plan import contract_rows
from promptreview.sources.template import PromptTemplate


def rows(*data: dict) -> PromptTemplate:
    from promptreview.sources.formats import load_prompts

    (template,) = load_prompts("p.prompt.yml", b"messages:\n  - {role: user, content: '{{x}}'}\n")
    return replace(template, suite=tuple(data), suite_source="testData")


def test_the_base_rows_run_alone_and_an_edit_keeps_the_base_version():
    base = rows({"id": "a", "x": 1}, {"id": "b", "x": 2})
    head = rows({"id": "a", "x": 9}, {"id": "c", "x": 3})
    run, removed, added = contract_rows(base, head, None)
    assert run == [{"id": "a", "x": 1}, {"id": "b", "x": 2}] and added == 1  # c is counted, not run
    assert removed == ("a", "b")  # a edited, b dropped


def test_rows_without_ids_are_named_by_their_base_row_number():
    base = rows({"x": 1}, {"x": 2}, {"x": 3})
    run, removed, added = contract_rows(base, rows({"x": 1}, {"x": 4}), None)
    assert run == [{"x": 1}, {"x": 2}, {"x": 3}] and removed == ("row2", "row3") and added == 1


def test_only_what_the_head_changed_since_the_fork_counts():
    tip = rows({"x": 1}, {"x": 2}, {"x": 5})  # main removed 3 and added 5 since the fork
    fork = rows({"x": 1}, {"x": 2}, {"x": 3})
    head = rows({"x": 1}, {"x": 3}, {"x": 6})  # the head dropped 2 and added 6
    run, removed, added = contract_rows(tip, head, None, fork)
    assert run == [{"x": 1}, {"x": 2}, {"x": 5}] and removed == ("row2",) and added == 1


def test_without_a_base_version_the_head_rows_are_the_suite():
    assert contract_rows(None, rows({"x": 1}), None) == ([{"x": 1}], (), 0)
