"""`promptreview verify`: check a JSON report against the repository and the response cache.

Two steps, each a list of findings (`Finding`: ok, differs, or said for the record). First the review is planned
again at the report's commits (`--commit` stands for its head) and the manifest that plan makes is compared with
the recorded one, digest by digest: the config, each side's prompt file and schema, the suite rows, the planned
requests. Then, only when every digest matches, the review is replayed from the response cache with
`cache_only` (no model call can be made: a missing answer raises `errors.CacheMiss`) and its verdict and
numbers (rates, intervals, p-values, gates, flips, shifts, quality checks) are compared with the recorded ones.
The recorded report is untrusted input: read bounded (`sources/safe_load`) and checked against
`report.schema.json` before anything reads it. Nothing here prints or exits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import referencing

import promptreview
from promptreview.engine.drift import drift
from promptreview.engine.jobs import ReviewOptions
from promptreview.engine.manifest import lock_digest
from promptreview.engine.review import review_changes, review_migration
from promptreview.errors import UsageError
from promptreview.report.document import Report
from promptreview.report.serialize import to_dict
from promptreview.sources import git, safe_load
from promptreview.verdicts import PromptVerdict, ReviewVerdict, check_conclusion, ci_verdict
from promptreview.vocabulary import VerifyStatus

MAX_REPORT_BYTES = 64 * 1024 * 1024  # a report of thousands of prompts is a few MB
MAX_DIFFERENCES = 10  # number differences named one by one per prompt; the rest are counted


@dataclass(frozen=True)
class Finding:
    """One check of a verification: what was checked, and the outcome in a few words."""

    status: VerifyStatus
    subject: str  # what was checked: `config promptreview.yml`, `prompts/a.prompt.yml: head file`, ...
    detail: str


@cache
def _schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        resources.files("promptreview.report").joinpath("report.schema.json").read_text("utf-8")
    )
    return loaded


def read_report(path: Path) -> dict[str, Any]:
    """The recorded report, bounded and checked against the report's schema; UsageError naming what is wrong."""
    try:
        size = path.stat().st_size
        if size > MAX_REPORT_BYTES:
            raise UsageError(f"{path}: {size} bytes, more than a report can be ({MAX_REPORT_BYTES} at most)")
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory; name a report.json") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        data = safe_load.load_json(text, unique_keys=True)
    except safe_load.Unparsable as exc:
        raise UsageError(f"{path}: not a JSON report ({exc.message})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: not a JSON report (a JSON object is expected)")
    validator = jsonschema.Draft202012Validator(_schema(), registry=referencing.Registry())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise UsageError(f"{path}: not a promptreview report: at {where}: {error.message[:200]}")
    if "manifest" not in data:
        why = f" (verdict {data['verdict']}: {data['error'][:120]})" if "error" in data else ""
        # the reader may hold a `drift --record` report, or an older migrate report: say which reports carry one
        raise UsageError(
            f"{path}: the report has no manifest{why}; verify checks the JSON report of a review (check, ci, "
            "migrate, drift): a `drift --record` report carries none, nor do reports written before manifests "
            "(migrate and drift reports: before verify replayed them)"
        )
    if "plan" in data:  # a --plan report carries the manifest of what it would read, and no number
        raise UsageError(
            f"{path}: a --plan report: nothing was reviewed, so there is no verdict or number to verify; "
            "verify the report of the review itself"
        )
    return data


def replay_options(
    recorded: Mapping[str, Any], root: Path, env: Mapping[str, str], commit: str | None
) -> ReviewOptions:
    """The options that run the recorded review again, from the response cache only (`commit`: read the head
    side there instead of the report's head)."""
    spec = recorded["manifest"]["review"]
    if spec["command"] == "compare":
        raise UsageError(
            "verify replays reviews of commits (check, ci, migrate, drift); this report is a `compare` of two "
            f"files, which names no commit: run `promptreview compare {spec['base']} {spec['head']} "
            "--cache-only` instead"
        )
    for what in ("base", "head", "config_revision"):
        # the report is untrusted: a revision it names is a full SHA or nothing, never an option git could read
        value = spec[what]
        if value is not None and not (isinstance(value, str) and git.is_sha(value)):
            raise UsageError(f"the report's manifest.review.{what} is not a commit SHA: {str(value)[:80]!r}")
    if spec["base"] is None and spec["command"] == "check":
        raise UsageError("the report's manifest.review.base is null: a review of commits names its base")
    head = git.resolve_rev(root, commit) if commit else spec["head"]
    for what, sha in (
        ("base", spec["base"]),
        ("head", head),
        ("config", spec["config_revision"]),
    ):
        if sha is not None and not git.has_commit(root, sha):
            raise UsageError(
                f"the report's {what} commit {sha[:12]} is not in this repository; fetch it (git fetch origin "
                f"{sha}) or name another with --commit"
            )
    return ReviewOptions(
        repo_root=root,
        env=env,
        config_path=spec["config_path"],
        config_rev=spec["config_revision"],
        base=spec["base"],
        head=head,
        model=spec.get("model"),
        samples=spec.get("samples"),
        seed=spec.get("seed"),
        sequential=spec.get("sequential"),
        judge_review=bool(spec.get("judge")),
        cache_only=True,
    )


