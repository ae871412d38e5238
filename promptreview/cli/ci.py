"""`promptreview ci`: the GitHub Actions entry point.

Reads the event, reviews the prompt files the PR changed (config and gates from the base commit), then
publishes: the sticky PR comment, the check run (or a commit status), the job summary, the step outputs and
`::error` workflow commands. The exit code follows `--fail-on`, so either the job or the check run can be
the required check. Every option also reads a `PROMPTREVIEW_*` variable: that is how action.yml passes its
inputs, never by interpolating them into a shell script.

This module prints; `promptreview.github` below it neither prints nor exits.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from promptreview.errors import MissingCredentials, ProviderError, UsageError
from promptreview.github import checkout, compose
from promptreview.github import outcome as outcomes
from promptreview.github.comment import marker
from promptreview.github.event import DEFAULT_ACCEPT_LABEL, Event, load_event
from promptreview.github.summary import append_step_summary, workflow_command, write_outputs
from promptreview.report.escape import code_block
from promptreview.sources import git, paths

# -- before the review: commits, merge base, where the config comes from --------------------------------


@dataclass
class Prepared:
    root: Path
    base: str  # the merge base: what the PR's changes are measured against
    head: str
    config_rev: str
    adopted_config: str | None  # set when the config is new in this PR (its own, head, config is used)
    notes: list[str] = field(default_factory=list)


def prepare(event: Event, config_path: str) -> Prepared:
    """Both commits present, the merge base, and the revision the config (and gates) come from."""
    root = git.repo_root(Path.cwd())
    notes: list[str] = []
    if event.name == "workflow_dispatch":
        head = checkout.resolve(root, event.head_sha or "HEAD", "head")
        base_rev = event.base_sha or event.default_branch
        if not base_rev:
            raise UsageError("workflow_dispatch: pass a 'base' input (a branch or SHA) to compare against")
        base_tip = checkout.resolve(root, base_rev, "base")
    else:
        assert event.base_sha and event.head_sha
        notes += checkout.ensure_commit(root, event.base_sha, "base")
        notes += checkout.ensure_commit(root, event.head_sha, "head")
        base_tip, head = event.base_sha, event.head_sha
    merge_base, more = checkout.merge_base(root, base_tip, head)
    notes += more
    rel = paths.repo_relative(root, config_path, "--config")
    if git.read_at(root, base_tip, rel) is not None:
        return Prepared(root, merge_base, head, base_tip, None, notes)
    if git.read_at(root, head, rel) is not None:
        return Prepared(root, merge_base, head, head, rel, notes)
    raise UsageError(
        f"config file {config_path!r} exists neither in the base commit {base_tip[:12]} nor in the head "
        f"commit {head[:12]}; run 'promptreview init' and commit promptreview.yml"
    )


def cache_key(event: Event | None, config_path: str, env: dict[str, str]) -> tuple[str, list[str]]:
    """actions/cache key: base SHA + base config hash, one entry per run (restored by prefix)."""
    os_name = env.get("RUNNER_OS", "any")
    base, digest = "nobase", "noconfig"
    if event is not None and event.base_sha and not event.skip_reason:
        try:
            root = git.repo_root(Path.cwd())
            if event.name != "workflow_dispatch":
                checkout.ensure_commit(root, event.base_sha, "base")
            base = checkout.resolve(root, event.base_sha, "base")
            data = git.read_at(root, base, config_path)
            if data is None and event.head_sha and git.has_commit(root, event.head_sha):
                data = git.read_at(root, event.head_sha, config_path)
            if data is not None:
                digest = hashlib.sha256(data).hexdigest()[:16]
        except (UsageError, OSError):
            pass
    prefix = f"promptreview-v1-{os_name}-{base}-{digest}-"
    key = prefix + f"{env.get('GITHUB_RUN_ID', '0')}-{env.get('GITHUB_RUN_ATTEMPT', '1')}"
    return key, [prefix, f"promptreview-v1-{os_name}-{base}-", f"promptreview-v1-{os_name}-"]


# -- the accept label -----------------------------------------------------------------------------------


def acceptance_for(
    event: Event, label: str, lookup: Callable[[], tuple[str | None, str | None]] | None
) -> outcomes.Acceptance | None:
    """The accept label, with who/when from the `labeled` event itself, else from the PR's timeline."""
    if label not in event.labels:
        return None
    change = event.label_change
    if change and change.action == "labeled" and change.name == label:
        return outcomes.Acceptance(label, change.actor, change.at)
    actor, at = lookup() if lookup else (None, None)
    return outcomes.Acceptance(label, actor, at)


