"""The parts of `drift` that are not a whole run (those are in tests/e2e/test_drift.py): the fresh side's own
cache keys, the gates drift makes count, and the plan of every prompt at a revision."""

from __future__ import annotations

import json
from pathlib import Path

from promptreview.engine.drift import fresh_sample, gating_answers
from promptreview.engine.execution.cache import ResponseCache
from promptreview.engine.jobs import ReviewOptions
from promptreview.engine.planning.plan import plan_current
from promptreview.providers.sim.model_id import validate_model_id
from promptreview.providers.sim.provider import simulate
from promptreview.sources.changes import prompts_at
from promptreview.sources.config import load_config, parse_config
from tests.servers import make_request

CONFIG = """version: 1
model: sim:triage-v1
samples: 2
prompts:
  - files: "prompts/*.txt"
    suite: data/inputs.jsonl
"""


def test_a_fresh_sample_is_never_the_recorded_answers_key_nor_another_runs():
    recorded = make_request(params={"temperature": 0.7})
    fresh = [recorded.with_sample(fresh_sample("2026-12-07T10:00:00.000000Z", k)) for k in range(3)]
    later = recorded.with_sample(fresh_sample("2026-12-07T11:00:00.000000Z", 0))
    keys = {recorded.cache_key(), *(r.cache_key() for r in fresh), later.cache_key()}
    assert len(keys) == 5
    # a review's sample 1 is not drift's "1": the index is encoded as JSON, a text never equals a number
    assert recorded.with_sample(1).cache_key() != recorded.with_sample("1").cache_key()
    # the sim draws afresh for them (temperature > 0): independent draws of one model, the A/A of drift
    model = validate_model_id("triage-v1")
    texts = {simulate(recorded.with_sample(fresh_sample("t", k)), model).text for k in range(20)}
    assert len(texts) > 1


def test_the_fresh_answers_are_kept_under_their_own_key_and_say_when(tmp_path):
    cache = ResponseCache(tmp_path / "cache.sqlite")
    recorded = make_request()
    fresh = recorded.with_sample(fresh_sample("2026-12-07T10:00:00.000000Z", 0))
    model = validate_model_id("triage-v1")
    cache.put(recorded, simulate(recorded, model))
    cache.put(fresh, simulate(fresh, model))
    when = cache.recorded_at([recorded.cache_key(), fresh.cache_key(), "missing"])
    assert set(when) == {recorded.cache_key(), fresh.cache_key()}
    assert all(isinstance(t, float) and t > 1.7e9 for t in when.values())
    asked = [request["sample_index"] for request, _ in cache.entries()]
    cache.close()
    assert asked == [0, "drift@2026-12-07T10:00:00.000000Z#0"]  # the audit trail says which run asked


def test_drift_gates_the_flip_rate_and_the_distribution_shift_at_the_configs_margins():
    config = parse_config(CONFIG + "gates:\n  flip_rate: {max_increase: 0.1, gating: false}\n")
    gates = gating_answers(config).gates
    assert gates["flip_rate"].gating and gates["flip_rate"].max_increase == 0.1
    assert gates["distribution_shift"].gating
    assert gates["parse_failure"] == config.gates["parse_failure"]
    assert not config.gates["flip_rate"].gating  # the config itself is left as it was


def test_every_prompt_at_a_revision_is_planned_unchanged_every_part_of_a_multi_prompt_file(git_repo):
    git_repo.write("promptreview.yml", CONFIG.replace('"prompts/*.txt"', '"prompts/*"'))
    git_repo.write(
        "data/inputs.jsonl",
        "".join(json.dumps({"id": f"r{i}", "q": f"question {i}"}) + "\n" for i in range(3)),
    )
    git_repo.write("prompts/one.txt", "Answer briefly: {{q}}\n")
    git_repo.write("prompts/two.txt", "First: {{q}}\n---\nSecond: {{q}}\n")  # promptfoo: two prompts
    git_repo.write("prompts/_partial.prompt", "a Dotprompt partial: no prompt of its own\n")
    git_repo.write("notes/other.txt", "outside the globs\n")
    sha = git_repo.commit("prompts")
    git_repo.write(
        "prompts/one.txt", "an uncommitted edit: {{q}}\n"
    )  # drift reads HEAD, not the working tree
    root = Path(git_repo.root)
    config = load_config(root, "promptreview.yml", sha.strip())
    found = prompts_at(root, config, sha)
    assert [(c.path, c.change, c.base == c.head) for c in found.prompts] == [
        ("prompts/one.txt", "modified", True),
        ("prompts/two.txt", "modified", True),
    ]
    assert found.prompts[0].head == b"Answer briefly: {{q}}\n"
    assert [c.path for c in prompts_at(root, config, sha, "prompts/two*").prompts] == ["prompts/two.txt"]

    opts = ReviewOptions(repo_root=root, env={}, config_rev=sha, base=sha, head=sha)
    plan = plan_current(opts, config, prompts_at(root, config, sha, "prompts/[ot]*"))
    assert [job.path for job in plan.jobs] == ["prompts/one.txt", "prompts/two.txt#1", "prompts/two.txt#2"]
    for job in plan.jobs:
        assert job.change == "modified" and [s.name for s in job.sides] == ["base", "head"]
        base = [c.request.cache_key() for c in job.calls if c.side == "base"]
        head = [c.request.cache_key() for c in job.calls if c.side == "head"]
        assert base == head and len(base) == 3 * 2  # the same requests: what a review of the prompt asks