def verify(recorded: Mapping[str, Any], opts: ReviewOptions) -> Iterator[Finding]:
    """The findings, one by one: the digests first, then (when they all match) the replay's. A replay the cache
    cannot answer raises `errors.CacheMiss` after the digests' findings."""
    manifest = recorded["manifest"]
    yield from _build_info(manifest)
    spec = manifest["review"]
    planned = to_dict(_run(spec, replace(opts, plan_only=True)))
    found = planned.get("manifest")
    assert found is not None  # every review of commits has one
    digests = list(_digests(manifest, found, opts.head, spec["command"]))
    yield from digests
    if any(f.status == "differs" for f in digests):
        yield Finding("info", "replay", "not run: the review would read other inputs than the report's")
        return
    replayed = to_dict(_run(spec, opts))
    yield from _replayed(recorded, replayed)


def _run(spec: Mapping[str, Any], opts: ReviewOptions) -> Report:
    """The recorded review run again by its command: a review of commits, a migration with its flags, or a
    drift run under its own stamp (its fresh answers are in the cache under it)."""
    if spec["command"] == "migrate":
        if not isinstance(spec.get("migrate_to"), str):
            raise UsageError("the report's manifest.review names no migrate_to: it cannot be migrated again")
        return review_migration(
            opts, spec["migrate_to"], spec.get("migrate_from"), spec.get("prompts"), bool(spec.get("safety"))
        )
    if spec["command"] == "drift":
        if not isinstance(spec.get("asked_at"), str):
            raise UsageError(
                "the report's manifest.review names no asked_at: the drift run cannot be replayed"
            )
        return drift(opts, spec.get("prompts"), at=opts.head, asked_at=spec["asked_at"])
    return review_changes(opts)


def _build_info(manifest: Mapping[str, Any]) -> Iterator[Finding]:
    """promptreview's version, commit and lock: said, never failed on (a later release may verify an old report;
    its numbers are what is checked)."""
    now = (promptreview.__version__, promptreview.__commit__, lock_digest())
    then = (manifest["version"], manifest["commit"], manifest["lock_sha256"])
    said = f"recorded with {then[0]} (commit {(then[1] or 'unknown')[:12]})"
    if now == then:
        yield Finding("info", "promptreview", f"{said}, the same build and lock as this one")
    else:
        names = [n for n, a, b in zip(("version", "commit", "lock"), now, then, strict=True) if a != b]
        yield Finding(
            "info",
            "promptreview",
            f"{said}; this one is {now[0]} (commit {(now[1] or 'unknown')[:12]}): "
            f"{', '.join(names)} differ{'s' if len(names) == 1 else ''}",
        )


def _short(digest: str | None) -> str:
    return "none" if digest is None else digest[:12]


# what a prompt of the review is, by the report's command: a migration and a drift watch change no prompt
_REVIEWED = {"migrate": "a prompt the migration reviews", "drift": "a prompt the drift watch reviews"}