def label_added_by(repo: Any, number: int, label: str) -> tuple[str | None, str | None]:
    """Who added `label` last, and when, from the issue's events (best effort: None, None)."""
    from github import GithubException

    try:
        _, data = repo.requester.requestJsonAndCheck(
            "GET", f"{repo.url}/issues/{number}/events", parameters={"per_page": 100}
        )
    except GithubException:
        return None, None
    found: tuple[str | None, str | None] = (None, None)
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict) or item.get("event") != "labeled":
            continue
        if (item.get("label") or {}).get("name") == label:
            found = ((item.get("actor") or {}).get("login"), item.get("created_at"))
    return found


# -- the command ----------------------------------------------------------------------------------------


@click.command()
@click.option(
    "--config",
    "config_path",
    default="promptreview.yml",
    envvar="PROMPTREVIEW_CONFIG",
    show_default=True,
    help="Config file, relative to the repository root (read from the base commit).",
)
@click.option(
    "--model",
    default=None,
    envvar="PROMPTREVIEW_MODEL",
    help="Model spec (overrides prompt files and config).",
)
@click.option(
    "--comment/--no-comment",
    default=True,
    envvar="PROMPTREVIEW_COMMENT",
    show_default=True,
    help="Post or update the sticky PR comment.",
)
@click.option(
    "--check-name",
    default="promptreview",
    envvar="PROMPTREVIEW_CHECK_NAME",
    show_default=True,
    help="Name of the check run (the required check).",
)
@click.option(
    "--fail-on",
    type=click.Choice(outcomes.FAIL_ON),
    default="regression",
    envvar="PROMPTREVIEW_FAIL_ON",
    show_default=True,
    help="When the job itself fails: a regression, also a warning, or never.",
)
@click.option(
    "--accept-label",
    default=DEFAULT_ACCEPT_LABEL,
    envvar="PROMPTREVIEW_ACCEPT_LABEL",
    show_default=True,
    help="PR label that accepts a failing verdict.",
)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="PROMPTREVIEW_REPORT_DIR",
    help="Where report.json and report.md go (default: under RUNNER_TEMP).",
)
@click.option("--samples", type=click.IntRange(1, 50), default=None, help="Completions per input and side.")
@click.option("--seed", type=int, default=None, help="Sampling seed (overrides the config).")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None, help="Model calls in flight.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the response cache.")
@click.option(
    "--cache-key",
    "cache_key_only",
    is_flag=True,
    help="Only compute the actions/cache key (outputs cache-key, cache-restore-keys) and exit.",
)
def ci(
    config_path: str,
    model: str | None,
    comment: bool,
    check_name: str,
    fail_on: str,
    accept_label: str,
    report_dir: Path | None,
    samples: int | None,
    seed: int | None,
    concurrency: int | None,
    no_cache: bool,
    cache_key_only: bool,
) -> int:
    """GitHub Actions entry point: review the PR, comment, set the check, write the job summary."""
    env = dict(os.environ)
    if cache_key_only:
        try:
            maybe: Event | None = load_event(env)
        except UsageError:
            maybe = None
        key, restore = cache_key(maybe, config_path, env)
        write_outputs(env.get("GITHUB_OUTPUT"), {"cache-key": key, "cache-restore-keys": "\n".join(restore)})
        click.echo(key)
        return 0
    event = load_event(env)
    if event.skip_reason:
        click.echo(workflow_command("notice", f"promptreview: nothing to do ({event.skip_reason})"))
        write_outputs(env.get("GITHUB_OUTPUT"), {"verdict": "skipped", "report-path": "", "comment-url": ""})
        return 0
    if report_dir is None:
        report_dir = Path(env.get("RUNNER_TEMP") or tempfile.gettempdir()) / (
            f"promptreview-{env.get('GITHUB_RUN_ID', 'local')}"
        )
    run = CIRun(event, env, config_path, check_name, fail_on, accept_label, comment, report_dir)
    return run.execute(model, samples, seed, concurrency, not no_cache)


