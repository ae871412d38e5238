"""Check runs (annotations in batches of 50), the commit-status fallback, and the check's words."""

from __future__ import annotations

import pytest

from promptreview.github.api import connect
from promptreview.github.checks import CheckSpec, annotations_for, gate_failures, publish_check
from promptreview.report.document import FlipRow, PromptReport, RateRow, Report
from promptreview.verdicts import PromptVerdict, ReviewVerdict
from tests.fakegithub import fake_github  # noqa: F401

REPO = "octo-org/prompts"
SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


@pytest.fixture
def repo(fake_github):  # noqa: F811
    return connect(fake_github.token, fake_github.url, REPO)


def annotation(i: int) -> dict:
    return {
        "path": f"prompts/p{i}.prompt.yml",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "warning",
        "message": f"m{i}",
    }


def spec(conclusion: str = "failure", n: int = 1, **kw) -> CheckSpec:
    return CheckSpec(
        name="promptreview",
        head_sha=SHA,
        conclusion=conclusion,
        title="Regression in 1 of 1",
        summary="## summary",
        annotations=[annotation(i) for i in range(n)],
        details_url="https://github.com/octo-org/prompts/actions/runs/1",
        **kw,
    )


def test_one_completed_check_run(fake_github, repo):  # noqa: F811
    result = publish_check(repo, spec("failure"))
    assert result.kind == "check_run" and result.annotations == 1
    (run,) = fake_github.check_runs.values()
    assert (run["name"], run["head_sha"], run["status"], run["conclusion"]) == (
        "promptreview",
        SHA,
        "completed",
        "failure",
    )
    assert run["_output"]["title"] == "Regression in 1 of 1"
    assert run["details_url"].endswith("/actions/runs/1")
    assert fake_github.rejected == [] and fake_github.errors == []


def test_more_than_50_annotations_go_in_patches(fake_github, repo):  # noqa: F811
    result = publish_check(repo, spec("failure", n=123))
    assert result.annotations == 123
    creates = fake_github.calls_to("checks/create")
    updates = fake_github.calls_to("checks/update")
    assert len(creates) == 1 and len(updates) == 2
    sizes = [len(c.body["output"]["annotations"]) for c in creates + updates]
    assert sizes == [50, 50, 23]
    (run,) = fake_github.check_runs.values()
    assert [a["message"] for a in run["_annotations"]] == [f"m{i}" for i in range(123)]
    assert fake_github.rejected == [] and fake_github.errors == []


@pytest.mark.parametrize(
    "conclusion, state",
    [
        ("success", "success"),
        ("failure", "failure"),
        ("action_required", "failure"),  # a status has no such state: it blocks, as the check run would
        ("neutral", "success"),  # only ever asked for by the base config's `fail_closed: false`
    ],
)
def test_falls_back_to_a_commit_status_when_check_runs_are_forbidden(fake_github, repo, conclusion, state):  # noqa: F811
    fake_github.deny["checks/create"] = (403, "You must authenticate via a GitHub App.")
    result = publish_check(repo, spec(conclusion))
    assert result.kind == "status" and "403" in result.detail
    (status,) = fake_github.statuses
    assert status["state"] == state and status["context"] == "promptreview" and status["_sha"] == SHA
    assert len(status["description"]) <= 140
    if conclusion in ("neutral", "action_required"):
        assert status["description"].startswith(conclusion.replace("_", " ") + ":")
    assert fake_github.check_runs == {}


def test_nothing_permitted_is_reported_not_raised(fake_github, repo):  # noqa: F811
    fake_github.deny["checks/create"] = (403, "Resource not accessible by integration")
    fake_github.deny["repos/create-commit-status"] = (403, "Resource not accessible by integration")
    result = publish_check(repo, spec())
    assert result.kind == "none" and "not permitted" in result.detail


def test_long_summary_is_cut_to_githubs_limit(fake_github, repo):  # noqa: F811
    publish_check(repo, CheckSpec("promptreview", SHA, "success", "t", "x" * 70_000))
    (run,) = fake_github.check_runs.values()
    assert len(run["_output"]["summary"]) == 65535
    assert fake_github.rejected == []


REPORT = Report(
    verdict=ReviewVerdict.FAIL,
    prompts=(
        PromptReport(
            path="prompts/a.prompt.yml",
            change="modified",
            verdict=PromptVerdict.FAIL,
            n_inputs=18,
            samples=3,
            rates={
                "parse_failure": RateRow(
                    base=0.0,
                    head=0.12,
                    delta=0.12,
                    p_value=0.0004,
                    p_adjusted=0.0008,
                    gate=PromptVerdict.FAIL,
                    max_increase=0.02,
                ),
                "refusal": RateRow(
                    base=0.0,
                    head=0.0,
                    delta=0.0,
                    p_value=1.0,
                    gate=PromptVerdict.PASS,
                    max_increase=0.02,
                ),
            },
            flip_rate=FlipRow(head_vs_base=0.3, noise_floor=0.1),
        ),
        PromptReport(
            path="prompts/b.prompt.yml",
            change="added",
            verdict=PromptVerdict.PASS,
            n_inputs=18,
            samples=3,
        ),
        PromptReport(
            path="prompts/c.prompt.yml",
            change="modified",
            verdict=PromptVerdict.WARN,
            rates={
                "schema_violation": RateRow(
                    base=0.01,
                    head=0.02,
                    delta=0.01,
                    p_value=0.2,
                    gate=PromptVerdict.WARN,
                    max_increase=0.02,
                )
            },
        ),
        PromptReport(path="prompts/gone.prompt.yml", change="removed", verdict=PromptVerdict.PASS),
    ),
)


def test_gate_failures_are_readable():
    (line,) = gate_failures(REPORT.prompts[0])
    assert line == "parse failure rate: 0.0% → 12.0% (+12.0 pp (p<0.001), allowed +2.0 pp)"
    assert gate_failures(REPORT.prompts[1]) == []
    assert "schema violation rate" in gate_failures(REPORT.prompts[2], (PromptVerdict.WARN,))[0]


def test_annotations_point_at_the_first_changed_line():
    notes = annotations_for(REPORT, {"prompts/a.prompt.yml": 7})
    assert [a["path"] for a in notes] == [
        "prompts/a.prompt.yml",
        "prompts/b.prompt.yml",
        "prompts/c.prompt.yml",
    ]
    a, b, c = notes
    assert (a["annotation_level"], a["start_line"], a["end_line"]) == ("failure", 7, 7)
    assert "parse failure rate" in a["message"]
    assert (b["annotation_level"], b["start_line"]) == ("notice", 1)
    assert c["annotation_level"] == "warning"
    accepted = annotations_for(REPORT, {}, accepted=True)[0]
    assert accepted["annotation_level"] == "warning" and "accepted" in accepted["title"]


def test_a_failed_quality_gate_is_named_in_the_check_annotation():
    from promptreview.github.checks import gate_failures
    from tests.report.test_quality import _report

    (prompt,) = _report().prompts
    assert gate_failures(prompt) == ["category = expected_category: 90.0% → 60.0% (-30.0 pp, p=0.002)"]
