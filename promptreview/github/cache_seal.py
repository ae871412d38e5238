"""The seal on the response cache a CI run hands to the next one: only answers a trusted run stored are reused.

actions/cache restores whatever entry in the run's scope matches the key, and a pull request's own jobs (a
workflow it adds, a step it edits) can save entries under any key in that scope. A cache filled offline with
fabricated answers would then be reviewed as if the model had said them. So a run seals the cache directory it
leaves (an HMAC-SHA256 over every file's name and bytes, `SEAL_FILE` beside them), keyed by the model
credentials the run holds (the provider keys, and `PROMPTREVIEW_CACHE_SECRET` when set: secrets a fork's job
never receives), and a run that finds a cache without a seal it can verify empties the directory before the
review reads it. A run without such a credential (a fork, GitHub Models on the per-run token, `sim`) neither
trusts a restored cache nor seals one.

Files only under the cache directory; no output: what happened comes back as one line for the job's log.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path

from promptreview.secrets import KNOWN_VARIABLES

SEAL_FILE = "promptreview.seal"
EXPLICIT_SECRET = "PROMPTREVIEW_CACHE_SECRET"
# the run's own tokens change every run (or are the runner's): they cannot vouch for an earlier run's cache
_PER_RUN = ("GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")


def seal_key(env: Mapping[str, str]) -> bytes | None:
    """The HMAC key: the run's model credentials (and the explicit cache secret), or None without any."""
    names = {name for name in env if name.endswith("_API_KEY") or name in KNOWN_VARIABLES}
    names.add(EXPLICIT_SECRET)
    values = [f"{name}={env[name]}" for name in sorted(names - set(_PER_RUN)) if env.get(name, "").strip()]
    if not values:
        return None
    return hashlib.sha256("\n".join(values).encode("utf-8")).digest()


def _files(cache_dir: Path) -> list[Path]:
    return sorted(p for p in cache_dir.iterdir() if p.is_file() and p.name != SEAL_FILE)


def _digest(key: bytes, cache_dir: Path) -> str:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for path in _files(cache_dir):
        data = path.read_bytes()
        mac.update(f"{path.name}\0{len(data)}\0".encode())
        mac.update(data)
    return mac.hexdigest()


def verify(cache_dir: Path | None, env: Mapping[str, str]) -> str | None:
    """Keep a restored cache only when a run holding this run's credentials sealed it; else empty it.
    Returns a line for the job's log when a restored cache was dropped."""
    if cache_dir is None or not cache_dir.is_dir() or not _files(cache_dir):
        return None
    key = seal_key(env)
    seal = cache_dir / SEAL_FILE
    expected = _digest(key, cache_dir) if key is not None else None
    found = seal.read_text("ascii", "replace").strip() if seal.is_file() else None
    if expected is not None and found is not None and hmac.compare_digest(expected, found):
        return None
    for path in [*_files(cache_dir), seal]:
        path.unlink(missing_ok=True)
    why = (
        "this run holds no model credential to check its seal with"
        if key is None
        else "its seal is missing or does not match (not written by a run holding this repository's model key)"
    )
    return f"the restored response cache was not used: {why}; every answer is asked again"


def seal(cache_dir: Path | None, env: Mapping[str, str]) -> bool:
    """Seal what the run leaves in the cache directory for the next run; False when it cannot (no credential)."""
    key = seal_key(env)
    if cache_dir is None or key is None or not cache_dir.is_dir():
        return False
    (cache_dir / SEAL_FILE).write_text(_digest(key, cache_dir) + "\n", encoding="ascii")
    return True
