"""The fake GitHub API holds requests to GitHub's REST description (so passing tests mean something)."""

from __future__ import annotations

import requests

from tests.fakegithub import fake_github, load_spec  # noqa: F401


def call(fake, method, path, body=None, token=None, params=None):
    headers = {"Authorization": f"token {token or fake.token}"}
    return requests.request(method, fake.url + path, json=body, headers=headers, params=params, timeout=5)


def test_unknown_path_and_wrong_method_are_rejected(fake_github):  # noqa: F811
    assert call(fake_github, "GET", "/repos/o/r/not-an-endpoint").status_code == 404
    assert (
        call(fake_github, "PUT", "/repos/o/r/check-runs", {"name": "x", "head_sha": "a"}).status_code == 405
    )
    assert len(fake_github.rejected) == 2


def test_bodies_are_validated_against_the_operation_schema(fake_github):  # noqa: F811
    r = call(fake_github, "POST", "/repos/o/r/check-runs", {"name": "x"})
    assert r.status_code == 422 and "head_sha" in fake_github.rejected[-1]
    r = call(
        fake_github, "POST", "/repos/o/r/check-runs", {"name": "x", "head_sha": "a", "conclusion": "passed"}
    )
    assert r.status_code == 422 and "passed" in fake_github.rejected[-1]
    r = call(fake_github, "POST", "/repos/o/r/statuses/abc", {"state": "neutral"})
    assert r.status_code == 422
    r = call(fake_github, "POST", "/repos/o/r/issues/1/comments", {"text": "no body key"})
    assert r.status_code == 422
    annotations = [
        {"path": "p", "start_line": 1, "end_line": 1, "annotation_level": "notice", "message": "m"}
    ]
    bad = [{**annotations[0], "annotation_level": "info"}]
    ok = {"name": "x", "head_sha": "a", "output": {"title": "t", "summary": "s", "annotations": annotations}}
    assert call(fake_github, "POST", "/repos/o/r/check-runs", ok).status_code == 201
    ok["output"]["annotations"] = bad
    assert call(fake_github, "POST", "/repos/o/r/check-runs", ok).status_code == 422


def test_parameters_are_validated(fake_github):  # noqa: F811
    assert call(fake_github, "GET", "/repos/o/r/issues/x/comments").status_code == 422
    assert (
        call(fake_github, "GET", "/repos/o/r/issues/1/comments", params={"colour": "red"}).status_code == 422
    )
    assert (
        call(fake_github, "GET", "/repos/o/r/issues/1/comments", params={"per_page": "100"}).status_code
        == 200
    )


def test_authorization_is_required(fake_github):  # noqa: F811
    assert call(fake_github, "GET", "/repos/o/r/issues/1/comments", token="wrong").status_code == 401


def test_answers_validate_against_the_response_schemas(fake_github):  # noqa: F811
    created = call(fake_github, "POST", "/repos/o/r/issues/1/comments", {"body": "hi"}).json()
    listed = call(fake_github, "GET", "/repos/o/r/issues/1/comments").json()
    spec = load_spec()
    op, _, _ = spec.match("GET", "/repos/o/r/issues/1/comments")
    assert spec.errors(spec.response_schema_pointer(op, 200), listed) == []
    assert listed[0]["id"] == created["id"] and created["url"].startswith(fake_github.url)
    # and a wrong answer would be caught: the check is not vacuous
    assert spec.errors(spec.response_schema_pointer(op, 200), [{"id": "not-an-int"}]) != []
    assert fake_github.errors == []


def test_openapi_nullable_is_understood():
    spec = load_spec()
    op, _, _ = spec.match("POST", "/repos/o/r/statuses/abc")
    pointer = spec.request_schema_pointer(op)
    assert spec.errors(pointer, {"state": "success", "description": None}) == []
