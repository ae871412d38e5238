"""Event payloads (the real octokit webhook examples) -> `Event`."""

from __future__ import annotations

import copy
import json

import pytest

from promptreview.errors import UsageError
from promptreview.github.event import load_event, parse_event
from tests.conftest import FIXTURES

GITHUB = FIXTURES / "github"


def payload(name: str) -> dict:
    return json.loads((GITHUB / f"pull_request.{name}.json").read_text("utf-8"))


def labeled(base: dict, label: str, actor: str = "maintainer", action: str = "labeled") -> dict:
    """A `labeled` webhook: the PR's labels after the change, the label, and the sender."""
    data = copy.deepcopy(base)
    data["action"] = action
    data["label"] = {
        "id": 99,
        "node_id": "LA_99",
        "url": "https://api.github.com/x",
        "name": label,
        "color": "0e8a16",
        "default": False,
        "description": None,
    }
    labels = [lab for lab in data["pull_request"]["labels"] if lab["name"] != label]
    if action == "labeled":
        labels.append(data["label"])
    data["pull_request"]["labels"] = labels
    data["pull_request"]["updated_at"] = "2024-05-02T10:00:00Z"
    data["sender"] = {**data["sender"], "login": actor}
    return data


@pytest.mark.parametrize("name", ["opened", "synchronize", "opened.with-organization"])
def test_real_pull_request_payloads(name):
    data = payload(name)
    event = parse_event("pull_request", data, {"GITHUB_REPOSITORY": "Codertocat/Hello-World"})
    pr = data["pull_request"]
    assert event.skip_reason is None
    assert event.base_sha == pr["base"]["sha"] and event.head_sha == pr["head"]["sha"]
    assert event.pr_number == data["number"] == 2
    assert event.fork is False
    assert event.labels == ("bug",)
    assert event.repository == "Codertocat/Hello-World"
    assert event.owner_repo == ("Codertocat", "Hello-World")
    assert event.sender == "Codertocat"


def test_closed_pull_request_is_skipped():
    event = parse_event("pull_request", payload("closed"), {})
    assert event.skip_reason and "closed" in event.skip_reason


def test_labeled_event_records_who_and_when():
    event = parse_event("pull_request", labeled(payload("opened"), "promptreview/accept", "alice"), {})
    assert event.skip_reason is None
    assert "promptreview/accept" in event.labels
    change = event.label_change
    assert change is not None and change.action == "labeled"
    assert (change.name, change.actor, change.at) == ("promptreview/accept", "alice", "2024-05-02T10:00:00Z")


def test_unlabeled_event_drops_the_label():
    data = labeled(payload("opened"), "promptreview/accept", "bob", action="unlabeled")
    event = parse_event("pull_request", data, {})
    assert "promptreview/accept" not in event.labels
    assert event.label_change is not None and event.label_change.action == "unlabeled"


def test_fork_is_detected_and_a_deleted_fork_too():
    data = payload("opened")
    data["pull_request"]["head"]["repo"] = {
        **data["pull_request"]["head"]["repo"],
        "full_name": "mallory/Hello-World",
        "fork": True,
    }
    assert parse_event("pull_request", data, {}).fork is True
    data["pull_request"]["head"]["repo"] = None
    event = parse_event("pull_request", data, {})
    assert event.fork is True and event.head_repository is None


def test_pull_request_target_is_read_like_pull_request():
    event = parse_event("pull_request_target", payload("synchronize"), {})
    assert event.name == "pull_request_target" and event.pr_number == 2 and event.skip_reason is None


def test_merge_group():
    data = {
        "action": "checks_requested",
        "merge_group": {
            "head_sha": "a" * 40,
            "head_ref": "refs/heads/gh-readonly-queue/main/pr-2-" + "b" * 40,
            "base_sha": "b" * 40,
            "base_ref": "refs/heads/main",
            "head_commit": {},
        },
        "repository": payload("opened")["repository"],
        "sender": payload("opened")["sender"],
    }
    event = parse_event("merge_group", data, {})
    assert (event.base_sha, event.head_sha, event.pr_number) == ("b" * 40, "a" * 40, None)
    assert event.skip_reason is None
    data["action"] = "destroyed"
    assert parse_event("merge_group", data, {}).skip_reason


