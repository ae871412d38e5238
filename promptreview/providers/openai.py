"""OpenAI Chat Completions, and every server that speaks it (vLLM, llama.cpp server, LM Studio, Ollama's /v1).

`POST {OPENAI_BASE_URL or https://api.openai.com/v1}/chat/completions` with `Authorization: Bearer $OPENAI_API_KEY`
(the wire format is in `chat_completions.py`). What is OpenAI's own: api.openai.com needs the key and takes
`max_completion_tokens`, and its 400 on a schema is a real error; a compatible server may run without a key,
takes `max_tokens`, and one that does not do structured output falls back to the instruction alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from promptreview.providers import pinning
from promptreview.providers.base import FatalCallError, PinStatus, env_get
from promptreview.providers.chat_completions import ChatCompletionsProvider
from promptreview.providers.http import WITHOUT_A_KEY, CallError, error_code, http_failure
from promptreview.providers.openai_batches import OpenAIBatches

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class OpenAIProvider(ChatCompletionsProvider):
    name = "openai"
    key_env_var: str | None = "OPENAI_API_KEY"
    service_name = "OpenAI"
    default_base_url = DEFAULT_BASE_URL

    def default_service(self) -> str:
        return self.service_name if self.official else f"OpenAI-compatible server at {self.base_url}"

    # -- pinning --------------------------------------------------------------------------------------
    def pin_status(self, model_id: str) -> PinStatus:
        return pinning.openai_pin_status(model_id)

    def pinned_suggestions(self, model_id: str) -> list[str]:
        return pinning.openai_pinned_suggestions(model_id)

    # -- provider batches (the Batch API) -------------------------------------------------------------
    def provider_batches(self) -> OpenAIBatches:
        """The Batch API under the same base URL, with the same key, bodies and parsing."""
        return OpenAIBatches(self)

    # -- the call -------------------------------------------------------------------------------------
    def missing_key_message(self) -> str:
        return (
            f"{self.service} needs an API key: set {self.key_env_var} (or point OPENAI_BASE_URL at a "
            f"compatible server that needs none){WITHOUT_A_KEY}"
        )

    def max_tokens_field(self) -> str:
        # the public API wants max_completion_tokens (o-series reject max_tokens); compatible servers know max_tokens
        return "max_completion_tokens" if self.official else "max_tokens"

    def rejects_structured_output(self, error: FatalCallError, body: Mapping[str, Any]) -> bool:
        # the public API's 400 on a schema is a real error and stops the run
        return not self.official and super().rejects_structured_output(error, body)

    def classify(self, response: httpx.Response, body: Any) -> CallError | None:
        code = error_code(body)
        if response.status_code == 429 and code == "insufficient_quota":
            return FatalCallError(
                http_failure(
                    response,
                    body,
                    f"{self.service}: the account behind {self.key_env_var} has no quota left (HTTP 429 "
                    "insufficient_quota); check the plan and billing details",
                    self.secrets(),
                )
            )
        if response.status_code == 401:
            return FatalCallError(
                http_failure(
                    response,
                    body,
                    f"{self.service}: the API key in {self.key_env_var} was rejected as invalid (HTTP 401"
                    f"{' ' + code if code else ''}); check that it is current and belongs to the right project",
                    self.secrets(),
                )
            )
        return None


def create(env: Mapping[str, str]) -> OpenAIProvider:
    """OPENAI_BASE_URL (default https://api.openai.com/v1), OPENAI_API_KEY (checked on the first call)."""
    return OpenAIProvider(
        base_url=env_get(env, "OPENAI_BASE_URL", DEFAULT_BASE_URL) or DEFAULT_BASE_URL,
        api_key=env_get(env, "OPENAI_API_KEY"),
    )
