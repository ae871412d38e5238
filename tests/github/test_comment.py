"""The sticky comment: fitting under GitHub's limit, and create / edit / never duplicate against the fake API."""

from __future__ import annotations

import pytest

from promptreview.github.api import connect
from promptreview.github.comment import (
    COMMENT_LIMIT,
    SAFE_LIMIT,
    fit_comment,
    marker,
    publish_sticky,
    read_marker,
)
from tests.fakegithub import FakeGitHub, fake_github, human_user  # noqa: F401

REPO = "octo-org/prompts"


def body(verdict: str = "pass", text: str = "report") -> str:
    return f"{marker('promptreview', verdict)}\n## promptreview\n{text}\n"


@pytest.fixture
def repo(fake_github):  # noqa: F811
    return connect(fake_github.token, fake_github.url, REPO)


def assert_clean(fake: FakeGitHub) -> None:
    assert fake.rejected == [] and fake.errors == []


# -- marker and fitting ---------------------------------------------------------------------------------


def test_marker_round_trip_and_key_sanitising():
    text = marker("my check / 2 <x>", "fail") + "\nbody"
    key, verdict = read_marker(text)
    assert verdict == "fail" and "<" not in key and " " not in key
    assert read_marker("no marker here") is None
    assert read_marker("text first\n" + marker("promptreview", "pass")) is None  # must lead the body


def test_fit_keeps_a_short_body_whole():
    out, shortened = fit_comment("HEAD\n", "report\n", "\nTAIL")
    assert out == "HEAD\nreport\n\nTAIL" and shortened is False


def _report(n_examples: int, example_len: int = 600) -> tuple[str, str]:
    tables = (
        "## ❌ promptreview: FAIL\n\n| rate | base | head |\n|---|---|---|\n| parse failure | 0% | 12% |\n"
    )
    examples = (
        "\n<details><summary>Examples that broke</summary>\n\n"
        + "".join(f"- example {i}: " + "x" * example_len + "\n" for i in range(n_examples))
        + "\n</details>\n"
    )
    return tables + examples + "\n<sub>calls</sub>\n", tables + "\n<sub>calls</sub>\n"


def test_a_70000_character_report_drops_the_examples_first():
    full, short = _report(120)
    assert len(full) > 70_000
    out, shortened = fit_comment("HEAD\n", full, "\nTAIL", short=lambda: short, report_link="https://run/1")
    assert shortened and len(out) <= SAFE_LIMIT < COMMENT_LIMIT
    assert "| parse failure | 0% | 12% |" in out  # the verdict and the tables stay
    assert "example 0" not in out
    assert "examples omitted" in out and "[job summary](https://run/1)" in out
    assert out.startswith("HEAD\n") and out.endswith("\nTAIL")


def test_when_even_the_short_report_is_too_long_it_is_cut_and_blocks_closed():
    tables = (
        "## verdict\n\n<details><summary>Per stratum</summary>\n\n```\n"
        + "row\n" * 30_000
        + "```\n</details>\n"
    )
    out, shortened = fit_comment("HEAD\n", tables + "EXAMPLES", "\nTAIL", short=lambda: tables)
    assert shortened and len(out) <= SAFE_LIMIT
    assert out.startswith("HEAD\n## verdict")
    assert out.count("<details") == out.count("</details>")
    fences = [line for line in out.split("\n") if line.startswith("```")]
    assert len(fences) % 2 == 0
    assert "characters cut" in out and "job summary" in out


# -- publishing -----------------------------------------------------------------------------------------


def test_first_run_creates_one_comment_second_run_edits_it(fake_github, repo):  # noqa: F811
    first = publish_sticky(repo, 7, "promptreview", body("fail", "one"), create=True)
    assert first.action == "created" and first.url and first.url.endswith(f"#issuecomment-{first.comment_id}")
    second = publish_sticky(repo, 7, "promptreview", body("pass", "two"), create=True)
    assert second.action == "updated" and second.comment_id == first.comment_id
    (live,) = fake_github.live_comments(7)
    assert "two" in live["body"] and fake_github.edits == 1
    assert len(fake_github.calls_to("issues/create-comment")) == 1
    assert_clean(fake_github)


