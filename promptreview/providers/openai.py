"""OpenAI Chat Completions, and every server that speaks it (vLLM, llama.cpp server, LM Studio, Ollama's /v1).

`POST {OPENAI_BASE_URL or https://api.openai.com/v1}/chat/completions` with `Authorization: Bearer $OPENAI_API_KEY`.
A prompt that declares a JSON Schema is sent as `response_format: {type: json_schema, json_schema: {name, schema,
strict}}` (`strict` only when the schema meets the strict-mode rules, so a looser schema still guides the model);
`json_object` mode when the prompt asks for JSON without a schema.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from promptreview.errors import MissingCredentials
from promptreview.providers import pinning
from promptreview.providers.base import FatalCallError, PinStatus, env_get
from promptreview.providers.retry import error_code, error_message, scrub, send_json
from promptreview.records import CompletionRequest, ProviderResponse, Usage

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_FINISH_REASONS = {"stop", "length", "content_filter", "tool_calls"}
_PASSTHROUGH_PARAMS = ("temperature", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty")
_STRUCTURED_HINTS = re.compile(r"response_format|json_schema|guided_json|grammar|structured", re.IGNORECASE)


def wants_json_object(request: CompletionRequest) -> bool:
    """The prompt asks for JSON without a schema (GitHub `.prompt.yml` `responseFormat: json_object`)."""
    if getattr(request, "json_object", False):
        return True
    return request.params_dict.get("response_format") == "json_object"


# Keywords OpenAI's strict mode accepts (its Structured Outputs guide); any other keyword means `strict: false`.
_STRICT_KEYWORDS = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "$defs",
    "definitions", "$ref", "description", "title", "pattern", "format", "multipleOf", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems",
})  # fmt: skip


def strict_compatible(schema: Any) -> bool:
    """Whether OpenAI's strict mode accepts `schema`: an object root, only keywords strict mode knows, and every
    object closes its properties (`additionalProperties: false`) and requires all of them. Otherwise the schema is
    sent with `strict: false`, which guides the model without being rejected."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return False

    def ok(node: Any) -> bool:
        if not isinstance(node, dict) or not set(node) <= _STRICT_KEYWORDS:
            return False
        kind = node.get("type")
        if kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in node:
            props = node.get("properties", {})
            if node.get("additionalProperties") is not False or not isinstance(props, dict):
                return False
            if set(node.get("required", [])) != set(props) or not all(ok(p) for p in props.values()):
                return False
        children = [node["items"]] if isinstance(node.get("items"), dict) else []
        children += list(node.get("anyOf") or [])
        for defs in ("$defs", "definitions"):
            children += list((node.get(defs) or {}).values())
        return all(ok(child) for child in children)

    return ok(schema)


def schema_name(name: str) -> str:
    """`json_schema.name` must be 1-64 of a-z, A-Z, 0-9, _ and -."""
    cleaned = re.sub(r"[^a-zA-Z0-9_-]+", "_", name or "").strip("_")[:64]
    return cleaned or "output"


