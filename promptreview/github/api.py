"""The one place that opens a PyGithub connection (GitHub.com or GitHub Enterprise Server), and the reads
PyGithub has no model for. Network only through PyGithub; no output.
"""

from __future__ import annotations

from urllib.parse import quote

from github import Auth, Github, GithubException, GithubRetry
from github.Repository import Repository

from promptreview import __version__

DEFAULT_API_URL = "https://api.github.com"


def connect(token: str, api_url: str | None, repository: str, timeout: int = 30) -> Repository:
    """A lazy handle on `owner/name`: building it makes no request; every call after it is one request.

    `api_url` is `GITHUB_API_URL` (`https://HOST/api/v3` on GitHub Enterprise Server).
    """
    gh = Github(
        auth=Auth.Token(token),
        base_url=(api_url or DEFAULT_API_URL).rstrip("/"),
        timeout=timeout,
        user_agent=f"promptreview/{__version__}",
        per_page=100,
        # a secondary rate limit is waited out a bounded time; after that the failure is a warning
        retry=GithubRetry(total=3, secondary_rate_wait=10, max_rate_limit_wait=30),
        # a run makes a handful of writes; PyGithub's default one-second pause between writes buys nothing
        seconds_between_requests=None,
        seconds_between_writes=None,
        lazy=True,
    )
    return gh.get_repo(repository)


def describe(exc: Exception) -> str:
    """`403 Resource not accessible by integration` from a PyGithub exception; for any other failure (a
    connection refused, a timeout, retries used up on a 5xx with an HTML body) its kind and first line."""
    if isinstance(exc, GithubException):
        data = exc.data if isinstance(exc.data, dict) else {}
        message = data.get("message") or str(exc.data or "") or exc.__class__.__name__
        if not isinstance(exc.data, dict) and "<" in message:  # an HTML error page: its size, not its markup
            message = f"an HTML error page ({len(message)} characters)"
        return f"{exc.status} {message}"[:300]
    detail = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def permission_of(repo: Repository, login: str) -> str | None:
    """`login`'s permission on the repository (`admin`, `write`, `read`, `none`; GitHub reports `maintain` as
    `write`), or None when it cannot be read: then whatever asked must not grant anything."""
    try:
        _, data = repo.requester.requestJsonAndCheck(
            "GET", f"{repo.url}/collaborators/{quote(login, safe='')}/permission"
        )
    except Exception:  # noqa: BLE001 (an outage, a 404 for a non-collaborator: no permission either way)
        return None
    level = data.get("permission") if isinstance(data, dict) else None  # raw REST answer
    return level if isinstance(level, str) else None