def _digests(
    recorded: Mapping[str, Any], found: Mapping[str, Any], head: str | None, command: str
) -> Iterator[Finding]:
    at = f"at {head[:12]}" if head else "in the working tree"
    reviewed = _REVIEWED.get(command, "a changed prompt")
    config, now = recorded["config"], found["config"]
    subject = f"config {(config or now or {}).get('path', '(flags)')}"
    if config == now:
        yield Finding("ok", subject, "sha256 matches")
    else:
        yield Finding(
            "differs",
            subject,
            f"sha256 recorded {_short(config and config['sha256'])}, read {_short(now and now['sha256'])}",
        )
    ours = {p["path"]: p for p in found["prompts"]}
    theirs = {p["path"]: p for p in recorded["prompts"]}
    for path, then in theirs.items():
        current = ours.get(path)
        if current is None:
            yield Finding("differs", path, f"recorded, but not {reviewed} {at}")
            continue
        yield from _prompt_digests(path, then, current, at)
    for path in ours.keys() - theirs.keys():
        yield Finding("differs", path, f"{reviewed} {at} the report does not have")
    same = (recorded["requests"], recorded["requests_sha256"]) == (
        found["requests"],
        found["requests_sha256"],
    )
    yield Finding(
        "ok" if same else "differs",
        "requests",
        f"the same {found['requests']} requests (sha256 over their keys)"
        if same
        else f"recorded {recorded['requests']} ({_short(recorded['requests_sha256'])}), planned now "
        f"{found['requests']} ({_short(found['requests_sha256'])})",
    )


def _prompt_digests(path: str, then: Mapping[str, Any], now: Mapping[str, Any], at: str) -> Iterator[Finding]:
    sides = sorted(set(then["files"]) | set(now["files"]))
    for side in sides:
        a, b = then["files"].get(side), now["files"].get(side)
        name = (a or b)["path"]
        if a == b:
            yield Finding("ok", f"{path}: {side} file", f"{name} sha256 matches")
        else:
            yield Finding(
                "differs",
                f"{path}: {side} file",
                f"{name} sha256 recorded {_short(a and a['sha256'])}, {at} {_short(b and b['sha256'])}",
            )
    for side in sorted(set(then["schemas"]) | set(now["schemas"])):
        a, b = then["schemas"].get(side), now["schemas"].get(side)
        if a == b:
            yield Finding("ok", f"{path}: {side} schema", "sha256 matches" if a else "none, as recorded")
        else:
            yield Finding(
                "differs", f"{path}: {side} schema", f"sha256 recorded {_short(a)}, now {_short(b)}"
            )
    if (then["rows"], then["rows_sha256"]) == (now["rows"], now["rows_sha256"]):
        yield Finding("ok", f"{path}: suite rows", f"the same {now['rows']} rows of {now['suite']}, in order")
    else:
        yield Finding(
            "differs",
            f"{path}: suite rows",
            f"recorded {then['rows']} rows ({_short(then['rows_sha256'])}), sampled now {now['rows']} rows "
            f"({_short(now['rows_sha256'])}) of {now['suite']}",
        )


# -- the replay's numbers ----------------------------------------------------------------------------------

_RATE = ("base", "head", "delta", "ci95", "p_value", "p_increase", "p_adjusted", "gate")
_COUNTS = ("base_count", "head_count", "base_n", "head_n")
_FLIP = ("head_vs_base", "noise_floor", "excess", "p_value", "p_adjusted")
_SHIFT = ("statistic", "p_value", "p_adjusted", "effect", "matters")
_CHECK = ("base", "head", "delta", "ci95", "p_value", "p_decrease", "p_adjusted", "gate")
_SEQUENTIAL = ("stopped", "after_inputs", "reason")


def numbers(prompt: Mapping[str, Any]) -> dict[str, Any]:
    """A prompt's verdict and numbers, by a dotted name (`rates.refusal.p_value`): what a replay must give."""
    out: dict[str, Any] = {"verdict": prompt["verdict"], "n_inputs": prompt["n_inputs"]}
    out["samples"] = prompt["samples"]
    # what the report says was reviewed and by what: a replay from the cache gives it back as recorded, so a
    # report whose model, served ids, fingerprints or leaked rows were edited differs (red team 3)
    for key in _SAID:
        if key in prompt:
            out[key] = prompt[key]
    for side, block in (prompt.get("provenance") or {}).items():
        out.update(_provenance(f"provenance.{side}", block))

    def take(prefix: str, row: Mapping[str, Any] | None, keys: tuple[str, ...]) -> None:
        for key in keys:
            if row is not None and key in row:
                out[f"{prefix}.{key}"] = row[key]

    for name, row in prompt["rates"].items():
        take(f"rates.{name}", row, _RATE + _COUNTS)
    take("flip_rate", prompt["flip_rate"], _FLIP)
    for shift in prompt["distribution_shift"]:
        take(f"distribution_shift.{shift['field']} ({shift['kind']})", shift, _SHIFT)
    for stratum in prompt["strata"]:
        for name, row in stratum["rates"].items():
            take(f"strata.{stratum['label']}.rates.{name}", row, _RATE)
    for check in prompt["evaluators"]:
        take(f"evaluators.{check['name']}", check, _CHECK)
    take("sequential", prompt.get("sequential"), _SEQUENTIAL)
    return out


