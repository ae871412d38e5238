"""GitHub Models: the OpenAI-compatible inference endpoint, authenticated with the workflow's GITHUB_TOKEN.

`POST https://models.github.ai/inference/chat/completions` (or `/orgs/{org}/inference/...` to bill an
organization) with `Authorization: Bearer $GITHUB_TOKEN`. In a workflow the job needs `permissions: models: read`;
no secret is needed. Model ids are `{publisher}/{name}` (`openai/gpt-4.1-mini`, `meta/Llama-3.3-70B-Instruct`).
GitHub Models serves dateless ids, so a pin cannot be verified: the config must say `allow_unpinned: true`, and
the served model id of every response is recorded. The wire format is in `chat_completions.py`: `max_tokens`,
and a model without structured output falls back to the instruction alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from promptreview.providers.base import FatalCallError, PinStatus, env_get
from promptreview.providers.chat_completions import ChatCompletionsProvider
from promptreview.providers.http import CallError, http_failure

DEFAULT_BASE_URL = "https://models.github.ai/inference"
API_VERSION = "2022-11-28"


class GitHubModelsProvider(ChatCompletionsProvider):
    name = "github"
    key_env_var: str | None = "GITHUB_TOKEN"
    service_name = "GitHub Models"
    default_base_url = DEFAULT_BASE_URL

    def pin_status(self, model_id: str) -> PinStatus:
        return "unverifiable"

    def pinned_suggestions(self, model_id: str) -> list[str]:
        return []

    def key_required(self) -> bool:
        """Every endpoint (an organization's, GitHub Enterprise's) needs the token."""
        return True

    def missing_key_message(self) -> str:
        return (
            "GitHub Models needs a token: set GITHUB_TOKEN (locally: `GITHUB_TOKEN=$(gh auth token)`; the "
            "promptreview action passes the workflow's own token, which needs `permissions: models: read`); "
            "or try it without one: `--model sim:NAME` runs the offline model (e.g. sim:triage-v1, docs/sim.md)"
        )

    def extra_headers(self) -> dict[str, str]:
        return {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}

    def classify(self, response: httpx.Response, body: Any) -> CallError | None:
        status = response.status_code
        if status == 401:
            return FatalCallError(
                http_failure(
                    response,
                    body,
                    "GitHub Models: the token in GITHUB_TOKEN was rejected as invalid (HTTP 401); "
                    "use the workflow's GITHUB_TOKEN or a personal access token with the models scope",
                    self.secrets(),
                )
            )
        message = self.error_text(response, body)
        if status == 403:
            return FatalCallError(
                http_failure(
                    response,
                    body,
                    f"GitHub Models: the token may not use models (HTTP 403: {message}); add `permissions: models: "
                    "read` to the workflow job, or give the personal access token the models scope",
                    self.secrets(),
                )
            )
        if status == 404:
            return FatalCallError(
                http_failure(
                    response,
                    body,
                    f"GitHub Models: unknown model or endpoint (HTTP 404: {message}); model ids look like "
                    "openai/gpt-4.1-mini, see https://github.com/marketplace?type=models",
                    self.secrets(),
                )
            )
        return None


def create(env: Mapping[str, str]) -> GitHubModelsProvider:
    """GITHUB_TOKEN (checked on the first call); GITHUB_MODELS_ORG to bill an organization;
    GITHUB_MODELS_BASE_URL to point elsewhere (tests, GitHub Enterprise)."""
    base = env_get(env, "GITHUB_MODELS_BASE_URL")
    if not base:
        org = env_get(env, "GITHUB_MODELS_ORG")
        base = f"https://models.github.ai/orgs/{org}/inference" if org else DEFAULT_BASE_URL
    return GitHubModelsProvider(
        base_url=base, api_key=env_get(env, "GITHUB_TOKEN") or env_get(env, "GH_TOKEN")
    )
