"""Google Gemini through its OpenAI-compatible endpoint (the Gemini API's Chat Completions layer).

`POST {GEMINI_BASE_URL or https://generativelanguage.googleapis.com/v1beta/openai}/chat/completions` with
`Authorization: Bearer $GEMINI_API_KEY` (or `$GOOGLE_API_KEY`, the other name Google's SDKs read). The wire
format is `chat_completions.py`'s: `max_tokens`, a declared schema as `response_format: json_schema`, several
samples with `n` (found out per model, as for every Chat Completions server). Model ids are Gemini's own
(`gemini-2.0-flash-001`); a Dotprompt file's `googleai/...` or `vertexai/...` names one of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from promptreview.providers import pinning
from promptreview.providers.base import FatalCallError, PinStatus, env_get
from promptreview.providers.chat_completions import ChatCompletionsProvider
from promptreview.providers.http import WITHOUT_A_KEY, CallError, http_failure

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/v1beta/openai"
# Google answers a bad key with HTTP 400 INVALID_ARGUMENT "API key not valid" (not 401)
_BAD_KEY = re.compile(r"API[_ ]KEY[_ ]INVALID|API key not valid|API key expired", re.IGNORECASE)


class GeminiProvider(ChatCompletionsProvider):
    name = "gemini"
    key_env_var: str | None = "GEMINI_API_KEY"
    service_name = "Gemini"
    default_base_url = DEFAULT_BASE_URL

    def pin_status(self, model_id: str) -> PinStatus:
        return pinning.gemini_pin_status(model_id)

    def pinned_suggestions(self, model_id: str) -> list[str]:
        return pinning.gemini_pinned_suggestions(model_id)

    def key_required(self) -> bool:
        """Google's endpoint needs the key wherever it is reached from."""
        return True

    def missing_key_message(self) -> str:
        return (
            "Gemini needs an API key: set GEMINI_API_KEY (or GOOGLE_API_KEY); create one at "
            "https://aistudio.google.com/app/apikey"
        ) + WITHOUT_A_KEY

    def classify(self, response: httpx.Response, body: Any) -> CallError | None:
        message = self.error_text(response, body)
        if response.status_code in (401, 403) or (response.status_code == 400 and _BAD_KEY.search(message)):
            return FatalCallError(
                http_failure(
                    response,
                    body,
                    f"Gemini: the API key in {self.key_env_var} (or GOOGLE_API_KEY) was rejected (HTTP "
                    f"{response.status_code}: {message}); check that it is current and has the Gemini API enabled",
                    self.secrets(),
                )
            )
        return None


def create(env: Mapping[str, str]) -> GeminiProvider:
    """GEMINI_API_KEY, else GOOGLE_API_KEY (checked on the first call); GEMINI_BASE_URL to point elsewhere
    (tests, a proxy)."""
    return GeminiProvider(
        base_url=env_get(env, "GEMINI_BASE_URL", DEFAULT_BASE_URL) or DEFAULT_BASE_URL,
        api_key=env_get(env, "GEMINI_API_KEY") or env_get(env, "GOOGLE_API_KEY"),
    )
