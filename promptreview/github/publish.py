"""Where a CI run's result goes: report.json and report.md, the sticky comment, the check run (or a commit
status), the job summary, the `::error` workflow commands and the step outputs.

Network only through PyGithub (`comment`, `checks`); files only under the report directory and the ones
GitHub Actions names; every line the run says goes to the `Log` the command line supplies. A GitHub request
that fails becomes a warning line, never an exception: the exit code must still carry the verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from github.Repository import Repository

from promptreview import secrets
from promptreview.exitcodes import ExitCode
from promptreview.github.api import describe
from promptreview.github.checks import CheckSpec, annotations_for, gate_failures, headline, publish_check
from promptreview.github.comment import publish_sticky
from promptreview.github.conclusion import CIResult
from promptreview.github.event import Event
from promptreview.github.summary import Log, append_step_summary, inert, write_outputs
from promptreview.report.document import CISection, Report
from promptreview.report.escape import escape_md
from promptreview.report.serialize import to_json_text
from promptreview.verdicts import PromptVerdict

T = TypeVar("T")


def write_ci_report(
    report_dir: Path, report: Report, ci: CISection, markdown: str, html: str | None = None
) -> Path:
    """report.json (through the one serialiser: the review and, beside it, what CI concluded), report.md and,
    for a review, report.html (the Action uploads it as an artifact); returns report.json's path."""
    report_dir.mkdir(parents=True, exist_ok=True)
    json_path = report_dir / "report.json"
    json_path.write_text(secrets.scrub(to_json_text(report, ci)), encoding="utf-8")
    (report_dir / "report.md").write_text(secrets.scrub(markdown), encoding="utf-8")
    if html is not None:
        (report_dir / "report.html").write_text(secrets.scrub(html), encoding="utf-8")
    return json_path


@dataclass(frozen=True)
class Publisher:
    """One run's connection to the pull request, the check and the job; `repo` is None without a token."""

    event: Event
    repo: Repository | None
    log: Log
    check_name: str
    comment_enabled: bool
    link: str | None  # the workflow run's page
    env: Mapping[str, str]
    # what went wrong talking to GitHub: each also a `::warning`, and all of them in the job summary
    faults: list[str] = field(default_factory=list)

    def guarded(self, what: str, call: Callable[[], T], fallback: T) -> T:
        """`call()`, or `fallback` and a warning when GitHub fails in any way: an API outage never changes
        the verdict, the exit code or the step outputs."""
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 (HTTP, connection, timeout, retries used up: all alike)
            self.fault(f"promptreview could not {what}: {describe(exc)}")
            return fallback

    def fault(self, message: str) -> None:
        self.faults.append(message)
        self.log.command("warning", message)

    def comment(self, body: str, create: bool) -> str | None:
        """Edit the sticky comment (or create it when `create`); its URL, or None when there is none."""
        if not self.comment_enabled or self.event.pr_number is None or self.repo is None:
            return None
        repo, number = self.repo, self.event.pr_number
        done = self.guarded(
            "post the PR comment",
            lambda: publish_sticky(repo, number, self.check_name, secrets.scrub(body), create=create),
            None,
        )
        if done is None:
            return None
        if done.action == "failed":
            hint = (
                " (a fork pull request's token is read-only; see docs/github.md)"
                if self.event.fork
                else " (does the workflow grant `pull-requests: write`?)"
            )
            self.fault(f"promptreview could not post the PR comment: {done.detail}{hint}")
            return None
        if done.action != "skipped":
            self.log.say(f"comment {done.action}: {done.url}")
        return done.url

    def check(
        self,
        result: CIResult,
        summary: str,
        head: str,
        report: Report | None,
        lines: Mapping[str, int],
        accepted: bool,
    ) -> None:
        """The check run on `head` (a commit status when check runs are not permitted)."""
        if self.repo is None:
            return
        spec = CheckSpec(
            name=self.check_name,
            head_sha=head,
            conclusion=result.conclusion,
            title=inert(secrets.scrub(result.title)),
            summary=secrets.scrub(summary),
            annotations=[
                {
                    k: inert(secrets.scrub(v)) if isinstance(v, str) and k != "path" else v
                    for k, v in a.items()
                }
                for a in (annotations_for(report, lines, accepted) if report is not None else [])
            ],
            details_url=self.link,
        )
        repo = self.repo
        done = self.guarded("set the check", lambda: publish_check(repo, spec), None)
        if done is None:
            return
        if done.kind == "none":
            self.fault(f"promptreview could not set the check: {done.detail}")
        elif done.kind == "status":
            self.log.say(done.detail or "set a commit status")
        else:
            self.log.say(f"check run {result.conclusion}: {done.url}")

    def annotate(self, report: Report, lines: Mapping[str, int], accepted: bool) -> None:
        """`::error file=…,line=…::` for failed gates (a warning once accepted), in the job's log and diff."""
        for p in report.prompts:
            if p.verdict not in (PromptVerdict.FAIL, PromptVerdict.WARN) or not p.path:
                continue
            level, title = headline(p.verdict, accepted)
            messages = gate_failures(p, (p.verdict,)) or [f"verdict: {p.verdict}"]
            command = "error" if level == "failure" else level
            self.log.command(
                command, "; ".join(messages), file=p.path, line=lines.get(p.path, 1), title=title
            )

    def summary(self, markdown: str) -> None:
        if self.faults:
            lines = "\n".join(f"> - {escape_md(f)}" for f in self.faults)
            markdown = (
                f"{markdown.rstrip()}\n\n> [!WARNING]\n> GitHub could not be reached for everything; the "
                f"verdict stands:\n{lines}\n"
            )
        append_step_summary(self.env.get("GITHUB_STEP_SUMMARY"), markdown)

    def done(self, result: CIResult, json_path: Path, comment_url: str | None) -> ExitCode:
        """The step outputs and the last line; the job's exit code."""
        write_outputs(
            self.env.get("GITHUB_OUTPUT"),
            {
                "verdict": result.verdict,
                "report-path": str(json_path),
                "comment-url": comment_url or "",
                "html-path": str(html) if (html := json_path.with_name("report.html")).is_file() else "",
            },
        )
        self.log.say(f"{result.verdict}: {result.title}")
        return result.exit_code
