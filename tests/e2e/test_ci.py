"""`promptreview ci` end to end: a real temp git repository, the real engine on the `sim` model, the real
webhook payloads (base/head SHAs rewritten to the repository's commits), and a fake GitHub API that holds
every request to GitHub's REST description."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

import pytest

from promptreview.report.escape import unescape_md
from tests.conftest import FIXTURES, GitRepo, run_installed
from tests.e2e_helpers import STRICT, make_triage_repo, prompt_yml
from tests.fakegithub import FakeGitHub, fake_github  # noqa: F401
from tests.reports import assert_valid_report

pytestmark = pytest.mark.e2e  # runs whole reviews; `pytest -m "not e2e"` skips them

REPOSITORY = "Codertocat/Hello-World"  # the repository the octokit payloads name
FAILING_MODEL = "sim:triage-v1?parse_failure=0.6"
ACCEPT = "promptreview/accept"


def payload(name: str = "opened") -> dict:
    return json.loads((FIXTURES / "github" / f"pull_request.{name}.json").read_text("utf-8"))


class CI:
    """One PR in a temp repository and the environment GitHub Actions would give `promptreview ci`."""

    def __init__(self, repo: GitRepo, fake: FakeGitHub, tmp: Path) -> None:
        self.repo, self.fake, self.tmp = repo, fake, tmp
        self.base = self.head = ""
        self.runs = 0

    def pr(
        self,
        head_prompt: str | None = None,
        *,
        config: str | None = None,
        base_model: str | None = None,
        base_extra: str = "",
    ) -> None:
        """main: the triage repo; feature branch: one commit changing the prompt (and/or the config)."""
        # the failing sim model is one the base config allows a prompt file to move to (a model migration)
        extra = f"models: [sim:triage-v1, '{FAILING_MODEL}']\n" + base_extra
        self.base = make_triage_repo(self.repo, extra=extra)
        if base_model:
            self.repo.write(
                "promptreview.yml",
                self.repo.root.joinpath("promptreview.yml")
                .read_text()
                .replace("model: sim:triage-v1", f"model: {base_model}"),
            )
            self.base = self.repo.commit("base model")
        self.repo.git("checkout", "-q", "-b", "feature")
        if head_prompt is not None:
            self.repo.write("prompts/triage.prompt.yml", head_prompt)
        if config is not None:
            self.repo.write("promptreview.yml", config)
        self.head = self.repo.commit("feature change")

    def event(self, name: str = "opened", **changes) -> dict:
        data = payload(name)
        data["pull_request"]["base"]["sha"] = self.base
        data["pull_request"]["head"]["sha"] = self.head
        for key, value in changes.items():
            data[key] = value
        return data

    def env(self, data: dict, event_name: str = "pull_request", **extra: str) -> dict[str, str]:
        self.runs += 1
        event_path = self.tmp / f"event-{self.runs}.json"
        event_path.write_text(json.dumps(data), encoding="utf-8")
        self.summary = self.tmp / f"summary-{self.runs}.md"
        self.output = self.tmp / f"output-{self.runs}.txt"
        env = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_API_URL": self.fake.url,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_TOKEN": self.fake.token,
            "GITHUB_RUN_ID": "4242",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_OUTPUT": str(self.output),
            "RUNNER_TEMP": str(self.tmp / "runner-temp"),
            "RUNNER_OS": "Linux",
            "PROMPTREVIEW_CACHE_DIR": str(self.tmp / "cache"),
        }
        env.update(extra)
        return env

    def outputs(self) -> dict[str, str]:
        text = self.output.read_text("utf-8") if self.output.exists() else ""
        return {
            m.group(1): m.group(3) for m in re.finditer(r"^([^\n<]+)<<(\S+)\n(.*?)\n\2$", text, re.S | re.M)
        }

    def report(self) -> dict:
        """The run's report.json (the `report-path` output), held to the report's own schema."""
        data = json.loads(Path(self.outputs()["report-path"]).read_text("utf-8"))
        assert_valid_report(data)
        return data

    def comments(self) -> list[dict]:
        return self.fake.live_comments(2)

    def check_runs(self) -> list[dict]:
        return list(self.fake.check_runs.values())


@pytest.fixture
def ci(git_repo, fake_github, tmp_path):  # noqa: F811
    yield CI(git_repo, fake_github, tmp_path)
    assert fake_github.rejected == [], fake_github.rejected
    assert fake_github.errors == [], fake_github.errors


def run(run_cli, ci: CI, env: dict[str, str], *args: str):
    return run_cli(["ci", *args], ci.repo.root, env)


# -- the acceptance story -------------------------------------------------------------------------------


# `sim` needs no key, and a run without a credential neither trusts nor seals the response cache it finds
# (github/cache_seal.py): the explicit cache secret lets these runs hand their cache on, as a model key would
SEALED = {"PROMPTREVIEW_CACHE_SECRET": "a-cache-secret-for-the-tests"}


def test_regression_first_run_one_comment_one_check_second_run_edits(ci, run_cli):
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    first = run(run_cli, ci, ci.env(ci.event("opened"), **SEALED))
    assert first.code == 1, first.out + first.err
    (comment,) = ci.comments()
    (check,) = ci.check_runs()
    assert (
        check["conclusion"] == "failure" and check["head_sha"] == ci.head and check["name"] == "promptreview"
    )
    assert check["_output"]["title"].startswith("Regression in 1 of 1 prompt file")
    annotations = check["_annotations"]
    assert [a["path"] for a in annotations] == ["prompts/triage.prompt.yml"]
    assert (
        annotations[0]["annotation_level"] == "failure" and annotations[0]["start_line"] == 2
    )  # the model line
    assert comment["body"].startswith("<!-- promptreview:sticky key=promptreview verdict=fail -->")
    assert "parse failure" in comment["body"] and "actions/runs/4242" in comment["body"]
    outputs = ci.outputs()
    assert outputs["verdict"] == "fail" and outputs["comment-url"] == comment["html_url"]
    report = ci.report()
    assert report["verdict"] == "fail" and report["ci"]["config_from"] == "base"
    assert (
        "::error file=prompts/triage.prompt.yml,line=2,title=promptreview%3A regression::parse failure rate"
        in first.out
    )
    summary = ci.summary.read_text("utf-8")
    assert "promptreview" in summary and "parse failure" in summary
    # the HTML report is written for the Action to upload, and the comment and the job summary link it
    page = Path(outputs["html-path"]).read_text("utf-8")
    assert page.startswith("<!doctype html>") and "<svg" in page
    link = "[HTML report with charts](https://github.com/Codertocat/Hello-World/actions/runs/4242#artifacts)"
    assert link in comment["body"] and link in summary

    second = run(run_cli, ci, ci.env(ci.event("synchronize"), **SEALED))
    assert second.code == 1
    assert len(ci.comments()) == 1 and ci.comments()[0]["id"] == comment["id"]
    assert ci.fake.edits == 1
    assert len(ci.fake.calls_to("issues/create-comment")) == 1
    assert [c["conclusion"] for c in ci.check_runs()] == ["failure", "failure"]
    # the second run is answered from the response cache
    report2 = ci.report()
    assert report2["calls"]["cached"] == report2["calls"]["total"] > 0


@pytest.mark.parametrize("fail_on, code", [("regression", 1), ("warning", 1), ("never", 0)])
def test_exit_code_follows_fail_on_while_the_check_fails(ci, run_cli, fail_on, code):
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    result = run(run_cli, ci, ci.env(ci.event(), PROMPTREVIEW_FAIL_ON=fail_on))
    assert result.code == code
    assert ci.check_runs()[0]["conclusion"] == "failure"


def test_a_harmless_edit_passes(ci, run_cli):
    ci.pr(prompt_yml(STRICT + " Keep the summary short."))
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 0, result.out + result.err
    assert ci.check_runs()[0]["conclusion"] == "success"
    assert ci.outputs()["verdict"] == "pass"
    assert read_verdict(ci.comments()[0]) == "pass"


def read_verdict(comment: dict) -> str:
    return re.match(r"<!-- promptreview:sticky key=\S+ verdict=(\w+) -->", comment["body"]).group(1)


# -- overrides ------------------------------------------------------------------------------------------


def labeled(ci: CI, action: str, actor: str = "maintainer-alice") -> dict:
    data = ci.event("opened")
    label = {
        "id": 7,
        "node_id": "LA_7",
        "url": "https://api.github.com/repos/Codertocat/Hello-World/labels/x",
        "name": ACCEPT,
        "color": "0e8a16",
        "default": False,
        "description": None,
    }
    data["action"] = action
    data["label"] = label
    data["pull_request"]["labels"] = [lab for lab in data["pull_request"]["labels"] if lab["name"] != ACCEPT]
    if action == "labeled":
        data["pull_request"]["labels"].append(label)
    data["pull_request"]["updated_at"] = "2024-05-02T10:00:00Z"
    data["sender"] = {**data["sender"], "login": actor}
    return data


def test_accept_label_turns_the_failure_into_an_accepted_verdict_and_removing_it_re_evaluates(ci, run_cli):
    ci.fake.permissions["maintainer-alice"] = "write"
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    assert run(run_cli, ci, ci.env(ci.event())).code == 1

    accepted = run(run_cli, ci, ci.env(labeled(ci, "labeled")))
    assert accepted.code == 0, accepted.out + accepted.err
    assert ci.outputs()["verdict"] == "accepted"
    check = ci.check_runs()[-1]
    assert check["conclusion"] == "success"
    assert "accepted by maintainer-alice on 2024-05-02 10:00:00 UTC" in check["_output"]["title"]
    (comment,) = ci.comments()
    assert read_verdict(comment) == "accepted"
    assert "Regression accepted" in comment["body"] and "maintainer-alice" in comment["body"]
    assert "::warning file=prompts/triage.prompt.yml" in accepted.out  # still visible in the job
    assert ci.report()["ci"]["accepted"] == {
        "label": ACCEPT,
        "by": "maintainer-alice",
        "at": "2024-05-02T10:00:00Z",
    }

    removed = run(run_cli, ci, ci.env(labeled(ci, "unlabeled", "maintainer-bob")))
    assert removed.code == 1
    assert ci.check_runs()[-1]["conclusion"] == "failure"
    (comment,) = ci.comments()
    assert read_verdict(comment) == "fail" and "was removed by maintainer-bob" in comment["body"]


def with_accept_label(data: dict) -> dict:
    data["pull_request"]["labels"].append(
        {
            "id": 7,
            "node_id": "LA_7",
            "url": "https://x",
            "name": ACCEPT,
            "color": "0e8a16",
            "default": False,
            "description": None,
        }
    )
    return data


def test_a_label_applied_before_a_later_push_does_not_accept_the_new_commit(ci, run_cli):
    ci.fake.permissions["carol"] = "admin"
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    ci.fake.add_label_event(2, ACCEPT, "carol", "2024-05-03T09:30:00Z")
    result = run(run_cli, ci, ci.env(with_accept_label(ci.event("synchronize"))))
    assert result.code == 1, result.out + result.err
    check = ci.check_runs()[-1]
    assert check["conclusion"] == "failure" and "accepted" not in check["_output"]["title"]
    assert ci.outputs()["verdict"] == "fail" and ci.report()["ci"]["accepted"] is None
    line = f"the label {ACCEPT} does not accept this commit: it was applied before this commit was pushed"
    assert f"::warning::{line}" in result.out
    (comment,) = ci.comments()
    assert "applied before this commit was pushed" in unescape_md(comment["body"])


@pytest.mark.parametrize(
    "actor, permission, why",
    [
        ("Codertocat", "admin", "applied by the pull request's author"),  # the payload's PR author
        ("triager-trudy", "read", "applied by someone without write access"),
        ("stranger", None, "could not be read"),  # not a collaborator: GitHub answers 404
    ],
)
def test_the_label_counts_only_from_someone_else_with_write_access(ci, run_cli, actor, permission, why):
    if permission:
        ci.fake.permissions[actor] = permission
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    result = run(run_cli, ci, ci.env(labeled(ci, "labeled", actor)))
    assert result.code == 1, result.out + result.err
    assert ci.check_runs()[-1]["conclusion"] == "failure" and ci.outputs()["verdict"] == "fail"
    assert why in result.out
    asked = [c for c in ci.fake.calls if c.operation_id == "repos/get-collaborator-permission-level"]
    assert bool(asked) == (actor != "Codertocat")  # the author is refused before any request


# -- forks and missing keys -----------------------------------------------------------------------------


def fork_event(ci: CI) -> dict:
    data = ci.event("opened")
    head_repo = copy.deepcopy(data["pull_request"]["head"]["repo"])
    head_repo.update(full_name="mallory/Hello-World", fork=True)
    data["pull_request"]["head"]["repo"] = head_repo
    return data


def test_fork_without_the_key_is_action_required_and_names_the_maintainer_run(ci, run_cli):
    ci.pr(prompt_yml(STRICT + " Be brief."), base_model="openai:gpt-4o-mini-2024-07-18")
    result = run(run_cli, ci, ci.env(fork_event(ci)))
    assert result.code == 2, result.out + result.err
    (check,) = ci.check_runs()
    assert check["conclusion"] == "action_required" and "fork" in check["_output"]["title"]
    assert check["details_url"] == "https://github.com/Codertocat/Hello-World/actions/runs/4242"
    summary = unescape_md(check["_output"]["summary"])
    assert "OPENAI_API_KEY" in summary and "nothing was reviewed" in summary
    assert f"gh workflow run promptreview-maintainer.yml -f head={ci.head} -f pull-request=2" in summary
    assert ci.comments() == []  # no review happened: nothing new to say on the PR
    assert ci.outputs()["verdict"] == "action_required"
    assert "::error::promptreview: Not reviewed: fork pull request without OPENAI_API_KEY" in result.out
    assert "OPENAI_API_KEY" in unescape_md(ci.summary.read_text("utf-8"))
    report = ci.report()
    assert report["verdict"] == "error" and report["prompts"] == []
    assert report["ci"]["verdict"] == "action_required" and report["ci"]["conclusion"] == "action_required"
    assert report["ci"]["exit_code"] == 2 and "OPENAI_API_KEY" in report["ci"]["reason"]


def test_the_maintainer_run_reviews_the_fork_commit_and_sets_its_check(ci, run_cli):
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    ci.repo.git("checkout", "-q", "main")  # workflow_dispatch checks out the default branch
    data = {
        "inputs": {"base": "main", "head": ci.head, "pull-request": "2"},
        "ref": "refs/heads/main",
        "repository": payload()["repository"],
        "sender": payload()["sender"],
        "workflow": ".github/workflows/promptreview-maintainer.yml",
    }
    result = run(run_cli, ci, ci.env(data, "workflow_dispatch", GITHUB_SHA=ci.base))
    assert result.code == 1, result.out + result.err
    (check,) = ci.check_runs()
    assert check["head_sha"] == ci.head and check["conclusion"] == "failure"
    (comment,) = ci.comments()
    assert read_verdict(comment) == "fail"
    # a moving target is refused: the maintainer names the exact commit they looked at
    data["inputs"]["head"] = "feature"
    refused = run(run_cli, ci, ci.env(data, "workflow_dispatch", GITHUB_SHA=ci.base))
    assert refused.code == 2 and "full 40-character SHA" in refused.err


def test_same_repository_without_the_key_fails_loudly(ci, run_cli):
    ci.pr(prompt_yml(STRICT + " Be brief."), base_model="openai:gpt-4o-mini-2024-07-18")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 2
    (check,) = ci.check_runs()
    assert check["conclusion"] == "failure" and "OPENAI_API_KEY" in check["_output"]["title"]
    assert "::error title=promptreview::" in result.out
    report = ci.report()
    assert report["verdict"] == "error" and "OPENAI_API_KEY" in report["error"]
    assert (report["ci"]["verdict"], report["ci"]["exit_code"]) == ("invalid", 2)


def test_fork_with_a_read_only_token_still_fails_closed(ci, run_cli):
    for op in ("checks/create", "repos/create-commit-status", "issues/create-comment"):
        ci.fake.deny[op] = (403, "Resource not accessible by integration")
    ci.pr(prompt_yml(STRICT + " Be brief."), base_model="openai:gpt-4o-mini-2024-07-18")
    result = run(run_cli, ci, ci.env(fork_event(ci)))
    assert result.code == 2  # the job fails: a required job is not a way around the check
    assert "could not set the check" in result.out


@pytest.mark.parametrize("where", ["base", "head"])
def test_only_the_base_config_can_opt_out_and_then_the_check_says_it_protects_nothing(ci, run_cli, where):
    opt_out = "fail_closed: false\n"
    base_model = "openai:gpt-4o-mini-2024-07-18"
    ci.pr(
        prompt_yml(STRICT + " Be brief."),
        base_model=base_model,
        base_extra=opt_out if where == "base" else "",
    )
    if where == "head":  # the pull request's own config cannot loosen how its check ends
        config = ci.repo.root / "promptreview.yml"
        config.write_text(config.read_text("utf-8") + opt_out, encoding="utf-8")
        ci.head = ci.repo.commit("head opts out")
    result = run(run_cli, ci, ci.env(fork_event(ci)))
    assert result.code == 2  # the exit code follows fail-on either way
    (check,) = ci.check_runs()
    if where == "head":
        assert check["conclusion"] == "action_required" and "protects nothing" not in result.out
        return
    assert check["conclusion"] == "neutral"
    assert "This check protects nothing" in unescape_md(check["_output"]["summary"])
    assert "the check protects nothing" in result.out
    assert ci.report()["ci"]["conclusion"] == "neutral"


# -- no prompt change -----------------------------------------------------------------------------------


def test_no_prompt_change_posts_nothing_new_and_resets_an_old_comment(ci, run_cli):
    ci.pr(None)
    ci.repo.write("README.md", "docs only\n")
    ci.head = ci.repo.commit("docs")
    quiet = run(run_cli, ci, ci.env(ci.event()))
    assert quiet.code == 0 and ci.comments() == []
    assert ci.check_runs()[0]["conclusion"] == "success"  # nothing to review, never neutral
    assert ci.outputs()["verdict"] == "skipped"

    # an earlier push changed a prompt and got a comment; now the prompt is back as it was
    ci.fake.add_comment(
        REPOSITORY, 2, "<!-- promptreview:sticky key=promptreview verdict=fail -->\nold review"
    )
    run(run_cli, ci, ci.env(ci.event("synchronize")))
    (comment,) = ci.comments()
    assert "prompts are back to unchanged" in comment["body"] and read_verdict(comment) == "skipped"


# -- limits, untrusted text -----------------------------------------------------------------------------


def test_a_70000_character_report_is_cut_to_fit(ci, run_cli, monkeypatch):
    from promptreview.report import markdown

    real = markdown.render

    def huge(report, examples=True, html_link=None):
        text = real(report, examples, html_link)
        if examples:
            text += (
                "\n<details><summary>Examples that broke</summary>\n\n"
                + "".join(f"- example {i}: {'y' * 650}\n" for i in range(110))
                + "\n</details>\n"
            )
        return text

    monkeypatch.setattr(markdown, "render", huge)
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 1
    (comment,) = ci.comments()
    assert len(huge_report := ci.summary.read_text("utf-8")) > 70_000  # the job summary has it all
    assert "example 109" in huge_report
    assert len(comment["body"]) < 65_536
    assert "example 0" not in comment["body"]
    assert "FAIL" in comment["body"] and "| parse failure |" in comment["body"]  # verdict and tables kept
    assert "job summary" in comment["body"] and "actions/runs/4242" in comment["body"]
    assert "shortened" in result.out


def test_untrusted_suite_text_is_inert_in_the_comment(ci, run_cli):
    hostile = "@octocat see #1 ![x](https://evil.example/p.gif) <img src=x onerror=alert(1)> | cell | break"
    ci.pr(None)
    suite = ci.repo.root / "data" / "inputs.jsonl"
    rows = [json.loads(line) for line in suite.read_text().splitlines()]
    for row in rows:
        row["ticket"] = hostile + " " + row["ticket"]
    ci.repo.git("checkout", "-q", "main")
    suite.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ci.base = ci.repo.commit("hostile suite")
    ci.repo.git("checkout", "-q", "feature")
    ci.repo.git("merge", "-q", "--no-edit", "main")
    ci.repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT, model=FAILING_MODEL))
    ci.head = ci.repo.commit("loosen")
    run(run_cli, ci, ci.env(ci.event()))
    body = ci.comments()[0]["body"]
    plain = re.sub(r"\\(.)", r"\1", body)
    assert not re.search(r"@[A-Za-z0-9]", plain.replace("<!-- promptreview", ""))
    assert not re.search(r"(?<!\\)<img", body) and "](https://evil" not in body
    assert not re.search(r"#\d", plain.replace("issuecomment", ""))


# -- where the config comes from ------------------------------------------------------------------------


def test_gates_come_from_the_base_commit(ci, run_cli):
    loosened = ci.repo.root / "promptreview.yml"
    ci.base = make_triage_repo(ci.repo, extra=f"models: [sim:triage-v1, '{FAILING_MODEL}']\n")
    ci.repo.git("checkout", "-q", "-b", "feature")
    ci.repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT, model=FAILING_MODEL))
    ci.repo.write("promptreview.yml", loosened.read_text().replace("max_increase: 0.02", "max_increase: 1.0"))
    ci.head = ci.repo.commit("loosen my own gates")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 1  # the PR's own gate of +100 pp is not used
    assert ci.check_runs()[0]["conclusion"] == "failure"


def test_a_repository_adopting_promptreview_uses_the_head_config_and_says_so(ci, run_cli):
    ci.repo.write("README.md", "before promptreview\n")
    ci.base = ci.repo.commit("initial")
    ci.repo.git("checkout", "-q", "-b", "feature")
    make_triage_repo(ci.repo)
    ci.head = ci.repo.git("rev-parse", "HEAD").strip()
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 0, result.out + result.err
    assert "promptreview.yml is new in this pull request" in result.out
    assert "is new in this pull request, so its own settings" in ci.comments()[0]["body"]
    assert ci.report()["ci"]["config_from"].startswith("head")


def test_missing_config_everywhere_is_a_clear_error(ci, run_cli):
    ci.repo.write("README.md", "x\n")
    ci.base = ci.repo.commit("a")
    ci.repo.write("README.md", "y\n")
    ci.head = ci.repo.commit("b")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 2 and "promptreview init" in result.out
    assert ci.check_runs()[0]["conclusion"] == "failure"
    report = ci.report()
    assert report["verdict"] == "error" and "promptreview init" in report["error"]
    assert report["ci"]["verdict"] == "invalid" and report["ci"]["config_from"] is None


def test_a_config_that_does_not_validate_is_invalid_with_a_schema_valid_report(ci, run_cli):
    ci.pr(prompt_yml(STRICT + " Be brief."))
    ci.repo.git("checkout", "-q", "main")
    ci.repo.write("promptreview.yml", "version: 1\nprompts: not-a-list\n")
    ci.base = ci.repo.commit("break the config")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 2, result.out + result.err
    assert "::error title=promptreview::" in result.out
    assert ci.check_runs()[0]["conclusion"] == "failure"
    report = ci.report()
    assert report["verdict"] == "error" and report["ci"]["verdict"] == "invalid"
    assert report["ci"]["config_from"] == "base" and report["ci"]["reason"] == report["error"]


# -- checkouts ------------------------------------------------------------------------------------------


def shallow_clone(source: GitRepo, dest: Path) -> GitRepo:
    source.git("config", "uploadpack.allowReachableSHA1InWant", "true")
    source.git("config", "uploadpack.allowAnySHA1InWant", "true")
    subprocess.run(
        ["git", "clone", "-q", "--depth=1", "--branch", "main", f"file://{source.root}", str(dest)],
        check=True,
        capture_output=True,
    )
    clone = GitRepo.__new__(GitRepo)
    clone.root = dest
    return clone


def test_a_shallow_checkout_fetches_the_missing_commits(ci, run_cli, tmp_path):
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    ci.repo.git("checkout", "-q", "main")
    ci.repo.write("NEWS.md", "main moved on\n")
    ci.base = ci.repo.commit("main moves")  # the base tip is no ancestor of head
    clone = shallow_clone(ci.repo, tmp_path / "clone")
    ci.repo = clone
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 1, result.out + result.err
    assert "fetched the head commit" in result.out
    assert clone.git("rev-parse", "--is-shallow-repository").strip() in ("true", "false")


def test_an_unreachable_base_names_the_fetch_depth(ci, run_cli, tmp_path):
    ci.pr(prompt_yml(STRICT))
    data = ci.event()
    data["pull_request"]["base"]["sha"] = "0123456789abcdef0123456789abcdef01234567"
    result = run(run_cli, ci, ci.env(data))
    assert result.code == 2
    assert "fetch-depth: 0" in result.out + result.err


# -- other events ---------------------------------------------------------------------------------------


def test_merge_group_sets_the_check_on_the_queue_commit_and_never_comments(ci, run_cli):
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    data = {
        "action": "checks_requested",
        "merge_group": {
            "head_sha": ci.head,
            "head_ref": "refs/heads/gh-readonly-queue/main/pr-2",
            "base_sha": ci.base,
            "base_ref": "refs/heads/main",
            "head_commit": {},
        },
        "repository": payload()["repository"],
        "sender": payload()["sender"],
    }
    result = run(run_cli, ci, ci.env(data, "merge_group"))
    assert result.code == 1
    (check,) = ci.check_runs()
    assert check["head_sha"] == ci.head and check["conclusion"] == "failure"
    assert ci.fake.comments == {}


def test_workflow_dispatch_compares_with_the_default_branch(ci, run_cli):
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    data = {
        "inputs": {"base": "main"},
        "ref": "refs/heads/feature",
        "repository": payload()["repository"],
        "sender": payload()["sender"],
        "workflow": ".github/workflows/promptreview.yml",
    }
    result = run(run_cli, ci, ci.env(data, "workflow_dispatch", GITHUB_SHA=ci.head))
    assert result.code == 1
    assert ci.check_runs()[0]["head_sha"] == ci.head


def test_closed_and_unsupported_events_exit_at_once(ci, run_cli):
    ci.pr(prompt_yml(STRICT))
    result = run(run_cli, ci, ci.env(ci.event("closed")))
    assert result.code == 0 and "nothing to do" in result.out
    result = run(
        run_cli, ci, ci.env({"ref": "refs/heads/main", "repository": payload()["repository"]}, "push")
    )
    assert result.code == 0 and ci.fake.calls == []
    assert ci.outputs()["verdict"] == "skipped"


def test_check_runs_forbidden_falls_back_to_a_commit_status(ci, run_cli):
    ci.fake.deny["checks/create"] = (403, "You must authenticate via a GitHub App.")
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 1
    (status,) = ci.fake.statuses
    assert status["state"] == "failure" and status["context"] == "promptreview" and status["_sha"] == ci.head


def test_inputs_come_through_the_environment(ci, run_cli):
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    env = ci.env(ci.event(), PROMPTREVIEW_CHECK_NAME="prompts / review", PROMPTREVIEW_COMMENT="false")
    run(run_cli, ci, env)
    assert ci.check_runs()[0]["name"] == "prompts / review"
    assert ci.comments() == []


def test_cache_key_is_the_base_sha_and_config_hash(ci, run_cli):
    ci.pr(prompt_yml(STRICT))
    result = run(run_cli, ci, ci.env(ci.event()), "--cache-key")
    assert result.code == 0
    outputs = ci.outputs()
    key = outputs["cache-key"]
    assert key.startswith(f"promptreview-v2-Linux-{ci.base}-") and key.endswith("-4242-1")
    restore = outputs["cache-restore-keys"].split("\n")
    assert restore == [key[: -len("4242-1")]]  # only this base and this config: no broader prefix
    assert ci.fake.calls == []


def test_the_installed_console_script_runs_ci_twice(ci):
    """As the acceptance check does: the installed `promptreview ci`, in a subprocess, twice."""
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    first = run_installed(["ci"], ci.repo.root, ci.env(ci.event("opened")))
    second = run_installed(["ci"], ci.repo.root, ci.env(ci.event("synchronize")))
    assert (first.code, second.code) == (1, 1), first.err + second.err
    assert len(ci.comments()) == 1 and ci.fake.edits == 1
    assert len(ci.check_runs()) == 2 and ci.fake.statuses == []


def test_a_provider_outage_fails_the_check_and_exits_3(ci, run_cli, monkeypatch):
    from promptreview.engine import review
    from promptreview.errors import ProviderError

    def down(opts):
        raise ProviderError("openai: 503 Service Unavailable after 4 attempts")

    monkeypatch.setattr(review, "review_changes", down)
    ci.pr(prompt_yml(STRICT, model=FAILING_MODEL))
    ci.fake.add_comment(REPOSITORY, 2, "<!-- promptreview:sticky key=promptreview verdict=fail -->\nold")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 3
    assert ci.check_runs()[0]["conclusion"] == "failure"  # never neutral: GitHub counts it as passing
    assert ci.outputs()["verdict"] == "error"
    (comment,) = ci.comments()  # the earlier review is replaced by why there is no verdict now
    assert read_verdict(comment) == "error" and "503 Service Unavailable" in comment["body"]
    report = ci.report()
    assert report["ci"]["reason"].startswith("openai: 503")
    assert report["verdict"] == "error" and report["error"].startswith("openai: 503")
    assert (report["ci"]["verdict"], report["ci"]["conclusion"], report["ci"]["exit_code"]) == (
        "error",
        "failure",
        3,
    )


def test_nothing_the_pull_request_writes_reaches_the_log_as_a_command(ci, run_cli):
    """The PR renames its failing prompt to a name carrying a legacy `##[` command and a right-to-left
    override: the job's log (stdout and stderr both) obeys only promptreview's own commands, with the name made
    inert in them, and no title shows the override."""
    ci.pr(None)
    smuggled = "prompts/##[error]smuggled \u202egpj.prompt.yml"
    ci.repo.git("mv", "prompts/triage.prompt.yml", smuggled)
    ci.repo.write(smuggled, prompt_yml(STRICT, model=FAILING_MODEL))
    ci.head = ci.repo.commit("smuggle")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 1, result.out + result.err
    assert "smuggled <U+202E>gpj.prompt.yml" in result.out  # the annotation still names the file, readably
    ours = ("::add-mask::", "::error", "::warning", "::notice")
    for line in (result.out + result.err).split("\n"):
        assert "##[" not in line and "\u202e" not in line, line
        assert not line.lstrip().startswith("::") or line.startswith(ours), line
    (check,) = ci.check_runs()
    texts = [check["_output"]["title"], *(a["title"] for a in check["_annotations"])]
    texts += [a["message"] for a in check["_annotations"]]
    assert all("##[" not in t and "\u202e" not in t for t in texts), texts