class CIRun:
    """One `ci` invocation: review, decide, publish. Everything it says goes to stdout as it happens."""

    def __init__(
        self,
        event: Event,
        env: dict[str, str],
        config_path: str,
        check_name: str,
        fail_on: str,
        accept_label: str,
        comment: bool,
        report_dir: Path,
    ) -> None:
        self.event, self.env, self.config_path = event, env, config_path
        self.check_name, self.fail_on, self.accept_label = check_name, fail_on, accept_label
        self.comment, self.report_dir = comment, report_dir
        self.link = compose.run_url(env)
        self.repo = None
        token = env.get("GITHUB_TOKEN")
        if token:
            from promptreview.github.api import connect

            self.repo = connect(token, env.get("GITHUB_API_URL"), event.repository)
        else:
            self.say_command(
                "warning",
                "GITHUB_TOKEN is not set: no PR comment and no check run (pass the github-token input)",
            )

    @staticmethod
    def say(text: str) -> None:
        click.echo(f"promptreview: {text}")

    @staticmethod
    def say_command(command: str, message: str, **properties: Any) -> None:
        click.echo(workflow_command(command, message, **properties))

    # -- the review
    def execute(
        self,
        model: str | None,
        samples: int | None,
        seed: int | None,
        concurrency: int | None,
        use_cache: bool,
    ) -> int:
        from promptreview.engine.review import ReviewOptions, review_changes

        event, prepared = self.event, None
        try:
            prepared = prepare(event, self.config_path)
            for note in prepared.notes:
                self.say(note)
            report = review_changes(
                ReviewOptions(
                    repo_root=prepared.root,
                    config_path=self.config_path,
                    config_rev=prepared.config_rev,
                    base=prepared.base,
                    head=prepared.head,
                    model=model,
                    samples=samples,
                    seed=seed,
                    concurrency=concurrency,
                    use_cache=use_cache,
                    env=self.env,
                )
            )
        except MissingCredentials as exc:
            if not event.fork:
                return self.finish_problem(
                    outcomes.invalid(str(exc), self.fail_on), code_block(str(exc)), prepared
                )
            self.say_command(
                "notice",
                f"promptreview skipped: this fork pull request has no {exc.env_var} (secrets are not passed to "
                "forks); the check is neutral. See the job summary for the options.",
            )
            result = outcomes.skipped(f"Skipped: fork pull request without {exc.env_var}", str(exc))
            details = compose.fork_details(exc.env_var, event.base_sha, event.head_sha)
            return self.finish_problem(result, details, prepared)
        except ProviderError as exc:
            result = outcomes.provider_failed(str(exc), self.fail_on)
            return self.finish_problem(result, code_block(str(exc)), prepared)
        except UsageError as exc:
            return self.finish_problem(
                outcomes.invalid(str(exc), self.fail_on), code_block(str(exc)), prepared
            )
        return self.finish_report(report, prepared)

    def finish_report(self, report: Any, prepared: Prepared) -> int:
        from promptreview.report.markdown import render

        event = self.event
        if prepared.adopted_config:
            self.say_command(
                "notice",
                f"{prepared.adopted_config} is new in this pull request: using its own settings and gates",
            )
        from promptreview.report.serialize import to_dict

        data = to_dict(report)
        warned = any(p.get("verdict") == "warn" for p in data.get("prompts") or [])
        acceptance = None
        if report.verdict == "fail" or (report.verdict == "pass" and warned):
            lookup = None
            if self.repo is not None and event.pr_number is not None:
                repo, number, label = self.repo, event.pr_number, self.accept_label

                def lookup() -> tuple[str | None, str | None]:
                    return label_added_by(repo, number, label)

            acceptance = acceptance_for(event, self.accept_label, lookup)
        result = outcomes.from_report(data, self.fail_on, acceptance)
        accepted = result.verdict == "accepted"
        data["ci"] = self.ci_section(result, prepared, result.acceptance if accepted else None)

        banner = compose.banners(result, self.accept_label, prepared.adopted_config, event.label_change)
        full = render(report)
        tail = compose.footer(event, prepared.base, prepared.head, self.link)
        body, shortened = compose.comment_body(
            self.check_name, result, banner, full, lambda: render(report, examples=False), tail, self.link
        )
        json_path = self.write_report(data, banner + full)

        comment_url = None
        if result.verdict == "skipped":
            comment_url = self.comment_on_pr(
                compose.unchanged_body(self.check_name, self.config_path, tail), False
            )
        else:
            if shortened:
                self.say(
                    "the PR comment was shortened to fit GitHub's limit; the job summary has the full report"
                )
            comment_url = self.comment_on_pr(body, True)
        lines = {
            p["path"]: checkout.first_changed_line(
                prepared.root, prepared.base, prepared.head, p.get("old_path") or p["path"], p["path"]
            )
            for p in data.get("prompts") or []
            if p.get("path") and p.get("change") != "removed"
        }
        summary = body.split("\n", 1)[1]  # the comment without its marker line
        self.set_check(result, summary, prepared.head, data, lines, accepted)
        append_step_summary(self.env.get("GITHUB_STEP_SUMMARY"), banner + full + tail)
        self.annotate(data, lines, accepted)
        return self.done(result, json_path, comment_url)

    def finish_problem(self, result: outcomes.Outcome, details: str, prepared: Prepared | None) -> int:
        """A run without a report: fork without a key, bad config or prompt, provider down."""
        event = self.event
        markdown = compose.problem_markdown(result, details)
        base = prepared.base if prepared else event.base_sha
        head = prepared.head if prepared else event.head_sha
        tail = compose.footer(event, base, head, self.link)
        if result.verdict == "invalid":
            self.say_command("error", result.reason or result.title, title="promptreview")
        elif result.verdict == "error":
            self.say_command("error", f"promptreview: no verdict: {result.reason}")
        data = {
            "schema_version": 1,
            "verdict": "skipped" if result.verdict == "skipped" else "error",
            "prompts": [],
            "ci": {**self.ci_section(result, prepared, None), "reason": result.reason},
        }
        json_path = self.write_report(data, markdown)
        # no review happened: an existing comment learns why, but no new comment is started
        comment_url = self.comment_on_pr(
            marker(self.check_name, result.verdict) + "\n" + markdown + tail, False
        )
        if head and (prepared or git.is_sha(head)):
            self.set_check(result, markdown + tail, head, {}, {}, False)
        append_step_summary(self.env.get("GITHUB_STEP_SUMMARY"), markdown + tail)
        return self.done(result, json_path, comment_url)

    # -- the pieces
    def ci_section(
        self, result: outcomes.Outcome, prepared: Prepared | None, acceptance: outcomes.Acceptance | None
    ) -> dict[str, Any]:
        return {
            "verdict": result.verdict,
            "conclusion": result.conclusion,
            "exit_code": result.exit_code,
            "event": self.event.name,
            "pull_request": self.event.pr_number,
            "accepted": None
            if acceptance is None
            else {"label": acceptance.label, "by": acceptance.actor, "at": acceptance.at},
            "config_from": None
            if prepared is None
            else ("head (new in this pull request)" if prepared.adopted_config else "base"),
        }

    def write_report(self, data: dict[str, Any], markdown: str) -> Path:
        self.report_dir.mkdir(parents=True, exist_ok=True)
        json_path = self.report_dir / "report.json"
        json_path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
        (self.report_dir / "report.md").write_text(markdown, encoding="utf-8")
        return json_path

    def comment_on_pr(self, body: str, create: bool) -> str | None:
        from promptreview.github.comment import publish_sticky

        if not self.comment or self.event.pr_number is None or self.repo is None:
            return None
        done = publish_sticky(self.repo, self.event.pr_number, self.check_name, body, create=create)
        if done.action == "failed":
            hint = (
                " (a fork pull request's token is read-only; see docs/github.md)"
                if self.event.fork
                else " (does the workflow grant `pull-requests: write`?)"
            )
            self.say_command("warning", f"promptreview could not post the PR comment: {done.detail}{hint}")
            return None
        if done.action != "skipped":
            self.say(f"comment {done.action}: {done.url}")
        return done.url

    def set_check(
        self,
        result: outcomes.Outcome,
        summary: str,
        head: str,
        data: dict[str, Any],
        lines: dict[str, int],
        accepted: bool,
    ) -> None:
        from promptreview.github.checks import CheckSpec, annotations_for, publish_check

        if self.repo is None:
            return
        spec = CheckSpec(
            name=self.check_name,
            head_sha=head,
            conclusion=result.conclusion,
            title=result.title,
            summary=summary,
            annotations=annotations_for(data, lines, accepted) if data else [],
            details_url=self.link,
        )
        done = publish_check(self.repo, spec)
        if done.kind == "none":
            self.say_command("warning", f"promptreview could not set the check: {done.detail}")
        elif done.kind == "status":
            self.say(done.detail or "set a commit status")
        else:
            self.say(f"check run {result.conclusion}: {done.url}")

    def annotate(self, data: dict[str, Any], lines: dict[str, int], accepted: bool) -> None:
        """`::error file=…,line=…::` for failed gates (a warning once accepted), in the job's log and diff."""
        from promptreview.github.checks import gate_failures

        for p in data.get("prompts") or []:
            if p.get("verdict") not in ("fail", "warn") or not p.get("path"):
                continue
            failing = p["verdict"] == "fail"
            level = "error" if failing and not accepted else "warning"
            messages = gate_failures(p, ("fail",) if failing else ("warn",)) or [f"verdict: {p['verdict']}"]
            title = ("promptreview: regression" if failing else "promptreview: warning") + (
                " (accepted)" if accepted and failing else ""
            )
            line = lines.get(p["path"], 1)
            self.say_command(level, "; ".join(messages), file=p["path"], line=line, title=title)

    def done(self, result: outcomes.Outcome, json_path: Path, comment_url: str | None) -> int:
        write_outputs(
            self.env.get("GITHUB_OUTPUT"),
            {"verdict": result.verdict, "report-path": str(json_path), "comment-url": comment_url or ""},
        )
        self.say(f"{result.verdict}: {result.title}")
        return result.exit_code