_SAID = ("model", "change", "old_path", "leakage", "conversations")
_MODEL = ("spec", "served", "pinned", "simulated")


def _provenance(prefix: str, block: Mapping[str, Any] | None) -> dict[str, Any]:
    return {f"{prefix}.{k}": v for k, v in (block or {}).items()}


def model_said(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report's model block by a dotted name (`model.spec`, `model.provenance.fingerprints`)."""
    model = report.get("model") or {}
    out = {f"model.{k}": model[k] for k in _MODEL if k in model}
    out.update(_provenance("model.provenance", model.get("provenance")))
    return out


def _ci(ci: Mapping[str, Any], replayed: Mapping[str, Any]) -> Iterator[Finding]:
    """A CI report's own verdict and the check's conclusion, against what CI concludes from the replayed
    review (red team 3: an edited `ci.verdict` verified clean). The accept label is GitHub's record: a report
    that says one was given is checked on what the label could change, and the label itself is said."""
    review = ReviewVerdict(replayed["verdict"])
    warned = any(p["verdict"] == PromptVerdict.WARN.value for p in replayed["prompts"])
    accepted = ci.get("accepted")
    if review is ReviewVerdict.ERROR or ci["verdict"] in ("invalid", "action_required"):
        return  # a run that reviewed nothing has no replay to compare with
    expected = ci_verdict(review, warned, accepted=accepted is not None)
    conclusions = {check_conclusion(expected).value, check_conclusion(expected, fail_closed=False).value}
    same = ci["verdict"] == expected.value and ci["conclusion"] in conclusions
    yield Finding(
        "ok" if same else "differs",
        "ci",
        f"verdict {expected.value}, check {ci['conclusion']}"
        if same
        else f"recorded verdict {ci['verdict']} and check {ci['conclusion']}, CI concludes {expected.value} "
        f"({check_conclusion(expected).value}) from the replay",
    )
    if accepted is not None:
        yield Finding(
            "info",
            "ci",
            f"accepted with the label {accepted.get('label')!r} by {accepted.get('by')!r}: the label is "
            "GitHub's record, not the cache's; verify cannot check it",
        )


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return False
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _replayed(recorded: Mapping[str, Any], replayed: Mapping[str, Any]) -> Iterator[Finding]:
    calls = replayed["calls"]
    yield Finding(
        "ok" if calls["cached"] == calls["total"] else "differs",
        "replay",
        f"{calls['total']} completions, {calls['cached']} from the response cache, 0 model calls",
    )
    same = recorded["verdict"] == replayed["verdict"]
    yield Finding(
        "ok" if same else "differs",
        "verdict",
        recorded["verdict"] if same else f"recorded {recorded['verdict']}, replayed {replayed['verdict']}",
    )
    if recorded.get("ci") is not None:
        yield from _ci(recorded["ci"], replayed)
    then_model, now_model = model_said(recorded), model_said(replayed)
    for key in dict.fromkeys([*then_model, *now_model]):
        if not _same(then_model.get(key), now_model.get(key)):
            yield Finding(
                "differs", key, f"recorded {then_model.get(key)!r}, replayed {now_model.get(key)!r}"
            )
    ours = {p["path"]: p for p in replayed["prompts"]}
    for path in ours.keys() - {p["path"] for p in recorded["prompts"]}:
        yield Finding("differs", path, "reviewed by the replay, but not in the report")
    for prompt in recorded["prompts"]:
        path = prompt["path"]
        again = ours.get(path)
        if again is None:
            yield Finding("differs", path, "recorded, but the replay did not review it")
            continue
        then, now = numbers(prompt), numbers(again)
        differ = [k for k in dict.fromkeys([*then, *now]) if not _same(then.get(k), now.get(k))]
        if not differ:
            yield Finding("ok", path, f"verdict {now['verdict']} and {len(now) - 1} numbers match")
            continue
        for key in differ[:MAX_DIFFERENCES]:
            yield Finding(
                "differs", f"{path}: {key}", f"recorded {then.get(key)!r}, replayed {now.get(key)!r}"
            )
        if len(differ) > MAX_DIFFERENCES:
            yield Finding("differs", path, f"and {len(differ) - MAX_DIFFERENCES} more numbers differ")
