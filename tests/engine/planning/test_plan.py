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


def test_a_migration_runs_each_prompt_as_it_is_on_its_model_and_on_the_candidate(git_repo):
    import pytest

    from promptreview.engine.jobs import ReviewOptions
    from promptreview.engine.planning.plan import plan_migration
    from promptreview.errors import UsageError
    from promptreview.providers import parse_model_spec
    from promptreview.sources.changes import current_prompts
    from promptreview.sources.config import parse_config

    config = parse_config(
        "version: 1\nmodel: sim:a-v1\nmodels: [sim:b-v1, sim:c-v1]\nsamples: 2\n"
        "prompts:\n  - files: 'p/*'\n    suite: s.jsonl\n    output: text\n"
    )
    git_repo.write("s.jsonl", '{"q": "one"}\n{"q": "two"}\n{"q": "three"}\n')
    git_repo.write("p/x.txt", "Answer {{q}}\n")
    git_repo.write(
        "p/y.prompt.yml", "model: sim:c-v1\nmessages:\n  - {role: user, content: 'Reply to {{q}}'}\n"
    )
    git_repo.commit("base")
    opts = ReviewOptions(repo_root=git_repo.root, env={})
    prompts = current_prompts(git_repo.root, config, None)
    plan = plan_migration(opts, config, prompts, parse_model_spec("sim:b-v1"))
    assert [(j.path, str(j.sides[0].model), str(j.head.model)) for j in plan.jobs] == [
        ("p/x.txt", "sim:a-v1", "sim:b-v1"),
        ("p/y.prompt.yml", "sim:c-v1", "sim:b-v1"),
    ]
    for job in plan.jobs:  # the same prompt and inputs, sample by sample, on both sides
        sides = {side: [(c.input_id, c.sample, c.request.messages) for c in job.calls if c.side == side]
                 for side in ("base", "head")}  # fmt: skip
        assert sides["base"] == sides["head"] and len(sides["base"]) == 3 * 2
    # --from: only the prompts on that model; one already on the candidate is listed, not run
    plan = plan_migration(opts, config, prompts, parse_model_spec("sim:c-v1"), parse_model_spec("sim:c-v1"))
    assert not plan.jobs and [(i.path, i.note.kind) for i in plan.listed] == [
        ("p/y.prompt.yml", "already_on_model")
    ]
    with pytest.raises(UsageError, match=r"--from sim:z-v1: no selected prompt runs on it \(they run on "):
        plan_migration(opts, config, prompts, parse_model_spec("sim:b-v1"), parse_model_spec("sim:z-v1"))
