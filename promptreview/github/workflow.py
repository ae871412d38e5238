"""One `promptreview ci` run: read the event, review the prompt files the pull request changed (config and
gates from the base commit), decide the CI result, and publish it (`publish`).

The command line supplies `Settings` and a sink for stdout lines and gets back the exit code; nothing here
prints or exits. Git commands only through `prepare`/`checkout`, GitHub only through `api` and `publish`;
expected failures (bad config, a provider outage, a fork without a key) become a CI result here, through
`conclusion` and `exitcodes`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from promptreview.errors import HeadRejected, MissingCredentials, ProviderError, UsageError
from promptreview.exitcodes import ExitCode, FailOn, for_ci
from promptreview.github import cache_seal, compose, conclusion
from promptreview.github.api import connect, permission_of
from promptreview.github.checkout import first_changed_line
from promptreview.github.comment import marker
from promptreview.github.conclusion import CIResult
from promptreview.github.event import Event, load_event
from promptreview.github.prepare import Prepared, cache_key, prepare
from promptreview.github.publish import Publisher, write_ci_report
from promptreview.github.summary import Log, Sink, write_outputs
from promptreview.report import html, markdown
from promptreview.report.document import Report, Rerun, error_report
from promptreview.report.escape import code_block
from promptreview.sources import git
from promptreview.verdicts import CIVerdict, acceptable


@dataclass(frozen=True)
class Settings:
    """What the command line passes in: its options, the environment, and where it runs."""

    config_path: str
    check_name: str
    fail_on: FailOn
    accept_label: str
    comment: bool
    env: Mapping[str, str]
    workdir: Path
    report_dir: Path | None = None  # None: under RUNNER_TEMP
    model: str | None = None
    samples: int | None = None
    seed: int | None = None
    concurrency: int | None = None
    use_cache: bool = True
    cache_key_only: bool = False


def run(settings: Settings, sink: Sink) -> ExitCode:
    """The whole `ci` command (or, with `cache_key_only`, only the actions/cache key); the exit code."""
    env, log = settings.env, Log(sink)
    if settings.cache_key_only:
        try:
            maybe: Event | None = load_event(env)
        except UsageError:
            maybe = None  # the review step reports a broken event; the key step still gives a key
        key, restore = cache_key(maybe, settings.config_path, env, settings.workdir)
        write_outputs(env.get("GITHUB_OUTPUT"), {"cache-key": key, "cache-restore-keys": "\n".join(restore)})
        sink(key)
        return ExitCode.OK
    event = load_event(env)
    if env.get("GITHUB_JOB") == settings.check_name:
        log.command(
            "warning",
            f"promptreview: the job and the check run are both named {settings.check_name}, so the job's status "
            "can be mistaken for the check: rename the job (docs/github.md names it review)",
        )
    if event.skip_reason:
        log.command("notice", f"promptreview: nothing to do ({event.skip_reason})")
        write_outputs(
            env.get("GITHUB_OUTPUT"), {"verdict": CIVerdict.SKIPPED, "report-path": "", "comment-url": ""}
        )
        return for_ci(CIVerdict.SKIPPED, settings.fail_on)
    return CIRun(event, settings, log).execute()


def _report_dir(settings: Settings) -> Path:
    if settings.report_dir is not None:
        return settings.report_dir
    env = settings.env
    runner_temp = Path(env.get("RUNNER_TEMP") or tempfile.gettempdir())
    return runner_temp / f"promptreview-{env.get('GITHUB_RUN_ID', 'local')}"


class CIRun:
    """One run on one event: review, decide, publish, in that order."""

    def __init__(self, event: Event, settings: Settings, log: Log) -> None:
        self.event, self.settings, self.log = event, settings, log
        self.report_dir = _report_dir(settings)
        self.link = compose.run_url(settings.env)
        repo = None
        token = settings.env.get("GITHUB_TOKEN")
        if token:
            repo = connect(token, settings.env.get("GITHUB_API_URL"), event.repository)
        else:
            log.command(
                "warning",
                "GITHUB_TOKEN is not set: no PR comment and no check run (pass the github-token input)",
            )
        self.publish = Publisher(
            event, repo, log, settings.check_name, settings.comment, self.link, settings.env
        )

    def execute(self) -> ExitCode:
        cache_dir = self.cache_dir()
        dropped = cache_seal.verify(cache_dir, self.settings.env)
        if dropped:
            self.log.command("warning", f"promptreview: {dropped}")
        try:
            return self.review_and_publish()
        finally:
            # what this run asked is reusable by the next run only under this run's seal
            cache_seal.seal(cache_dir, self.settings.env)

    def cache_dir(self) -> Path | None:
        """The response cache's directory the action restores and saves (None: not in the action's hands)."""
        where = self.settings.env.get("PROMPTREVIEW_CACHE_DIR")
        return Path(where) if where and self.settings.use_cache else None

    def review_and_publish(self) -> ExitCode:
        event, settings, prepared = self.event, self.settings, None
        try:
            prepared = prepare(event, settings.config_path, settings.workdir)
            for line in prepared.log:
                self.log.say(line)
            report = self.review(prepared)
        except MissingCredentials as exc:
            if not event.fork:
                result = conclusion.invalid(str(exc), settings.fail_on)
                return self.finish_problem(result, code_block(str(exc)), prepared)
            result = conclusion.fork_without_key(
                exc.env_var, str(exc), settings.fail_on, self.fail_closed(prepared)
            )
            details = compose.fork_details(exc.env_var, event.base_sha, event.head_sha, event.pr_number)
            return self.finish_problem(result, details, prepared)
        except HeadRejected as exc:
            result = conclusion.head_rejected(str(exc), settings.fail_on)
            return self.finish_problem(result, code_block(str(exc)), prepared)
        except ProviderError as exc:
            result = conclusion.provider_failed(str(exc), settings.fail_on, self.fail_closed(prepared))
            return self.finish_problem(result, code_block(str(exc)), prepared)
        except UsageError as exc:
            result = conclusion.invalid(str(exc), settings.fail_on)
            return self.finish_problem(result, code_block(str(exc)), prepared)
        return self.finish_report(report, prepared)

    def review(self, prepared: Prepared) -> Report:
        # imported here, not at the top: the engine (pandas, scipy) takes seconds to import, and the
        # cache-key step and event-less runs never review anything
        from promptreview.engine import review

        settings = self.settings
        return review.review_changes(
            review.ReviewOptions(
                repo_root=prepared.root,
                config_path=settings.config_path,
                config_rev=prepared.config_rev,
                base=prepared.base,
                head=prepared.head,
                model=settings.model,
                samples=settings.samples,
                seed=settings.seed,
                concurrency=settings.concurrency,
                use_cache=settings.use_cache,
                env=dict(settings.env),
                # a pull request waits for the verdict (a maintainer's dispatch for a fork's included)
                waiting=self.event.pr_number is not None or self.event.name != "workflow_dispatch",
            )
        )

    def permission(self) -> Callable[[str], str | None] | None:
        """A login's permission on the repository (one request, made only when the accept label may count)."""
        repo = self.publish.repo
        if repo is None:
            return None
        return lambda login: permission_of(repo, login)

    def fail_closed(self, prepared: Prepared | None) -> bool:
        """False only when the BASE config says `fail_closed: false`: a config this pull request adds, or one
        that cannot be read, never opts out."""
        if prepared is None or prepared.adopted_config:
            return True
        from promptreview.sources.config import load_config

        try:
            return load_config(prepared.root, self.settings.config_path, prepared.config_rev).fail_closed
        except UsageError:
            return True

    def finish_report(self, report: Report, prepared: Prepared) -> ExitCode:
        event, settings, publish = self.event, self.settings, self.publish
        if prepared.adopted_config:
            self.log.command(
                "notice",
                f"{prepared.adopted_config} is new in this pull request: using its own settings and gates",
            )
        acceptance = None
        if acceptable(report.verdict, report.warned):
            acceptance = conclusion.acceptance_for(event, settings.accept_label, self.permission())
        result = conclusion.from_report(report, settings.fail_on, acceptance, self.fail_closed(prepared))
        if result.refused is not None:
            self.log.command("warning", compose.refusal_line(result.refused))
        accepted = result.verdict is CIVerdict.ACCEPTED
        # decided from the finished report, so kept beside it (report.json holds both), never put into it
        section = conclusion.ci_section(result, event, prepared.config_from)

        if result.verdict is CIVerdict.ERROR:  # no annotation names it: one line in the log does
            self.log.command("error", f"promptreview: {result.title}")
        if result.protects_nothing:
            self.log.command("warning", compose.UNPROTECTED_LINE)
        banner = compose.banners(result, settings.accept_label, prepared.adopted_config, event.label_change)
        html_link = f"{self.link}#artifacts" if self.link else None  # the run page lists its artifacts
        full = markdown.render(report, html_link=html_link)
        tail = compose.footer(event, prepared.base, prepared.head, self.link)
        comment = compose.comment_body(
            settings.check_name,
            result,
            banner,
            full,
            lambda: markdown.render(report, examples=False, html_link=html_link),
            tail,
            self.link,
        )
        json_path = write_ci_report(self.report_dir, report, section, banner + full, html.render(report))

        if result.verdict is CIVerdict.SKIPPED:
            unchanged = compose.unchanged_body(settings.check_name, settings.config_path, tail)
            comment_url = publish.comment(unchanged, create=False)
        else:
            if comment.shortened:
                self.log.say(
                    "the PR comment was shortened to fit GitHub's limit; the job summary has the full report"
                )
            comment_url = publish.comment(comment.body, create=True)
        lines = {
            p.path: first_changed_line(
                prepared.root, prepared.base, prepared.head, p.old_path or p.path, p.path
            )
            for p in report.prompts
            if p.path and p.change != "removed"
        }
        publish.check(result, comment.text, prepared.head, report, lines, accepted)
        publish.summary(banner + full + tail)
        publish.annotate(report, lines, accepted)
        return publish.done(result, json_path, comment_url)

    def finish_problem(self, result: CIResult, details: str, prepared: Prepared | None) -> ExitCode:
        """A run without a review: a fork without the key, a bad config or prompt, the provider down."""
        event, publish = self.event, self.publish
        text = compose.problem_markdown(result, details)
        base = prepared.base if prepared else event.base_sha
        head = prepared.head if prepared else event.head_sha
        tail = compose.footer(event, base, head, self.link)
        if result.verdict in (CIVerdict.INVALID, CIVerdict.FAIL):
            self.log.command("error", result.reason or result.title, title="promptreview")
        elif result.verdict is CIVerdict.ERROR:
            self.log.command("error", f"promptreview: no verdict: {result.reason}")
        elif result.verdict is CIVerdict.ACTION_REQUIRED:
            self.log.command("error", f"promptreview: {result.title} (the job summary says how)")
        if result.protects_nothing:
            self.log.command("warning", compose.UNPROTECTED_LINE)
        section = conclusion.ci_section(result, event, prepared.config_from if prepared else None)
        rerun = Rerun("check", base, head) if base and head else None
        report = error_report(result.reason or result.title, base=base, head=head, rerun=rerun)
        json_path = write_ci_report(self.report_dir, report, section, text)
        # no review happened: an existing comment learns why, but no new comment is started
        comment_url = publish.comment(
            marker(self.settings.check_name, result.verdict) + "\n" + text + tail, False
        )
        # a check needs a commit: a SHA from the payload, or one that prepare found
        if head and (prepared or git.is_sha(head)):
            publish.check(result, text + tail, head, None, {}, False)
        publish.summary(text + tail)
        return publish.done(result, json_path, comment_url)
