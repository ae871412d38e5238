"""The words of a CI run: the sticky comment's body, the check's summary, the job summary. Pure text, no I/O.

Untrusted strings (labels, logins, file names, messages quoting PR content) go through `escape_md`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from promptreview.github.comment import fit_comment, marker
from promptreview.github.conclusion import CIResult, LabelRefused
from promptreview.github.event import Event, LabelChange
from promptreview.report.escape import code_span, escape_md
from promptreview.verdicts import CIVerdict

ICONS = {
    CIVerdict.PASS: "✅",
    CIVerdict.FAIL: "❌",
    CIVerdict.ACCEPTED: "☑️",
    CIVerdict.SKIPPED: "⏭️",
    CIVerdict.ERROR: "🛑",
    CIVerdict.INVALID: "🛑",
    CIVerdict.ACTION_REQUIRED: "✋",
}

UNPROTECTED_LINE = (
    "promptreview: the base config says fail_closed: false, so this run that could not review ends neutral, "
    "which GitHub counts as passing: the check protects nothing"
)
UNPROTECTED = (
    "> [!CAUTION]\n> **This check protects nothing.** The base branch's config says `fail_closed: false`, so "
    "a run that could not review ends *neutral*, which GitHub counts as passing a required check."
)

_REFUSALS = {
    "earlier_commit": "it was applied before this commit was pushed (it accepts only the head commit it was "
    "applied on; remove it and add it again to accept this one)",
    "author": "it was applied by the pull request's author",
    "no_write_access": "it was applied by someone without write access to the repository",
    "unverifiable": "who applied it, or their access to the repository, could not be read",
}


def refusal_line(refused: LabelRefused) -> str:
    """One line: the accept label is on the pull request and does not count, and why."""
    who = f" ({refused.actor})" if refused.actor and refused.reason != "earlier_commit" else ""
    return f"the label {refused.label} does not accept this commit: {_REFUSALS[refused.reason]}{who}"


def short_sha(sha: str | None) -> str:
    return (sha or "")[:7]


def run_url(env: Mapping[str, str]) -> str | None:
    """The workflow run's page (its summary holds the full report)."""
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    repo, run_id = env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
    if not repo or not run_id:
        return None
    attempt = env.get("GITHUB_RUN_ATTEMPT")
    return f"{server}/{repo}/actions/runs/{run_id}" + (
        f"/attempts/{attempt}" if attempt and attempt != "1" else ""
    )


def banners(
    result: CIResult,
    accept_label: str,
    adopted_config: str | None = None,
    label_change: LabelChange | None = None,
) -> str:
    """Markdown shown above the report: an accepted regression, a removed accept label, a new config."""
    parts = [UNPROTECTED] if result.protects_nothing else []
    if result.refused is not None:
        parts.append(f"> [!WARNING]\n> {escape_md(refusal_line(result.refused), 600)}")
    if result.verdict is CIVerdict.ACCEPTED and result.acceptance is not None:
        by = escape_md(result.acceptance.by().strip() or "by a maintainer", 200)
        parts.append(
            f"> [!IMPORTANT]\n> **Regression accepted** {by} with the label {code_span(accept_label, 100)}. "
            f"The numbers below are unchanged; the check passes because of the label. "
            f"Remove the label to re-evaluate."
        )
    if result.verdict is CIVerdict.FAIL:
        parts.append(
            f"> [!TIP]\n> Fix the prompt and push, or, to merge this regression on purpose, someone with write "
            f"access other than the pull request's author adds the label {code_span(accept_label, 100)}. It "
            f"accepts this head commit only: a later push is reviewed again."
        )
    if label_change and label_change.action == "unlabeled" and label_change.name == accept_label:
        who = f" by {escape_md(label_change.actor, 100)}" if label_change.actor else ""
        parts.append(
            f"> [!NOTE]\n> The label {code_span(accept_label, 100)} was removed{who}: re-evaluated on the gates."
        )
    if adopted_config:
        parts.append(
            f"> [!NOTE]\n> {code_span(adopted_config, 200)} is new in this pull request, so its own settings and "
            f"gates are used. From the next pull request on they are read from the base branch, so a pull request "
            f"cannot loosen its own gates."
        )
    return "\n\n".join(parts) + ("\n\n" if parts else "")


def footer(event: Event, base: str | None, head: str | None, link: str | None) -> str:
    where = f" · [workflow run and full report]({link})" if link else ""
    return (
        f"\n\n---\n<sub>promptreview · base <code>{short_sha(base)}</code> → head <code>{short_sha(head)}</code>"
        f" · {escape_md(event.name, 40)}{where}</sub>\n"
    )


@dataclass(frozen=True)
class CommentBody:
    """The sticky comment: its hidden marker line, and the text below it (also the check run's summary)."""

    marker: str
    text: str
    shortened: bool  # cut to fit GitHub's limit (the job summary has the whole report)

    @property
    def body(self) -> str:
        return f"{self.marker}\n{self.text}"


def comment_body(
    key: str,
    result: CIResult,
    banner: str,
    full: str,
    short: Callable[[], str] | None,
    tail: str,
    link: str | None,
) -> CommentBody:
    """The sticky comment: marker, banner, the report (fitted to GitHub's limit, marker included), footer."""
    line = marker(key, result.verdict)
    body, shortened = fit_comment(line + "\n" + banner, full, tail, short=short, report_link=link)
    return CommentBody(line, body[len(line) + 1 :], shortened)


def unchanged_body(key: str, config_path: str, tail: str) -> str:
    return (
        f"{marker(key, CIVerdict.SKIPPED)}\n## ⏭️ promptreview: prompts are back to unchanged\n\n"
        f"This pull request no longer changes any prompt file covered by {code_span(config_path, 200)}; "
        f"the earlier review no longer applies.{tail}"
    )


def problem_markdown(result: CIResult, details: str) -> str:
    """A report-less run (fork without a key, bad config, provider down) as Markdown."""
    caution = f"{UNPROTECTED}\n\n" if result.protects_nothing else ""
    return f"## {ICONS[result.verdict]} promptreview: {escape_md(result.title, 300)}\n\n{caution}{details}\n"


def fork_details(env_var: str, base: str | None, head: str | None, number: int | None = None) -> str:
    var = code_span(env_var, 80)
    pr = f" -f pull-request={number}" if number is not None else ""
    return (
        f"This pull request comes from a fork. GitHub does not pass secrets to workflows that forks trigger, so "
        f"{var} is empty and promptreview could not call the model: **nothing was reviewed**, and the check "
        f"stays *action required* until a maintainer runs the review.\n\n"
        f"A maintainer (someone with write access), after reading the change:\n"
        f"- runs the maintainer workflow of promptreview's docs/github.md on exactly this commit: "
        f"<code>gh workflow run promptreview-maintainer.yml -f head={head or ''}{pr}</code> "
        f"(it reads the pull request's files as data, never runs them, and sets this check on "
        f"<code>{short_sha(head)}</code>);\n"
        f"- or reviews it locally: <code>promptreview check --base {short_sha(base)} "
        f"--head {short_sha(head)}</code>, and pushes the branch to this repository;\n"
        f"- or sets the repository up to review without a secret: GitHub Models (`github:` models, `models: "
        f"read` permission) or a self-hosted server."
    )