def test_workflow_dispatch_takes_inputs_or_the_run_sha():
    data = {
        "inputs": {},
        "ref": "refs/heads/feature",
        "repository": payload("opened")["repository"],
        "sender": payload("opened")["sender"],
        "workflow": ".github/workflows/promptreview.yml",
    }
    event = parse_event("workflow_dispatch", data, {"GITHUB_SHA": "c" * 40})
    assert event.head_sha == "c" * 40 and event.base_sha is None and event.default_branch == "master"
    data["inputs"] = {"base": "main", "head": "d" * 40}
    event = parse_event("workflow_dispatch", data, {"GITHUB_SHA": "c" * 40})
    assert (event.base_sha, event.head_sha) == ("main", "d" * 40)


def test_the_maintainer_run_names_the_pull_request_and_the_exact_commit():
    data = {
        "inputs": {"head": "d" * 40, "pull-request": "#12"},
        "ref": "refs/heads/master",
        "repository": payload("opened")["repository"],
        "sender": payload("opened")["sender"],
    }
    event = parse_event("workflow_dispatch", data, {"GITHUB_SHA": "c" * 40})
    assert (event.pr_number, event.head_sha, event.fork) == (12, "d" * 40, False)
    for inputs, words in [
        ({"head": "d" * 40, "pull-request": "12; rm -rf"}, "must be a number"),
        ({"head": "feature", "pull-request": "12"}, "full 40-character SHA"),
        ({"pull-request": "12"}, "full 40-character SHA"),  # not the run's own commit either
    ]:
        with pytest.raises(UsageError, match=words):
            parse_event("workflow_dispatch", {**data, "inputs": inputs}, {"GITHUB_SHA": "c" * 40})


def test_the_pull_requests_author_is_read():
    assert parse_event("pull_request", payload("opened")).author == "Codertocat"


def test_unsupported_event_is_skipped_not_an_error():
    event = parse_event("push", {"repository": {"full_name": "o/r"}}, {})
    assert event.skip_reason and "pull_request" in event.skip_reason


def test_load_event_from_the_environment(tmp_path):
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload("opened")))
    event = load_event(
        {
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(path),
            "GITHUB_REPOSITORY": "Codertocat/Hello-World",
        }
    )
    assert event.pr_number == 2


@pytest.mark.parametrize(
    "env, words",
    [
        ({}, "GITHUB_EVENT_NAME"),
        ({"GITHUB_EVENT_NAME": "pull_request"}, "GITHUB_EVENT_PATH"),
        ({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "/nonexistent/e.json"}, "does not exist"),
    ],
)
def test_load_event_errors_name_the_variable(env, words):
    with pytest.raises(UsageError, match=words):
        load_event(env)


def test_payload_without_shas_is_a_usage_error():
    data = payload("opened")
    del data["pull_request"]["head"]["sha"]
    with pytest.raises(UsageError, match="head.sha"):
        parse_event("pull_request", data, {})


def test_the_label_change_wins_over_a_stale_label_list():
    data = labeled(payload("opened"), "promptreview/accept")
    data["pull_request"]["labels"] = []
    assert "promptreview/accept" in parse_event("pull_request", data, {}).labels
    data = labeled(payload("opened"), "promptreview/accept", action="unlabeled")
    data["pull_request"]["labels"].append(dict(data["label"]))
    assert "promptreview/accept" not in parse_event("pull_request", data, {}).labels


def test_a_head_repository_marked_fork_is_a_fork():
    data = payload("opened")
    data["pull_request"]["head"]["repo"]["fork"] = True
    assert parse_event("pull_request", data, {}).fork is True
    data["pull_request"]["base"]["repo"]["fork"] = True  # a PR inside a fork repository is not from a fork
    assert parse_event("pull_request", data, {}).fork is False


def edited(changes: dict) -> dict:
    """An `edited` webhook as GitHub sends it (octokit's pull_request$edited schema): the pull request as it is
    now (a retarget: its new base), and `changes` naming what was before."""
    data = payload("opened")
    data["action"] = "edited"
    data["changes"] = changes
    return data


def test_an_edited_event_that_retargets_the_base_is_reviewed_against_the_new_base():
    data = edited({"base": {"ref": {"from": "evil-base"}, "sha": {"from": "e" * 40}}})
    event = parse_event("pull_request", data)
    assert event.skip_reason is None
    assert (event.base_ref, event.base_sha) == (
        data["pull_request"]["base"]["ref"],
        data["pull_request"]["base"]["sha"],
    )


def test_an_edited_event_that_changes_only_the_title_or_body_is_skipped():
    for changes in ({"title": {"from": "old title"}}, {"body": {"from": "old"}, "title": {"from": "t"}}):
        assert "title or body" in (parse_event("pull_request", edited(changes)).skip_reason or "")
    no_changes = edited({})
    del no_changes["changes"]  # a payload that does not say what changed: reviewed
    assert parse_event("pull_request", no_changes).skip_reason is None