def test_identical_body_is_still_edited_every_run(fake_github, repo):  # noqa: F811
    publish_sticky(repo, 7, "promptreview", body(), create=True)
    publish_sticky(repo, 7, "promptreview", body(), create=True)
    publish_sticky(repo, 7, "promptreview", body(), create=True)
    assert len(fake_github.live_comments(7)) == 1 and fake_github.edits == 2


def test_no_change_creates_nothing_but_updates_an_existing_comment(fake_github, repo):  # noqa: F811
    skipped = publish_sticky(repo, 7, "promptreview", body("skipped"), create=False)
    assert skipped.action == "skipped" and fake_github.live_comments(7) == []
    publish_sticky(repo, 7, "promptreview", body("fail"), create=True)
    back = publish_sticky(repo, 7, "promptreview", body("skipped", "back to unchanged"), create=False)
    assert back.action == "updated"
    assert "back to unchanged" in fake_github.live_comments(7)[0]["body"]


def test_other_comments_and_other_keys_are_left_alone(fake_github, repo):  # noqa: F811
    fake_github.add_comment(REPO, 7, "LGTM", human_user("alice"))
    fake_github.add_comment(REPO, 7, marker("other-check", "pass") + "\nother", None)
    fake_github.add_comment(REPO, 8, body("pass", "PR 8"))
    publish_sticky(repo, 7, "promptreview", body("fail", "mine"), create=True)
    publish_sticky(repo, 7, "promptreview", body("fail", "mine again"), create=True)
    bodies = sorted(c["body"] for c in fake_github.live_comments(7))
    assert len(bodies) == 3 and "LGTM" in bodies and any("other" in b for b in bodies)
    assert "PR 8" in fake_github.live_comments(8)[0]["body"]


def test_a_human_pasting_the_marker_does_not_take_over(fake_github, repo):  # noqa: F811
    pasted = fake_github.add_comment(REPO, 7, body("pass", "quoted by a human"), human_user("mallory"))
    ours = fake_github.add_comment(REPO, 7, body("pass", "ours"))
    result = publish_sticky(repo, 7, "promptreview", body("fail", "new"), create=True)
    assert result.comment_id == ours["id"]
    assert fake_github.comments[pasted["id"]]["body"].endswith("quoted by a human\n")


def test_a_marker_the_author_posts_first_is_never_adopted(fake_github, repo):  # noqa: F811
    """Before promptreview ever commented, the PR's author posts a comment carrying the marker: the bot must
    not edit it (the verdict would then sit in the author's own comment, which they can change at will)."""
    planted = fake_github.add_comment(REPO, 7, body("pass", "planted by the author"), human_user("mallory"))
    result = publish_sticky(repo, 7, "promptreview", body("fail", "the real verdict"), create=True)
    assert result.action == "created" and result.comment_id != planted["id"]
    assert fake_github.comments[planted["id"]]["body"].endswith("planted by the author\n")
    assert fake_github.edits == 0
    # and a run that only updates (nothing changed) leaves it alone too
    assert publish_sticky(repo, 8, "promptreview", body("skipped"), create=False).action == "skipped"
    fake_github.add_comment(REPO, 9, body("pass", "planted"), human_user("mallory"))
    assert publish_sticky(repo, 9, "promptreview", body("skipped"), create=False).action == "skipped"
    assert_clean(fake_github)


def test_deleted_comment_is_recreated(fake_github, repo):  # noqa: F811
    first = publish_sticky(repo, 7, "promptreview", body(), create=True)
    fake_github.delete_comment(first.comment_id)
    again = publish_sticky(repo, 7, "promptreview", body(), create=True)
    assert again.action == "created" and again.comment_id != first.comment_id
    assert len(fake_github.live_comments(7)) == 1


def test_comment_deleted_between_listing_and_edit_is_recreated(fake_github, repo, monkeypatch):  # noqa: F811
    first = publish_sticky(repo, 7, "promptreview", body(), create=True)
    original = fake_github.op_issues__update_comment

    def vanish(params, query, data):
        fake_github.comments[first.comment_id]["_deleted"] = True
        return original(params, query, data)

    monkeypatch.setattr(fake_github, "op_issues__update_comment", vanish)
    again = publish_sticky(repo, 7, "promptreview", body(), create=True)
    assert again.action == "recreated" and len(fake_github.live_comments(7)) == 1


