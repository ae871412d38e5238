"""The one scrubber: every credential the run holds, removed from every text that leaves the process.

A provider (or a proxy in front of it) may echo the request headers in an answer; a traceback may quote a
header value. So the front-ends hand their environment to `remember_env` first, and every text that leaves the
process (stdout and stderr, reports in every format, the PR comment, the check run, the job summary, step
outputs, cache rows, crash logs) passes `scrub`, which replaces each credential, and its obvious encodings
(URL-encoded, JSON-escaped, base64 at any alignment, as in a `Basic` header), with `***`.
Credentials in a URL (`http://user:pw@host`, as in `OPENAI_BASE_URL`; httpx sends them as a `Basic` header)
are credentials too: `remember_env` takes the user-info of any variable holding such a URL (`user:pw`, whose
base64 is that header, and `pw`), and `scrub` masks the password of any URL it sees (`http://user:***@host`).
In GitHub Actions the front-end also prints `::add-mask::` for each form (`mask_commands`) before anything else,
so the runner hides them too. No I/O here.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote, urlsplit

# variables that always hold credentials; any other `*_API_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD` too
KNOWN_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_RUNTIME_TOKEN")
_SECRET_NAME = re.compile(r"(?:_API_KEY|_TOKEN|_SECRET|_PASSWORD|_AUTHORIZATION)$", re.IGNORECASE)
MIN_LENGTH = 6  # shorter values would scrub ordinary words; no real credential is this short
MASK = "***"
# an API key's masked echo (OpenAI's 401 message) or a key-shaped token the run does not hold
_KEY_SHAPE = re.compile(r"\b(sk-ant-|sk-|ghp_|gho_|ghs_|ghu_|github_pat_)[A-Za-z0-9_*\-]{4,}")
_AUTH_VALUE = re.compile(
    r"(?i)\b(authorization|x-api-key|api-key)(\"?\s*[:=]\s*\"?)(bearer |basic |token )?[^\s\"',;]+"
)
# Cheap necessary conditions of the two patterns above (the literal prefixes; the names under the same flags):
# scrubbing every cached request and answer ran the full patterns over each, a second per 20,000 calls.
_KEY_PREFIXES = ("sk-", "gh")
_AUTH_NAME = re.compile(r"(?i)authorization|api-key")
# the password of a URL's user-info (`scheme://user:password@`), whoever's URL it is
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/?#@:]*):([^\s/?#@]+)@")

_lock = threading.Lock()
_secrets: set[str] = set()
_forms: list[str] = []  # every form of every secret, longest first


def _base64_forms(secret: bytes) -> set[str]:
    """The part of base64(prefix + secret + suffix) that depends on the secret alone, at each alignment."""
    out = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode("ascii")
        start = 4 if offset else 0  # the first group mixes in the prefix
        stable = encoded[start : len(encoded) - 4]  # the last group mixes in what follows
        if len(stable) >= 8:
            out.add(stable)
            out.add(stable.replace("+", "-").replace("/", "_"))  # URL-safe base64
    return out


def forms(secret: str) -> set[str]:
    """`secret` and the encodings it may be echoed in."""
    out = set()
    for value in {secret, secret.strip()}:
        if len(value) < MIN_LENGTH:
            continue
        out |= {value, quote(value, safe=""), quote(value), json.dumps(value)[1:-1]}
        out |= _base64_forms(value.encode("utf-8"))
    return {f for f in out if len(f) >= MIN_LENGTH}


def remember(*values: str | None) -> None:
    """Add credentials to the set `scrub` removes."""
    with _lock:
        for value in values:
            if value and value.strip() and len(value.strip()) >= MIN_LENGTH and value not in _secrets:
                _secrets.add(value)
                _forms[:] = sorted(set(_forms) | forms(value), key=len, reverse=True)


def url_credentials(value: str) -> list[str]:
    """The credentials in a URL's user-info: `user:password` (what a `Basic` header encodes), the password and
    a user name that stands alone (`https://TOKEN@host`), as written and percent-decoded."""
    if "@" not in value or "://" not in value:
        return []
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return []
    if "@" not in parts.netloc:
        return []
    userinfo = parts.netloc.rsplit("@", 1)[0]
    user, has_password, password = userinfo.partition(":")
    if not has_password:
        return [v for v in (user, unquote(user)) if v]
    out = [userinfo, unquote(userinfo), f"{unquote(user)}:{unquote(password)}", password, unquote(password)]
    return [v for v in out if v]


def remember_env(env: Mapping[str, str]) -> None:
    """Every credential in `env`: the known variables, any whose name says it holds one, and the user-info of
    any URL (a base URL like `http://user:pw@proxy/v1`)."""
    remember(*(value for name, value in env.items() if name in KNOWN_VARIABLES or _SECRET_NAME.search(name)))
    remember(*(cred for value in env.values() for cred in url_credentials(value)))


def known() -> tuple[str, ...]:
    with _lock:
        return tuple(sorted(_secrets))


def forget_all() -> None:
    """For tests: a fresh process's state."""
    with _lock:
        _secrets.clear()
        _forms.clear()


def scrub(text: str, extra: Iterable[str | None] = ()) -> str:
    """`text` without any credential the run holds (or `extra` names), in any of its known forms."""
    if not text:
        return text
    with _lock:
        current = list(_forms)
    more = [f for value in extra if value for f in forms(value)]
    for form in sorted(set(current + more), key=len, reverse=True) if more else current:
        if form in text:
            text = text.replace(form, MASK)
    if any(prefix in text for prefix in _KEY_PREFIXES):
        text = _KEY_SHAPE.sub(lambda m: m.group(1) + MASK, text)
    if "://" in text and "@" in text:
        text = _URL_PASSWORD.sub(lambda m: m.group(1) + ":" + MASK + "@", text)
    if _AUTH_NAME.search(text) is None:
        return text
    return _AUTH_VALUE.sub(lambda m: m.group(1) + m.group(2) + (m.group(3) or "") + MASK, text)


def mask_commands() -> list[str]:
    """`::add-mask::` lines for every form of every credential (GitHub Actions hides them in the log)."""
    with _lock:
        current = list(_forms)
    return [f"::add-mask::{form}" for form in current if "\n" not in form and "\r" not in form]