class OpenAIProvider:
    """The OpenAI wire format; `github.py` reuses it with another endpoint and credential."""

    name = "openai"
    key_env_var: str | None = "OPENAI_API_KEY"
    service = "OpenAI"

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.official = self.base_url == DEFAULT_BASE_URL.rstrip("/")
        if not self.official:
            self.service = f"OpenAI-compatible server at {self.base_url}"
        self.notes: list[str] = []  # things the report should mention (e.g. structured output turned off)
        self._plain: set[str] = set()  # models this server rejected structured output for

    # -- pinning --------------------------------------------------------------------------------------
    def pin_status(self, model_id: str) -> PinStatus:
        return pinning.openai_pin_status(model_id)

    def pinned_suggestions(self, model_id: str) -> list[str]:
        return pinning.openai_pinned_suggestions(model_id)

    # -- the call -------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def key_required(self) -> bool:
        """The public API needs a key; a local compatible server usually does not."""
        return self.official

    def require_credentials(self) -> None:
        if self.key_required() and not self.api_key:
            raise MissingCredentials(
                f"{self.service} needs an API key: set {self.key_env_var} (or point OPENAI_BASE_URL at a "
                "compatible server that needs none)",
                self.key_env_var or "",
            )

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def build_body(self, request: CompletionRequest, *, structured: bool = True) -> dict[str, Any]:
        params = request.params_dict
        body: dict[str, Any] = {
            "model": request.model.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        for key in _PASSTHROUGH_PARAMS:
            if params.get(key) is not None:
                body[key] = params[key]
        if params.get("max_tokens") is not None:
            # the public API wants max_completion_tokens (o-series reject max_tokens); compatible servers know max_tokens
            body["max_completion_tokens" if self.official else "max_tokens"] = params["max_tokens"]
        if structured and request.model.model not in self._plain:
            if request.response_schema is not None:
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": schema_name(request.schema_name),
                        "schema": request.response_schema,
                        "strict": strict_compatible(request.response_schema),
                    },
                }
            elif wants_json_object(request):
                body["response_format"] = {"type": "json_object"}
        return body

    def classify(self, response: httpx.Response, body: Any) -> Exception | None:
        """OpenAI's own fatal cases; None leaves the verdict to the shared status rules."""
        code = error_code(body)
        if response.status_code == 429 and code == "insufficient_quota":
            return FatalCallError(
                f"{self.service}: the account behind {self.key_env_var} has no quota left (HTTP 429 insufficient_quota); "
                "check the plan and billing details",
                status=429,
            )
        if response.status_code == 401:
            return FatalCallError(
                f"{self.service}: the API key in {self.key_env_var} was rejected as invalid "
                f"(HTTP 401{' ' + code if code else ''}); check that it is current and belongs to the right project",
                status=401,
            )
        return None

    async def complete(self, request: CompletionRequest, client: httpx.AsyncClient) -> ProviderResponse:
        self.require_credentials()
        body = self.build_body(request)
        try:
            data, _ = await self._post(client, body)
        except FatalCallError as exc:
            if not self._may_drop_structured(exc, body):
                raise
            if request.model.model not in self._plain:
                self._plain.add(request.model.model)
                self.notes.append(
                    f"{self.service} rejected structured output for {request.model.model} ({exc}); "
                    "ran with the prompt's instruction alone"
                )
            data, _ = await self._post(client, self.build_body(request, structured=False))
        return self.parse_response(data)

    async def _post(self, client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[Any, httpx.Response]:
        return await send_json(
            client,
            "POST",
            self.url,
            service=self.service,
            headers=self.headers(),
            body=body,
            timeout=self.timeout,
            key_env_var=self.key_env_var,
            secrets=(self.api_key,),
            classify=self.classify,
        )

    def _may_drop_structured(self, exc: FatalCallError, body: dict[str, Any]) -> bool:
        """A compatible server that does not do structured output: fall back to the instruction alone.
        The public API's 400 on a schema is a real error and stops the run."""
        return (
            not self.official
            and "response_format" in body
            and exc.status in (400, 422)
            and bool(_STRUCTURED_HINTS.search(str(exc)))
        )

    def parse_response(self, data: Any) -> ProviderResponse:
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices or not isinstance(choices[0], dict):
            raise FatalCallError(
                f"{self.service}: the response has no choices ({scrub(error_message(data), (self.api_key,))})"
            )
        choice = choices[0]
        message = choice.get("message") or {}
        content = message.get("content")
        if isinstance(content, list):  # some compatible servers return content parts
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict)) or None
        refusal = message.get("refusal") or None
        finish = choice.get("finish_reason")
        finish_reason = finish if finish in _FINISH_REASONS else ("other" if finish else None)
        usage = data.get("usage") or {}
        details = usage.get("prompt_tokens_details") or {}
        return ProviderResponse(
            text=content,
            refusal=refusal,
            finish_reason=finish_reason,
            served_model=data.get("model"),
            usage=Usage(
                prompt_tokens=usage.get("prompt_tokens"),
                completion_tokens=usage.get("completion_tokens"),
                cached_tokens=details.get("cached_tokens"),
            ),
        )


def create(env: Mapping[str, str]) -> OpenAIProvider:
    """OPENAI_BASE_URL (default https://api.openai.com/v1), OPENAI_API_KEY (checked on the first call)."""
    return OpenAIProvider(
        base_url=env_get(env, "OPENAI_BASE_URL", DEFAULT_BASE_URL) or DEFAULT_BASE_URL,
        api_key=env_get(env, "OPENAI_API_KEY"),
    )
