"""GitHub Models: the OpenAI-compatible inference endpoint, authenticated with the workflow's GITHUB_TOKEN.

`POST https://models.github.ai/inference/chat/completions` (or `/orgs/{org}/inference/...` to bill an
organization) with `Authorization: Bearer $GITHUB_TOKEN`. In a workflow the job needs `permissions: models: read`;
no secret is needed. Model ids are `{publisher}/{name}` (`openai/gpt-4.1-mini`, `meta/Llama-3.3-70B-Instruct`).
GitHub Models serves dateless ids, so a pin cannot be verified: the config must say `allow_unpinned: true`, and
the served model id of every response is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from promptreview.errors import MissingCredentials
from promptreview.providers.base import FatalCallError, PinStatus, env_get
from promptreview.providers.openai import OpenAIProvider
from promptreview.providers.retry import error_message, scrub

DEFAULT_BASE_URL = "https://models.github.ai/inference"
API_VERSION = "2022-11-28"


class GitHubModelsProvider(OpenAIProvider):
    name = "github"
    key_env_var = "GITHUB_TOKEN"
    service = "GitHub Models"

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> None:
        super().__init__(base_url=base_url, api_key=api_key, timeout=timeout)
        self.official = False  # max_tokens on the wire; a model without structured output falls back
        self.service = "GitHub Models"

    def pin_status(self, model_id: str) -> PinStatus:
        return "unverifiable"

    def pinned_suggestions(self, model_id: str) -> list[str]:
        return []

    def key_required(self) -> bool:
        return True

    def require_credentials(self) -> None:
        if not self.api_key:
            raise MissingCredentials(
                "GitHub Models needs a token: set GITHUB_TOKEN (in a workflow: `env: GITHUB_TOKEN: "
                "${{ secrets.GITHUB_TOKEN }}` and `permissions: models: read`)",
                "GITHUB_TOKEN",
            )

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        headers["Accept"] = "application/vnd.github+json"
        headers["X-GitHub-Api-Version"] = API_VERSION
        return headers

    def classify(self, response: httpx.Response, body: Any) -> Exception | None:
        status = response.status_code
        message = scrub(error_message(body, response.text), (self.api_key,))
        if status == 401:
            return FatalCallError(
                "GitHub Models: the token in GITHUB_TOKEN was rejected as invalid (HTTP 401); "
                "use the workflow's GITHUB_TOKEN or a personal access token with the models scope",
                status=401,
            )
        if status == 403:
            return FatalCallError(
                f"GitHub Models: the token may not use models (HTTP 403: {message}); add `permissions: models: read` "
                "to the workflow job, or give the personal access token the models scope",
                status=403,
            )
        if status == 404:
            return FatalCallError(
                f"GitHub Models: unknown model or endpoint (HTTP 404: {message}); model ids look like "
                "openai/gpt-4.1-mini, see https://github.com/marketplace?type=models",
                status=404,
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
