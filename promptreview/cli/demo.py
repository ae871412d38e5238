"""`promptreview demo [SUITE]`: a whole review in a throwaway git repository, offline, in seconds.

The packaged sample suite (`promptreview/sample_suites/<SUITE>/`: a config, prompt files, inputs, a schema)
is laid out at the root of a new repository and committed as the base; every `*.edited.*` prompt file then
replaces its counterpart in a second commit, the edit a pull request would make. `check` reviews that edit
on the embedded `sim` model (no network, no key), the terminal report is printed, and the Markdown comment,
the HTML report and the JSON report are written next to the repository, with their paths said.
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import click

from promptreview import exitcodes
from promptreview.cli.output import ProgressBar, use_color
from promptreview.engine.review import ReviewOptions, review_changes
from promptreview.errors import UsageError
from promptreview.report import render
from promptreview.sources import git

if TYPE_CHECKING:  # importlib.resources.abc is Python 3.11+; importlib.abc has the same class on 3.10
    from importlib.abc import Traversable

DEFAULT_SUITE = "support_triage"
MARKER = ".promptreview-demo"  # a folder with this file is a demo's, and may be replaced by the next one


def suites() -> dict[str, Traversable]:
    """The packaged sample suites by name: folders of `promptreview/sample_suites` with a config."""
    root = resources.files("promptreview").joinpath("sample_suites")
    return {
        d.name: d
        for d in root.iterdir()
        if d.is_dir() and d.joinpath("promptreview.yml").is_file() and not d.name.startswith(("_", "."))
    }


def _copy(source: Traversable, target: Path, prefix: str) -> None:
    """Copy a packaged suite; the config's paths lose the package prefix (the suite sits at the root)."""
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.name.startswith(("_", ".")) or item.name.endswith((".py", ".pyc")):
            continue
        if item.is_dir():
            _copy(item, target / item.name, prefix)
        elif item.name == "promptreview.yml":
            text = _demo_config(item.read_text("utf-8").replace(prefix, ""))
            (target / item.name).write_text(text, encoding="utf-8")
        else:
            (target / item.name).write_bytes(item.read_bytes())


# The suite's "Try it" compares the prompt with its `*.edited.*` twin, which sits beside it in the package; in the
# demo repository the edit is a commit instead (the twin is gone), so its config says how to review that commit.
TRY_IT = (
    "# Try it: promptreview check --base HEAD~1 --head HEAD   (the edit committed here, reviewed again)\n"
)


def _demo_config(text: str) -> str:
    """The suite's config with its "# Try it:" line and the indented lines that continue it replaced."""
    lines: list[str] = []
    replacing = False
    for line in text.splitlines(keepends=True):
        if line.startswith("# Try it"):
            lines.append(TRY_IT)
            replacing = True
        elif not (replacing and line.startswith("#   ")):
            replacing = False
            lines.append(line)
    return "".join(lines)


def _edits(repo: Path) -> list[tuple[Path, Path]]:
    """(edited file, the file it edits): `x.edited.prompt.yml` edits `x.prompt.yml`."""
    pairs = []
    for edited in sorted(repo.rglob("*.edited.*")):
        original = edited.with_name(edited.name.replace(".edited.", ".", 1))
        if original.is_file():
            pairs.append((edited, original))
    return pairs


def _workspace(folder: Path) -> Path:
    """The demo's folder, empty: created, or a previous demo's replaced; anything else is left alone."""
    if folder.exists():
        if not (folder / MARKER).is_file():
            raise UsageError(f"{folder} exists and is not a promptreview demo folder: pass --dir ELSEWHERE")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("made by `promptreview demo`; safe to delete\n", encoding="utf-8")
    return folder


@click.command()
@click.argument("suite", required=False, default=DEFAULT_SUITE)
@click.option(
    "--dir",
    "folder",
    default="promptreview-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the throwaway repository and the reports (replaced when it holds an earlier demo).",
)
def demo(suite: str, folder: str) -> int:
    """Review a sample prompt edit offline: a throwaway git repo, the `sim` model, all three reports."""
    known = suites()
    if suite not in known:
        raise UsageError(f"unknown sample suite {suite!r} (packaged: {', '.join(sorted(known))})")
    work = _workspace(Path(folder).resolve())
    repo = work / "repo"
    repo.mkdir()
    _copy(known[suite], repo, f"promptreview/sample_suites/{suite}/")
    pairs = _edits(repo)
    if not pairs:
        raise UsageError(f"sample suite {suite!r} has no *.edited.* prompt file to review")
    edited = {e: e.read_bytes() for e, _ in pairs}
    for e, _ in pairs:
        e.unlink()
    git.init_repository(repo)
    base = git.commit_all(repo, f"{suite}: the prompt as it is")
    for e, original in pairs:
        original.write_bytes(edited[e])
    head = git.commit_all(repo, f"{suite}: edit the prompt")
    click.echo(
        f"promptreview demo: sample suite {suite!r} in {repo} (base {base[:7]}, edit {head[:7]})", err=True
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}  # offline means no key is used
    with ProgressBar() as progress:
        report = review_changes(
            ReviewOptions(
                repo_root=repo,
                config_path="promptreview.yml",
                base=base,
                head=head,
                model=None,
                samples=None,
                seed=None,
                concurrency=None,
                use_cache=True,
                env=env,
                progress=progress,
            )
        )
    from promptreview.report import text as text_report  # (tabulate: loaded by the command that prints it)

    click.echo(text_report.render(report, color=use_color()), nl=False)
    markdown_path, html_path = work / "comment.md", work / "report.html"
    markdown_path.write_text(render(report, "markdown"), encoding="utf-8")
    html_path.write_text(render(report, "html"), encoding="utf-8")
    (work / "report.json").write_text(render(report, "json"), encoding="utf-8")
    click.echo(
        f"\nThe PR comment (Markdown): {markdown_path}\nThe HTML report: {html_path}\n"
        f"The JSON report: {work / 'report.json'}\n"
        f"Look around: cd {repo} && git log --stat && {_this_command()} check --base {base[:12]} "
        f"--head {head[:12]}",
        err=True,
    )
    code = exitcodes.for_review(report.verdict)
    if code == exitcodes.ExitCode.REGRESSION:
        # the demo did its job: it found the regression it was built to show (`check` exits 1 here)
        click.echo("(`promptreview check` would exit 1 on this edit: a gate failed)", err=True)
        return exitcodes.ExitCode.OK
    return code


def _this_command() -> str:
    """How to run this promptreview again: its name when that is what the PATH finds, else its full path (the
    README's first command runs `.venv/bin/promptreview` from a shell whose PATH may hold another one)."""
    import sys

    here = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    found = shutil.which("promptreview")
    if here is None or here.name != "promptreview" or (found is not None and Path(found).resolve() == here):
        return "promptreview"
    return str(here)
