"""The manifest of a review: SHA-256 digests of what it read (each side's prompt file and schema, the suite rows
it ran, the config), what it ran with (promptreview's version, commit and lock), how to run it again, and one
digest over the requests it planned. Built once, from the plan and the bytes the review read, for
`engine/assemble.py` to put into the report; `engine/verify.py` builds it again from a replay and compares."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import promptreview
from promptreview.engine.jobs import PromptJob, ReviewOptions, ReviewPlan
from promptreview.report.document import FileDigest, Manifest, PromptManifest, ReplaySpec
from promptreview.sources.config import Config
from promptreview.vocabulary import ReviewCommand, Side

LOCK_NAME = "requirements.lock"

FileBytes = Mapping[tuple[Side, str], bytes]
"""The prompt files a review read, by (side, path): each side's bytes as reviewed."""


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def canonical(value: Any) -> str:
    """One JSON text per value whatever the key order (a value JSON has no type for is written as its text)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def lock_digest() -> str | None:
    """The digest of the lock promptreview was installed from: packaged with it, or beside the package (a source
    checkout, an editable install); None when neither is there."""
    packaged = resources.files("promptreview").joinpath(LOCK_NAME)
    if packaged.is_file():
        return sha256(packaged.read_bytes())
    beside = Path(promptreview.__file__).resolve().parent.parent / LOCK_NAME
    return sha256(beside.read_bytes()) if beside.is_file() else None


def requests_digest(plan: ReviewPlan) -> tuple[int, str]:
    """(distinct requests, SHA-256 over their sorted cache keys): a replay that plans the same requests has the
    same digest, whatever order it plans them in."""
    keys = sorted({call.request.cache_key() for call in plan.calls})
    return len(keys), sha256("\n".join(keys))


def _prompt(job: PromptJob, files: FileBytes) -> PromptManifest:
    digests: dict[Side, FileDigest] = {}
    for side in job.sides:
        path = side.template.path.split("#", 1)[0]  # a part of a multi-prompt file: the file's bytes
        data = files.get((side.name, path))
        if data is not None:
            digests[side.name] = FileDigest(path, sha256(data))
    rows = [{"id": r.input_id, "stratum": r.stratum, "values": r.values} for r in job.suite_sample.rows]
    return PromptManifest(
        path=job.path,
        files=digests,
        schemas={s.name: None if s.schema is None else sha256(canonical(s.schema)) for s in job.sides},
        suite=job.suite_sample.path,
        rows=len(rows),
        rows_sha256=sha256(canonical(rows)),
    )


def build(
    opts: ReviewOptions,
    command: ReviewCommand,
    config: Config,
    plan: ReviewPlan,
    base: str | None,
    head: str | None,
    files: FileBytes,
) -> Manifest:
    """The manifest of the review `plan` is the plan of (`base`/`head`: the commits it compared, `head` None for
    the working tree; `compare`'s two files)."""
    count, digest = requests_digest(plan)
    return Manifest(
        version=promptreview.__version__,
        commit=promptreview.__commit__,
        dirty=promptreview.__dirty__,
        lock_sha256=lock_digest(),
        config=FileDigest(config.source, config.sha256) if config.sha256 is not None else None,
        review=ReplaySpec(
            command=command,
            base=base,
            head=head,
            config_path=opts.config_path,
            config_revision=opts.config_rev,
            model=opts.model,
            samples=opts.samples,
            seed=opts.seed,
            sequential=opts.sequential,
            judge=opts.judge_review,
        ),
        prompts=tuple(_prompt(job, files) for job in plan.jobs),
        requests=count,
        requests_sha256=digest,
    )
