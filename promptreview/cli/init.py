"""`promptreview init`: write a starter `promptreview.yml` and `.github/workflows/promptreview.yml`.

The workflow has minimal `permissions:` (each one commented with what it is for) and no `paths:` filter: a
required check whose workflow never runs stays pending forever, and `promptreview ci` exits in seconds when
no prompt changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from promptreview import __version__
from promptreview.errors import UsageError
from promptreview.sources import git
from promptreview.vocabulary import ProviderName

# The action pinned to the full commit SHA of the release this package was cut from (a tag can be moved under
# a workflow; a SHA cannot), the version in the comment, as zizmor's unpinned-uses audit asks. `--action-ref`
# overrides it (e.g. with a later release's SHA).
ACTION_COMMIT = "9c362889a251138d2c5a5b2dce7aa79ed49188d3"
ACTION_REF = f"promptreview/promptreview@{ACTION_COMMIT} # v{__version__}"
# pinned to a full commit SHA (a tag can be moved), on the Node 24 runtime; the comment names the release
CHECKOUT_REF = "actions/checkout@fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09 # v5.1.0"
CONFIG_FILE = "promptreview.yml"
WORKFLOW_FILE = ".github/workflows/promptreview.yml"


@dataclass(frozen=True)
class StarterModel:
    model: str
    secret: str | None  # env var the workflow passes from secrets
    note: str = ""
    allow_unpinned: bool = False


STARTER_MODELS: dict[ProviderName, StarterModel] = {
    "openai": StarterModel("openai:gpt-4o-mini-2024-07-18", "OPENAI_API_KEY"),
    "anthropic": StarterModel("anthropic:claude-3-5-haiku-20241022", "ANTHROPIC_API_KEY"),
    "github": StarterModel(
        "github:openai/gpt-4.1-mini",
        None,
        "GitHub Models: authenticated with the workflow's GITHUB_TOKEN (permission `models: read`); its model "
        "ids carry no date, so a pin cannot be verified",
        allow_unpinned=True,
    ),
    "ollama": StarterModel(
        "ollama:llama3.2:3b",
        None,
        "Ollama: needs a reachable server (OLLAMA_HOST), e.g. on a self-hosted runner",
    ),
    "sim": StarterModel(
        "sim:triage-v1", None, "sim: promptreview's embedded offline model, for trying it out"
    ),
}


def _prompt_glob(root: Path) -> str:
    """A glob covering the prompt files already in the repository, else the conventional place."""
    found = sorted(
        p.relative_to(root).as_posix()
        for pattern in ("*.prompt.yml", "*.prompt.yaml")
        for p in root.rglob(pattern)
        if ".git" not in p.relative_to(root).parts
    )
    if not found:
        return "prompts/**/*.prompt.yml"
    dirs = {str(Path(f).parent.as_posix()) for f in found}
    top = sorted(dirs, key=len)[0]
    common = top if all(d == top or d.startswith(top + "/") for d in dirs) else ""
    suffix = "*.prompt.yaml" if all(f.endswith(".yaml") for f in found) else "*.prompt.yml"
    if common in ("", "."):
        return f"**/{suffix}"
    return f"{common}/**/{suffix}"


def config_text(provider: ProviderName, model: str | None, prompt_glob: str) -> str:
    spec = STARTER_MODELS[provider]
    lines = [
        "# promptreview: reviews prompt changes by running the old and the new prompt over the same inputs.",
        "# In CI this file (and so the gates) is read from the pull request's base commit.",
        "version: 1",
        f"model: {model or spec.model}   # default for prompt files that name no model of their own",
    ]
    if spec.note:
        lines.append(f"# {spec.note}")
    if spec.allow_unpinned:
        lines.append("allow_unpinned: true")
    lines += [
        "params: {temperature: 0.7, max_tokens: 400}",
        "samples: 3            # completions per input and prompt version; >= 2 gives a noise floor",
        "concurrency: 8",
        "budget: {max_calls: 5000}",
        "prompts:",
        f'  - files: "{prompt_glob}"',
        "    suite: evals/inputs.jsonl          # JSONL or CSV; one row = the template variables (+ strata columns)",
        "    # schema: evals/output.schema.json # where the prompt file declares no jsonSchema of its own",
        "    # strata: [channel]                # suite columns whose values define the strata",
        "    sample: {size: 200, allocation: proportional, seed: 1234}",
        "gates:                 # a gate fails only on a significant increase larger than its margin",
        "  parse_failure: {max_increase: 0.02}",
        "  schema_violation: {max_increase: 0.02}",
        "  refusal: {max_increase: 0.02}",
        "  alpha: 0.05",
    ]
    return "\n".join(lines) + "\n"


def workflow_text(provider: ProviderName, action_ref: str = ACTION_REF) -> str:
    spec = STARTER_MODELS[provider]
    permissions = [
        "  contents: read        # check out the repository; read prompts, suites and the config",
        "  pull-requests: write  # post and update promptreview's one sticky comment on the pull request",
        "  checks: write         # report the verdict as the `promptreview` check run (make it a required check)",
    ]
    if provider == "github":
        permissions.append("  models: read          # call GitHub Models with the workflow's GITHUB_TOKEN")
    env = ""
    if spec.secret:
        env = f"        env:\n          {spec.secret}: ${{{{ secrets.{spec.secret} }}}}\n"
    elif provider == "ollama":
        env = "        env:\n          OLLAMA_HOST: http://localhost:11434   # your Ollama server\n"
    return (
        "# promptreview: reviews every pull request's prompt changes; one sticky comment and a check run.\n"
        "name: promptreview\n"
        "\n"
        "on:\n"
        "  pull_request:\n"
        "    # labeled/unlabeled: the `promptreview/accept` label accepts a regression; removing it re-evaluates\n"
        "    types: [opened, synchronize, reopened, labeled, unlabeled]\n"
        "  merge_group:          # when the merge queue requires the check\n"
        "  workflow_dispatch:    # a manual run (compares with the default branch)\n"
        "# No `paths:` filter, on purpose: a required check whose workflow never runs stays pending forever.\n"
        "# promptreview finishes in seconds when no prompt file changed.\n"
        "\n"
        "permissions:\n" + "\n".join(permissions) + "\n"
        "\n"
        "concurrency:\n"
        "  group: promptreview-${{ github.event.pull_request.number || github.ref }}\n"
        "  cancel-in-progress: true\n"
        "\n"
        "jobs:\n"
        "  review:               # not `promptreview`: that name is the check run's, the one to require\n"
        "    runs-on: ubuntu-latest\n"
        "    timeout-minutes: 30\n"
        "    steps:\n"
        f"      - uses: {CHECKOUT_REF}\n"
        "        with:\n"
        "          fetch-depth: 0              # the base and head commits and their merge base\n"
        "          persist-credentials: false\n"
        f"      - uses: {action_ref}\n"
        "        id: promptreview\n"
        "        with:\n"
        "          fail-on: regression         # regression | warning | never\n"
        f"{env}"
    )


@click.command()
@click.option(
    "--provider",
    type=click.Choice(sorted(STARTER_MODELS)),
    default="openai",
    show_default=True,
    help="Model provider the starter config and workflow are set up for.",
)
@click.option("--model", default=None, help="Model spec (default: a pinned model of the provider).")
@click.option("--action-ref", default=ACTION_REF, show_default=True, help="The `uses:` of the action.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
# (`provider` is a ProviderName: click.Choice(sorted(STARTER_MODELS)) admits no other word)
def init(provider: ProviderName, model: str | None, action_ref: str, force: bool) -> int:
    """Write a starter promptreview.yml and .github/workflows/promptreview.yml."""
    try:
        root = git.repo_root(Path.cwd())
    except UsageError:
        root = Path.cwd()
    targets = {
        root / CONFIG_FILE: config_text(provider, model, _prompt_glob(root)),
        root / WORKFLOW_FILE: workflow_text(provider, action_ref),
    }
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        names = ", ".join(p.relative_to(root).as_posix() for p in existing)
        raise UsageError(
            f"{names} already exist{'s' if len(existing) == 1 else ''}; pass --force to overwrite"
        )
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        click.echo(f"wrote {path.relative_to(root).as_posix()}")
    spec = STARTER_MODELS[provider]
    click.echo("next:")
    click.echo("  1. point `prompts[].suite` at a JSONL/CSV file of real inputs (and `schema` / `strata`)")
    if spec.secret:
        click.echo(
            f"  2. add the repository secret {spec.secret} (Settings → Secrets and variables → Actions)"
        )
    click.echo("  3. commit both files; then make the `promptreview` check required in branch protection")
    return 0