def test_hidden_comment_is_edited_in_place_while_the_verdict_holds(fake_github, repo):  # noqa: F811
    first = publish_sticky(repo, 7, "promptreview", body("fail", "v1"), create=True)
    fake_github.hide_comment(first.comment_id)
    same = publish_sticky(repo, 7, "promptreview", body("fail", "v2"), create=True)
    assert same.action == "updated" and same.detail == "hidden" and same.comment_id == first.comment_id


def test_hidden_comment_is_reposted_visibly_when_the_verdict_changes(fake_github, repo):  # noqa: F811
    first = publish_sticky(repo, 7, "promptreview", body("fail"), create=True)
    fake_github.hide_comment(first.comment_id)
    changed = publish_sticky(repo, 7, "promptreview", body("pass"), create=True)
    assert changed.action == "recreated" and changed.comment_id != first.comment_id
    (live,) = fake_github.live_comments(7)
    assert live["_minimized"] is None and read_marker(live["body"])[1] == "pass"
    assert_clean(fake_github)


def test_duplicates_from_a_race_are_collapsed_to_the_oldest(fake_github, repo):  # noqa: F811
    a = fake_github.add_comment(REPO, 7, body("pass", "a"))
    fake_github.add_comment(REPO, 7, body("pass", "b"))
    result = publish_sticky(repo, 7, "promptreview", body("pass", "c"), create=True)
    assert result.comment_id == a["id"]
    (live,) = fake_github.live_comments(7)
    assert live["id"] == a["id"] and "c" in live["body"]


def test_many_comments_are_paged_through(fake_github, repo):  # noqa: F811
    for i in range(230):
        fake_github.add_comment(REPO, 7, f"chatter {i}", human_user("alice"))
    ours = fake_github.add_comment(REPO, 7, body("pass", "ours"))
    result = publish_sticky(repo, 7, "promptreview", body("fail"), create=True)
    assert result.comment_id == ours["id"]
    assert len(fake_github.calls_to("issues/list-comments")) == 3
    assert_clean(fake_github)


def test_a_read_only_token_is_reported_not_raised(fake_github, repo):  # noqa: F811
    fake_github.deny["issues/create-comment"] = (403, "Resource not accessible by integration")
    result = publish_sticky(repo, 7, "promptreview", body(), create=True)
    assert result.action == "failed" and "403" in result.detail and "not accessible" in result.detail


def test_github_enterprise_api_prefix():
    fake = FakeGitHub(prefix="/api/v3").serve()
    try:
        repo = connect(fake.token, fake.url, REPO)
        assert fake.url.endswith("/api/v3")
        publish_sticky(repo, 3, "promptreview", body(), create=True)
        publish_sticky(repo, 3, "promptreview", body(), create=True)
        assert len(fake.live_comments(3)) == 1
        assert all(call.path.startswith("/api/v3/repos/") for call in fake.calls)
        assert_clean(fake)
    finally:
        fake.close()


def test_follow_up_requests_do_not_trust_the_answers_url_fields():
    """Edits and annotation PATCHes go to our API base even when answers name api.github.com."""
    from promptreview.github.checks import CheckSpec, publish_check

    fake = FakeGitHub(foreign_urls=True).serve()
    try:
        repo = connect(fake.token, fake.url, REPO)
        publish_sticky(repo, 3, "promptreview", body(), create=True)
        publish_sticky(repo, 3, "promptreview", body(), create=True)
        annotations = [
            {"path": "p", "start_line": 1, "end_line": 1, "annotation_level": "notice", "message": "m"}
        ]
        publish_check(
            repo, CheckSpec("promptreview", "a" * 40, "success", "t", "s", annotations=annotations * 60)
        )
        assert len(fake.live_comments(3)) == 1 and fake.edits == 1
        assert len(fake.calls_to("checks/update")) == 1
        assert_clean(fake)
    finally:
        fake.close()
