"""`promptreview init`: write a starter `promptreview.yml` and `.github/workflows/promptreview.yml`.

The workflow has minimal `permissions:` (each one commented with what it is for) and no `paths:` filter: a
required check whose workflow never runs stays pending forever, and `promptreview ci` exits in seconds when
no prompt changed.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from promptreview import __commit__, __dirty__, __version__
from promptreview.errors import UsageError
from promptreview.providers import parse_model_spec
from promptreview.records import RATE_OUTCOMES
from promptreview.sources import formats, git
from promptreview.sources.config import parse_config
from promptreview.vocabulary import TOOL_RATES, GatedRate, ProviderName

ACTION_REPOSITORY = "promptreview/promptreview"
# pinned to a full commit SHA (a tag can be moved), on the Node 24 runtime; the comment names the release
CHECKOUT_REF = "actions/checkout@fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09 # v5.1.0"
SETUP_PYTHON_REF = "actions/setup-python@ece7cb06caefa5fff74198d8649806c4678c61a1 # v6.3.0"
CACHE_RESTORE_REF = "actions/cache/restore@27d5ce7f107fe9357f9df03efb73ab90386fccae # v5.0.5"
CACHE_SAVE_REF = "actions/cache/save@27d5ce7f107fe9357f9df03efb73ab90386fccae # v5.0.5"
# `init --attest`: the record artifact the action uploads (its `record-artifact` input's default), fetched by the
# attest job and attested with GitHub's artifact attestation; both pinned like the rest
ATTEST_REF = "actions/attest-build-provenance@a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32 # v4.1.0"
DOWNLOAD_ARTIFACT_REF = "actions/download-artifact@37930b1c2abaa49bbe596cd826c3c89aef350131 # v7.0.0"
RECORD_ARTIFACT = "promptreview-record"
CONFIG_FILE = "promptreview.yml"
WORKFLOW_FILE = ".github/workflows/promptreview.yml"
SCHEDULE_FILE = ".github/workflows/promptreview-schedule.yml"
SCHEDULE_CRON = "17 6 * * 1"  # weekly, Monday 06:17 UTC (off the hour, when scheduled runs queue)
CANDIDATE_VARIABLE = "PROMPTREVIEW_CANDIDATE"
MIGRATION_LABEL = "promptreview/migration"
DRIFT_LABEL = "promptreview/drift"


@dataclass(frozen=True)
class StarterModel:
    model: str
    secret: str | None  # env var the workflow passes from secrets
    note: str = ""
    allow_unpinned: bool = False
    offer: str = ""  # what `init` says of it when it asks which provider


STARTER_MODELS: dict[ProviderName, StarterModel] = {
    "openai": StarterModel(
        "openai:gpt-4o-mini-2024-07-18", "OPENAI_API_KEY", offer="OpenAI; needs the secret OPENAI_API_KEY"
    ),
    "anthropic": StarterModel(
        "anthropic:claude-3-5-haiku-20241022",
        "ANTHROPIC_API_KEY",
        offer="Anthropic; needs the secret ANTHROPIC_API_KEY",
    ),
    "github": StarterModel(
        "github:openai/gpt-4.1-mini",
        None,
        "GitHub Models: authenticated with the workflow's GITHUB_TOKEN (permission `models: read`); its model "
        "ids carry no date, so a pin cannot be verified",
        allow_unpinned=True,
        offer="GitHub Models with the workflow's own GITHUB_TOKEN: no secret to add",
    ),
    "ollama": StarterModel(
        "ollama:llama3.2:3b",
        None,
        "Ollama: needs a reachable server (OLLAMA_HOST), e.g. on a self-hosted runner",
        offer="your Ollama server (OLLAMA_HOST), e.g. on a self-hosted runner",
    ),
    "sim": StarterModel(
        "sim:triage-v1",
        None,
        "sim: promptreview's embedded offline model, for trying it out",
        offer="the embedded offline model: to try promptreview out, it reviews no real model",
    ),
}


def pinned_action_ref(commit: str | None, version: str) -> str:
    """The `uses:` of the action: pinned to the full commit this promptreview was built from (a tag can be moved
    under a workflow; a SHA cannot), its version in the comment, as zizmor's unpinned-uses audit asks. A build
    that did not know its commit (an sdist's own metadata) gets the release tag, which `init` says to pin."""
    if commit:
        return f"{ACTION_REPOSITORY}@{commit} # v{version}"
    return f"{ACTION_REPOSITORY}@{release_tag(version)} # pin it: replace the tag with its full commit SHA"


def release_tag(version: str) -> str:
    """The release tag of a version (its local part, `+g…`, is no part of a tag)."""
    return "v" + version.split("+", 1)[0]


def _found_prompt_files(root: Path) -> list[str]:
    """The GitHub Models prompt files already in the repository (relative POSIX paths)."""
    return sorted(
        p.relative_to(root).as_posix()
        for pattern in ("*.prompt.yml", "*.prompt.yaml")
        for p in root.rglob(pattern)
        if ".git" not in p.relative_to(root).parts
    )


def _prompt_glob(found: list[str]) -> str:
    """A glob covering the prompt files already in the repository, else the conventional place."""
    if not found:
        return "prompts/**/*.prompt.yml"
    dirs = {str(Path(f).parent.as_posix()) for f in found}
    top = sorted(dirs, key=len)[0]
    common = top if all(d == top or d.startswith(top + "/") for d in dirs) else ""
    suffix = "*.prompt.yaml" if all(f.endswith(".yaml") for f in found) else "*.prompt.yml"
    if common in ("", "."):
        return f"**/{suffix}"
    return f"{common}/**/{suffix}"


@dataclass(frozen=True)
class FoundPrompts:
    """What the prompt files already in the repository say for themselves."""

    paths: tuple[str, ...] = ()
    models: tuple[str, ...] = ()  # the model spec each file names (own or GitHub Models' spelling), in order
    own_inputs: tuple[int, ...] = ()  # rows of each file that carries its own inputs (testData, sample)
    tools: bool = False  # some file declares function tools: its review gates their faults too

    @property
    def all_name_a_model(self) -> bool:
        return bool(self.paths) and len(self.models) == len(self.paths)

    @property
    def all_carry_inputs(self) -> bool:
        return bool(self.paths) and len(self.own_inputs) == len(self.paths)

    def provider(self) -> ProviderName | None:
        """The one provider every model the files name is on, if there is one."""
        names = {parse_model_spec(m).provider for m in self.models}
        only = names.pop() if len(names) == 1 else None
        return only if only in STARTER_MODELS else None


def read_found(root: Path, paths: list[str]) -> FoundPrompts:
    """Read each found prompt file as a review would; one that does not read is left out of the facts (the
    first `check` says what is wrong with it, in its own words)."""
    models: list[str] = []
    inputs: list[int] = []
    declares_tools = False
    for path in paths:
        try:
            template = formats.load_prompt(path, (root / path).read_bytes())
            model = template.model or template.model_hint
            if model is not None:
                parse_model_spec(model)
        except (UsageError, OSError):
            continue
        if model is not None:
            models.append(model)
        if template.suite is not None:
            inputs.append(len(template.suite))
        declares_tools = declares_tools or bool(template.params.get("tools"))
    return FoundPrompts(tuple(paths), tuple(models), tuple(inputs), declares_tools)


STARTER_SAMPLES = 3
STARTER_MARGIN = 0.02  # each gated rate's max_increase
STARTER_ALPHA = 0.05
# the review warns that a pass says little when its sample cannot catch this many times a gate's margin
# (stats.underpowered); the starter sample is sized so that it can
DETECT_MARGIN_TIMES = 2.0


def starter_sample_size() -> int:
    """The fewest inputs with which the starter gates catch twice their margin with 80 % power (one changed
    prompt, the planning base rate), so a starter review's pass is not "too small to say" at once."""
    from promptreview import stats  # (numpy and scipy: loaded by the command that computes)
    from promptreview.engine.planning.forecast import ASSUMED_BASE_RATE

    n = stats.inputs_to_detect(
        DETECT_MARGIN_TIMES * STARTER_MARGIN,
        STARTER_SAMPLES,
        ASSUMED_BASE_RATE,
        STARTER_ALPHA,
        max_increase=STARTER_MARGIN,
        n_tests=len(RATE_OUTCOMES),  # the starter gates every rate
    )
    return -(-(n or 200) // 10) * 10  # a round number, up (None: never, for a positive margin)


def config_text(
    provider: ProviderName, model: str | None, prompt_glob: str, found: FoundPrompts = FoundPrompts()
) -> str:
    spec = STARTER_MODELS[provider]
    lines = [
        "# promptreview: reviews prompt changes by running the old and the new prompt over the same inputs.",
        "# In CI this file (and so the gates) is read from the pull request's base commit.",
        "# No `params:` here: each prompt file's own parameters are sent as they are; `params:` (e.g.",
        "# {temperature: 0.2, max_tokens: 400}) would fill only what a file leaves out.",
        "version: 1",
    ]
    if model is None and found.all_name_a_model:
        lines.append(
            f"# model: {spec.model}   # every prompt file here names its own model, which it runs on"
        )
    else:
        lines.append(
            f"model: {model or spec.model}   # default for prompt files that name no model of their own"
        )
    if spec.note:
        lines.append(f"# {spec.note}")
    if spec.allow_unpinned:
        lines.append("allow_unpinned: true")
    size = starter_sample_size()
    lines += [
        f"samples: {STARTER_SAMPLES}            # completions per input and prompt version; >= 2 gives a noise floor",
        "concurrency: 8",
        "budget: {max_calls: 5000}",
        "prompts:",
        f'  - files: "{prompt_glob}"',
    ]
    if found.all_carry_inputs:
        lines.append(
            "    # suite: evals/inputs.jsonl        # none needed: the prompt files carry their own inputs (testData)"
        )
    else:
        lines.append(
            "    suite: evals/inputs.jsonl          # JSONL or CSV; one row = the template variables (+ strata columns)"
        )
    lines += [
        "    # schema: evals/output.schema.json # where the prompt file declares no jsonSchema of its own",
        "    # strata: [channel]                # suite columns whose values define the strata",
        f"    sample: {{size: {size}, allocation: proportional, seed: 1234}}",
        "gates:                 # a gate fails on a significant increase whose estimate exceeds its margin",
        f"  parse_failure: {{max_increase: {STARTER_MARGIN}}}",
        f"  schema_violation: {{max_increase: {STARTER_MARGIN}}}",
        f"  refusal: {{max_increase: {STARTER_MARGIN}}}",
        f"  alpha: {STARTER_ALPHA}",
    ]
    text = "\n".join(lines) + "\n"
    return text + _detectable_comment(text, found)


def _detectable_comment(text: str, found: FoundPrompts) -> str:
    """The design's smallest detectable increase, as `--plan` computes it for one changed prompt: what a
    regression must reach to fail these gates with 80 % power (smaller ones come back inconclusive)."""
    from promptreview import stats  # (numpy and scipy: loaded by the command that computes)
    from promptreview.engine.planning.forecast import ASSUMED_BASE_RATE, gate_family

    config = parse_config(text)
    entry = config.prompts[0]
    n = entry.sample.size or 0
    if found.all_carry_inputs:
        n = min(n, min(found.own_inputs))
    # a prompt with tools adds its tool faults' gates, as `--plan` and the verdict count them
    rates: tuple[GatedRate, ...] = (*RATE_OUTCOMES, *TOOL_RATES) if found.tools else RATE_OUTCOMES
    gated = [name for name in rates if config.gates[name].gating]
    family = gate_family(config, 1, 1 if found.tools else 0)
    margins = sorted({config.gates[name].max_increase for name in gated})
    detectable = max(
        stats.min_detectable_increase(
            n,
            config.samples,
            ASSUMED_BASE_RATE,
            alpha=config.alpha,
            max_increase=config.gates[name].max_increase,
            n_tests=family,
        )
        for name in gated
    )
    where = " (the prompt files' own)" if found.all_carry_inputs else ""
    margin = " / ".join(f"{m * 100:g} pp" for m in margins)
    caught = (
        f"catch an\n# increase of {detectable * 100:.1f} pp with 80 % power"
        if detectable < 1
        else "cannot\n# catch any increase with 80 % power: add inputs"
    )
    return (
        f"# Smallest detectable change: with {n} inputs{where} x {config.samples} samples these gates {caught} "
        f"(one changed prompt, a {ASSUMED_BASE_RATE * 100:g} % base rate, Holm over {family} gates);\n"
        f"# a smaller rise above the {margin} margin comes back inconclusive. `promptreview check --plan` shows\n"
        "# the figure for your own sample.\n"
    )


def workflow_text(provider: ProviderName, action_ref: str | None = None, attest: bool = False) -> str:
    action_ref = action_ref or pinned_action_ref(__commit__, __version__)
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
        "    # edited: retargeting the pull request to another base branch reviews it again (a title or body\n"
        "    # edit is skipped); without it a PR opened against any branch keeps its check when moved to main\n"
        "    types: [opened, synchronize, reopened, labeled, unlabeled, edited]\n"
        "  merge_group:          # when the merge queue requires the check\n"
        "  workflow_dispatch:    # a manual run (compares with the default branch)\n"
        "# No `paths:` filter, on purpose: a required check whose workflow never runs stays pending forever.\n"
        "# promptreview finishes in seconds when no prompt file changed.\n"
        "\n" + (_NO_PERMISSIONS if attest else "permissions:\n" + "\n".join(permissions) + "\n") + "\n"
        "concurrency:\n"
        "  group: promptreview-${{ github.event.pull_request.number || github.ref }}\n"
        "  # an edit (a title, or a retarget) waits for the review under way instead of cancelling it\n"
        "  cancel-in-progress: ${{ github.event.action != 'edited' }}\n"
        "\n"
        "jobs:\n"
        "  review:               # not `promptreview`: that name is the check run's, the one to require\n"
        "    runs-on: ubuntu-latest\n"
        "    timeout-minutes: 30\n"
        f"{_job_permissions(permissions) + _REVIEW_OUTPUTS if attest else ''}"
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
        f"{attest_job_text() if attest else ''}"
    )


# `--attest`: two jobs, so each names its own permissions and the workflow grants none (a write permission at
# the workflow level would reach the attest job too: zizmor's excessive-permissions)
_NO_PERMISSIONS = "permissions: {}         # each job names its own\n"


def _job_permissions(permissions: list[str]) -> str:
    return "    permissions:\n" + "".join(f"    {line}\n" for line in permissions)


_REVIEW_OUTPUTS = (
    "    outputs:             # for the attest job: whether this run wrote a report\n"
    "      report-path: ${{ steps.promptreview.outputs.report-path }}\n"
)


def attest_job_text() -> str:
    """`init --attest`: a job of its own attests report.json with GitHub's artifact attestation, so a verdict can
    be verified long after (`gh attestation verify`). Only this job may mint an OIDC token: the review job, which
    reads the pull request's files and the model's answers, never holds one."""
    return (
        "\n"
        "  attest:               # attest report.json, so the verdict can be verified later (docs/github.md)\n"
        "    needs: review\n"
        "    # a regression fails the review job and is attested all the same; a fork's pull request gets no OIDC\n"
        "    # token, and a run with nothing to review uploads no record\n"
        "    if: always() && needs.review.outputs.report-path != '' && !github.event.pull_request.head.repo.fork\n"
        "    runs-on: ubuntu-latest\n"
        "    timeout-minutes: 10\n"
        "    permissions:         # only this job may sign: the review job holds no OIDC token\n"
        "      id-token: write    # mint the OIDC token Sigstore signs the attestation with\n"
        "      attestations: write  # store the attestation with the repository\n"
        "      contents: read\n"
        "    steps:\n"
        f"      - uses: {DOWNLOAD_ARTIFACT_REF}\n"
        "        with:\n"
        f"          name: {RECORD_ARTIFACT}  # report.json and the response cache (the action's record-artifact)\n"
        "          path: record\n"
        f"      - uses: {ATTEST_REF}\n"
        "        with:\n"
        "          subject-path: record/**/report.json\n"
    )


def _install_steps(action_ref: str) -> str:
    """The steps that install promptreview in a scheduled job as the action does: its repository checked out at
    the commit the action is pinned to, every dependency from its hash-pinned lock, then promptreview itself
    built offline (no `pip install` of anything unpinned)."""
    repository, _, rest = action_ref.partition("@")
    ref = rest.split("#", 1)[0].strip()
    return (
        f"      - uses: {CHECKOUT_REF}\n"
        "        with:\n"
        f"          repository: {repository}\n"
        f"          ref: {ref}\n"
        "          path: .promptreview-tool\n"
        "          persist-credentials: false\n"
        f"      - uses: {SETUP_PYTHON_REF}\n"
        "        id: python\n"
        "        with:\n"
        '          python-version: "3.12"\n'
        "      - name: Install promptreview (hash-pinned lock, then promptreview built offline)\n"
        "        env:\n"
        "          PR_PYTHON: ${{ steps.python.outputs.python-path }}\n"
        "        run: |\n"
        "          set -euo pipefail\n"
        '          "$PR_PYTHON" -m venv "$RUNNER_TEMP/promptreview-venv"\n'
        '          py="$RUNNER_TEMP/promptreview-venv/bin/python"\n'
        '          "$py" -m pip install --quiet --require-hashes --only-binary :all: -r .promptreview-tool/requirements.lock\n'
        '          "$py" -m pip install --quiet --no-deps --no-build-isolation --no-index ./.promptreview-tool\n'
        '          echo "$RUNNER_TEMP/promptreview-venv/bin" >> "$GITHUB_PATH"\n'
    )


def _issue_step(what: str, label: str, title: str, report: str, when: str) -> str:
    """A step that keeps one issue (found by its label) up to date with a report: the report is the issue's
    body, read from a file (untrusted model output stays data: never in a `run:` line)."""
    return (
        f"      - name: Open or update the {what} issue\n"
        f"        if: {when}\n"
        "        env:\n"
        "          GH_TOKEN: ${{ github.token }}\n"
        "          GH_REPO: ${{ github.repository }}\n"
        f"          LABEL: {label}\n"
        f'          TITLE: "{title}"\n'
        f"          REPORT: ${{{{ runner.temp }}}}/{report}\n"
        "        run: |\n"
        "          set -euo pipefail\n"
        '          if [ ! -s "$REPORT" ]; then echo "::warning::no report to post"; exit 0; fi\n'
        '          gh label create "$LABEL" --color BFD4F2 --description "promptreview\'s scheduled reviews" --force\n'
        "          number=$(gh issue list --label \"$LABEL\" --state open --limit 1 --json number --jq '.[0].number // empty')\n"
        '          if [ -n "$number" ]; then\n'
        '            gh issue edit "$number" --body-file "$REPORT"\n'
        "          else\n"
        '            gh issue create --title "$TITLE" --label "$LABEL" --body-file "$REPORT"\n'
        "          fi\n"
    )


def _verdict_step(step: str, command: str) -> str:
    """The job's own status: failed unless the review passed (the issue says why)."""
    return (
        "      - name: Fail unless it passed (exit 1 a regression, 2 bad input, 3 a provider outage)\n"
        f"        if: steps.{step}.outputs.exit-code != '' && steps.{step}.outputs.exit-code != '0'\n"
        "        env:\n"
        f"          CODE: ${{{{ steps.{step}.outputs.exit-code }}}}\n"
        "        run: |\n"
        f'          echo "::error::promptreview {command} exited $CODE"\n'
        '          exit "$CODE"\n'
    )


def schedule_workflow_text(provider: ProviderName, action_ref: str | None = None) -> str:
    """`init --schedule`: a weekly (and manual) workflow with two jobs, each keeping one issue up to date with its
    report: `migrate --safety` to a candidate model (the repository variable PROMPTREVIEW_CANDIDATE, or a manual
    run's input), and `drift` on the pinned models (its recorded answers kept in the job's own cache)."""
    action_ref = action_ref or pinned_action_ref(__commit__, __version__)
    spec = STARTER_MODELS[provider]
    permissions = [
        "      contents: read      # check out the repository; read prompts, suites and the config",
        "      issues: write       # open or update this job's one issue (and create its label)",
    ]
    if provider == "github":
        permissions.append("      models: read        # call GitHub Models with the workflow's GITHUB_TOKEN")
    keys = ""
    if spec.secret:
        keys = f"          {spec.secret}: ${{{{ secrets.{spec.secret} }}}}\n"
    elif provider == "github":
        keys = "          GITHUB_TOKEN: ${{ github.token }}\n"
    elif provider == "ollama":
        keys = "          OLLAMA_HOST: http://localhost:11434   # your Ollama server\n"
    checkout = f"      - uses: {CHECKOUT_REF}\n        with:\n          persist-credentials: false\n"
    install = _install_steps(action_ref)
    header = (
        "    runs-on: ubuntu-latest\n    timeout-minutes: 60\n    permissions:\n"
        + "\n".join(permissions)
        + "\n"
    )
    return (
        "# promptreview, scheduled: every week (and on demand) review a candidate model against the models the\n"
        "# prompts run on today (`promptreview migrate`), and watch the pinned models for drift (`promptreview\n"
        "# drift`). Each job keeps one open issue, found by its label, up to date with its report.\n"
        "name: promptreview-schedule\n"
        "\n"
        "on:\n"
        "  schedule:\n"
        f'    - cron: "{SCHEDULE_CRON}"   # weekly, Monday 06:17 UTC\n'
        "  workflow_dispatch:\n"
        "    inputs:\n"
        "      candidate:\n"
        f'        description: "Candidate model, provider:model-id (default: the repository variable {CANDIDATE_VARIABLE})"\n'
        "        required: false\n"
        '        default: ""\n'
        "\n"
        "permissions: {}          # each job asks for its own\n"
        "\n"
        "concurrency:\n"
        "  group: promptreview-schedule\n"
        "  cancel-in-progress: false\n"
        "\n"
        "jobs:\n"
        "  migration:\n    name: Review a candidate model\n" + header + "    steps:\n" + checkout + install
        + "      - name: Review the candidate model\n"
        "        id: migrate\n"
        "        env:\n"
        f"          CANDIDATE: ${{{{ inputs.candidate || vars.{CANDIDATE_VARIABLE} }}}}\n"
        "          PROMPTREVIEW_CACHE_DIR: ${{ runner.temp }}/promptreview-cache\n"
        + keys
        + "        run: |\n"
        '          if [ -z "$CANDIDATE" ]; then\n'
        f'            echo "::notice::no candidate model: set the repository variable {CANDIDATE_VARIABLE} or give one to a manual run"\n'
        "            exit 0\n"
        "          fi\n"
        "          # --safety: promptreview's packaged must-refuse rows run too; fewer refusals fail the migration\n"
        '          promptreview migrate --to "$CANDIDATE" --safety --format markdown --output "$RUNNER_TEMP/migration.md" && code=0 || code=$?\n'
        '          echo "exit-code=$code" >> "$GITHUB_OUTPUT"\n'
        + _issue_step("migration", MIGRATION_LABEL, "promptreview: model migration review", "migration.md",
                      "always() && steps.migrate.outputs.exit-code != ''")
        + _verdict_step("migrate", "migrate")
        + "\n"
        "  drift:\n    name: Watch the pinned models for drift\n" + header + "    steps:\n" + checkout + install
        + "      # the answers drift compares against: recorded by an earlier run of this job on the default branch\n"
        "      # (a pull request's caches are out of this branch's reach)\n"
        f"      - uses: {CACHE_RESTORE_REF}\n"
        "        with:\n"
        "          path: ${{ runner.temp }}/promptreview-cache\n"
        "          key: promptreview-drift-${{ github.run_id }}\n"
        "          restore-keys: promptreview-drift-\n"
        "      - name: Watch for drift\n"
        "        id: drift\n"
        "        env:\n"
        "          PROMPTREVIEW_CACHE_DIR: ${{ runner.temp }}/promptreview-cache\n"
        + keys
        + "        run: |\n"
        "          # record what is not recorded yet (the first run: everything); a failure here is said below\n"
        '          promptreview drift --record || echo "::warning::promptreview drift --record failed"\n'
        '          promptreview drift --format markdown --output "$RUNNER_TEMP/drift.md" && code=0 || code=$?\n'
        '          echo "exit-code=$code" >> "$GITHUB_OUTPUT"\n'
        f"      - uses: {CACHE_SAVE_REF}\n"
        "        if: always()\n"
        "        with:\n"
        "          path: ${{ runner.temp }}/promptreview-cache\n"
        "          key: promptreview-drift-${{ github.run_id }}\n"
        + _issue_step("drift", DRIFT_LABEL, "promptreview: model drift watch", "drift.md",
                      "always() && steps.drift.outputs.exit-code != ''")
        + _verdict_step("drift", "drift")
    )  # fmt: skip


def _interactive() -> bool:
    """Ask which provider only a person at a terminal (a script or CI gets the default)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def _ask_provider(default: ProviderName) -> ProviderName:
    click.echo("Which model provider should the reviews run on?")
    for name in sorted(STARTER_MODELS):
        click.echo(f"  {name:<10} {STARTER_MODELS[name].offer}")
    choice: ProviderName = click.prompt(
        "provider", type=click.Choice(sorted(STARTER_MODELS)), default=default, show_choices=False
    )
    return choice


@click.command()
@click.option(
    "--provider",
    type=click.Choice(sorted(STARTER_MODELS)),
    default=None,
    help="Model provider the starter config and workflow are set up for (github: GitHub Models with the "
    "workflow's GITHUB_TOKEN, no secret to add). Default: the provider of the models your prompt files name, "
    "else openai; asked at a terminal.",
)
@click.option("--model", default=None, help="Model spec (default: a pinned model of the provider).")
@click.option(
    "--action-ref",
    default=None,
    help="The `uses:` of the action (default: promptreview's, pinned to the commit this one was built from).",
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.option(
    "--schedule",
    is_flag=True,
    help=f"Write only {SCHEDULE_FILE}: a weekly review of a candidate model (migrate --safety) and a drift "
    "watch, each keeping one issue up to date.",
)
@click.option(
    "--attest",
    is_flag=True,
    help="Add a job that attests report.json with GitHub's artifact attestation (`gh attestation verify`); in a "
    "repository already set up, only to the workflow (promptreview.yml is kept).",
)
# (`provider` is a ProviderName: click.Choice(sorted(STARTER_MODELS)) admits no other word)
def init(
    provider: ProviderName | None,
    model: str | None,
    action_ref: str | None,
    force: bool,
    schedule: bool = False,
    attest: bool = False,
) -> int:
    """Write a starter promptreview.yml and .github/workflows/promptreview.yml (--schedule: the scheduled
    workflow instead)."""
    if schedule and attest:
        raise UsageError(
            "--attest adds a job to the pull request workflow; run init without --schedule for it"
        )
    try:
        root = git.repo_root(Path.cwd())
    except UsageError:
        root = Path.cwd()
    paths = _found_prompt_files(root)
    found = read_found(root, paths)
    if provider is None:
        default = found.provider() or "openai"
        provider = _ask_provider(default) if _interactive() else default
    pinned = action_ref is not None or __commit__ is not None
    if schedule:
        targets = {root / SCHEDULE_FILE: schedule_workflow_text(provider, action_ref)}
    else:
        targets = {
            root / CONFIG_FILE: config_text(provider, model, _prompt_glob(paths), found),
            root / WORKFLOW_FILE: workflow_text(provider, action_ref, attest),
        }
    set_up = attest and ((root / CONFIG_FILE).exists() or (root / WORKFLOW_FILE).exists())
    if set_up:  # add the attest job to what is there: the files to write are already decided
        if (root / WORKFLOW_FILE).exists() and not force:
            pinned = True  # the workflow keeps the action it already names
        targets = _attest_targets(root, targets, force)
        if not targets:
            click.echo(f"{WORKFLOW_FILE} already attests report.json: nothing to write")
            return 0
    existing = [p for p in targets if p.exists()]
    if existing and not force and not set_up:
        names = ", ".join(p.relative_to(root).as_posix() for p in existing)
        raise UsageError(
            f"{names} already exist{'s' if len(existing) == 1 else ''}; pass --force to overwrite"
        )
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        click.echo(f"wrote {path.relative_to(root).as_posix()}")
    if not pinned:
        tag = release_tag(__version__)
        click.echo(
            f"note: this promptreview was built without git, so the commit it was built from is unknown: the "
            f"workflow names the release tag {tag}. Pin it to that tag's commit: `git ls-remote "
            f"https://github.com/{ACTION_REPOSITORY} refs/tags/{tag}` prints the SHA to put in its place."
        )
    elif action_ref is None and __dirty__:
        click.echo(
            f"note: this promptreview was built from uncommitted changes; the workflow pins the commit they "
            f"started from ({__commit__})."
        )
    steps = (
        _schedule_steps(provider, (root / CONFIG_FILE).exists()) if schedule else _next_steps(provider, found)
    )
    if set_up and (root / CONFIG_FILE) not in targets:
        steps = [f"commit {WORKFLOW_FILE}; `gh attestation verify` checks a report later (docs/github.md)"]
    click.echo("next:")
    for number, step in enumerate(steps, 1):
        click.echo(f"  {number}. {step}")
    return 0


def _attest_targets(root: Path, targets: dict[Path, str], force: bool) -> dict[Path, str]:
    """`init --attest` on a repository already set up: the files to write. promptreview.yml is the user's and is
    never written again; the workflow gets the attest job when it is the one init wrote (every byte of it, for
    some provider and action reference), which keeps its provider and pinned action. A workflow edited since
    is rewritten only with --force; else a `UsageError` says what to do."""
    config, workflow = root / CONFIG_FILE, root / WORKFLOW_FILE
    targets = {path: text for path, text in targets.items() if path != config or not config.exists()}
    if not workflow.exists() or force:
        return targets
    text = workflow.read_text(encoding="utf-8")
    ours = _ACTION_LINE.search(text)
    for provider in STARTER_MODELS if ours else ():
        assert ours is not None
        if text == workflow_text(provider, ours[1], attest=True):
            return {path: t for path, t in targets.items() if path != workflow}
        if text == workflow_text(provider, ours[1]):
            return {**targets, workflow: workflow_text(provider, ours[1], attest=True)}
    raise UsageError(
        f"{WORKFLOW_FILE} was changed since init wrote it: add the attest job by hand (docs/github.md), or pass "
        f"--force to rewrite the workflow ({CONFIG_FILE} is kept)"
    )


# the review job's `uses:` of the action, as `workflow_text` writes it (the line before `id: promptreview`)
_ACTION_LINE = re.compile(r"^      - uses: (.+)\n        id: promptreview\n", re.MULTILINE)


def _next_steps(provider: ProviderName, found: FoundPrompts) -> list[str]:
    """What is left to do, in order (numbered from 1 by the caller)."""
    spec = STARTER_MODELS[provider]
    steps = []
    if found.all_carry_inputs:
        steps.append(
            "review the inputs: your prompt files carry their own (testData); `schema` / `strata` if needed"
        )
    else:
        steps.append("point `prompts[].suite` at a JSONL/CSV file of real inputs (and `schema` / `strata`)")
    if spec.secret:
        steps.append(f"add the repository secret {spec.secret} (Settings → Secrets and variables → Actions)")
    steps.append("commit both files; then make the `promptreview` check required in branch protection")
    return steps


def _schedule_steps(provider: ProviderName, configured: bool) -> list[str]:
    """What is left to do after `init --schedule`; without a promptreview.yml, writing one comes first (the
    scheduled reviews read its prompts, and its `models:` allows the candidate)."""
    spec = STARTER_MODELS[provider]
    first = f"run `promptreview init`: it writes {CONFIG_FILE}, which the scheduled reviews read (there is none yet)"
    steps = [
        *([] if configured else [first]),
        f"set the repository variable {CANDIDATE_VARIABLE} to the candidate model (Settings → Secrets and "
        f"variables → Actions → Variables), and list it under models: in {CONFIG_FILE}",
    ]
    if spec.secret:
        steps.append(f"add the repository secret {spec.secret} if it is not there yet")
    steps.append(f"commit {SCHEDULE_FILE}; the issues carry the labels {MIGRATION_LABEL} and {DRIFT_LABEL}")
    return steps
