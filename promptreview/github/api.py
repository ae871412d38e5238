"""The one place that opens a PyGithub connection (GitHub.com or GitHub Enterprise Server), and the reads
PyGithub has no model for. Network only through PyGithub; no output.
"""

from __future__ import annotations

from typing import Any

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


def label_added_by(repo: Repository, number: int, label: str) -> tuple[str | None, str | None]:
    """Who added `label` to issue or PR `number` last, and when, from its events (best effort: None, None)."""
    try:
        _, data = repo.requester.requestJsonAndCheck(
            "GET", f"{repo.url}/issues/{number}/events", parameters={"per_page": 100}
        )
    except Exception:  # best effort: an API outage only loses the name of who added the label
        return None, None
    found: tuple[str | None, str | None] = (None, None)
    items: list[Any] = data if isinstance(data, list) else []  # raw REST answer
    for item in items:
        if not isinstance(item, dict) or item.get("event") != "labeled":
            continue
        if (item.get("label") or {}).get("name") == label:
            found = ((item.get("actor") or {}).get("login"), item.get("created_at"))
    return found
