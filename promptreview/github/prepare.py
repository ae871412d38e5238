"""Before a CI review: both commits present, the merge base, the revision the config (and so every gate)
comes from, and the actions/cache key of the response cache.

Git only through `sources.git` and `checkout`; no output: what was done comes back as lines for the job's
log (`Prepared.log`: words for a person, which no code reads).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from promptreview.errors import UsageError
from promptreview.github import checkout
from promptreview.github.event import Event
from promptreview.report.document import ConfigFrom
from promptreview.sources import git, paths


@dataclass(frozen=True)
class Prepared:
    root: Path
    base: str  # the merge base: what the PR's changes are measured against
    head: str
    config_rev: str
    adopted_config: str | None  # set when the config is new in this PR (its own, head, config is used)
    log: tuple[str, ...] = field(default_factory=tuple)  # what was fetched or deepened, for the job's log

    @property
    def config_from(self) -> ConfigFrom:
        """Where the gates came from, as the report's `ci.config_from` says it."""
        return "head (new in this pull request)" if self.adopted_config else "base"


def prepare(event: Event, config_path: str, workdir: Path) -> Prepared:
    """Both commits present, the merge base, and the revision the config (and gates) come from."""
    root = git.repo_root(workdir)
    log: list[str] = []
    if event.name == "workflow_dispatch":
        head = checkout.resolve(root, event.head_sha or "HEAD", "head")
        base_rev = event.base_sha or event.default_branch
        if not base_rev:
            raise UsageError("workflow_dispatch: pass a 'base' input (a branch or SHA) to compare against")
        base_tip = checkout.resolve(root, base_rev, "base")
    else:
        if not (event.base_sha and event.head_sha):
            raise UsageError(f"the {event.name} event names no base and head commits")
        log += checkout.ensure_commit(root, event.base_sha, "base")
        log += checkout.ensure_commit(root, event.head_sha, "head")
        base_tip, head = event.base_sha, event.head_sha
    merge_base, more = checkout.find_merge_base(root, base_tip, head)
    log += more
    rel = paths.repo_relative(root, config_path, "--config")
    # the base's config, so a pull request cannot loosen its own gates; the head's only when it adopts one
    if git.read_at(root, base_tip, rel) is not None:
        return Prepared(root, merge_base, head, base_tip, None, tuple(log))
    if git.read_at(root, head, rel) is not None:
        return Prepared(root, merge_base, head, head, rel, tuple(log))
    raise UsageError(
        f"config file {config_path!r} exists neither in the base commit {base_tip[:12]} nor in the head "
        f"commit {head[:12]}; run 'promptreview init' and commit promptreview.yml"
    )


def cache_key(
    event: Event | None, config_path: str, env: Mapping[str, str], workdir: Path
) -> tuple[str, list[str]]:
    """actions/cache key: base SHA + base config hash, one entry per run, restored only by that exact prefix."""
    os_name = env.get("RUNNER_OS", "any")
    base, digest = "nobase", "noconfig"
    if event is not None and event.base_sha and not event.skip_reason:
        try:
            root = git.repo_root(workdir)
            if event.name != "workflow_dispatch":
                checkout.ensure_commit(root, event.base_sha, "base")
            base = checkout.resolve(root, event.base_sha, "base")
            data = git.read_at(root, base, config_path)
            if data is None and event.head_sha and git.has_commit(root, event.head_sha):
                data = git.read_at(root, event.head_sha, config_path)
            if data is not None:
                digest = hashlib.sha256(data).hexdigest()[:16]
        except (UsageError, OSError):
            pass  # a key that restores less is better than a failed step: the review reports the problem
    # no broader prefix: an entry for another base or config (or one a pull request's own job saved under any
    # name) must not be restored; what is restored is still used only under a seal (`cache_seal`)
    prefix = f"promptreview-v2-{os_name}-{base}-{digest}-"
    key = prefix + f"{env.get('GITHUB_RUN_ID', '0')}-{env.get('GITHUB_RUN_ATTEMPT', '1')}"
    return key, [prefix]
