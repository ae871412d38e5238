"""The records of one model call: the request (and its cache key), the provider's answer, the completion.

Frozen, and nothing here does I/O; providers, the cache and the engine all speak these."""

from __future__ import annotations

import hashlib
import json
import operator
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from promptreview.vocabulary import RATE_OUTCOMES as RATE_OUTCOMES  # re-exported: the stages import it here
from promptreview.vocabulary import CallFailureKind, FinishReason, ProviderName, Role

if TYPE_CHECKING:  # the type of hashlib's hash objects: typeshed's name, with no public spelling
    from _hashlib import HASH


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str
    name: str | None = None  # a chat message's `name` (OpenAI's field), sent when the prompt file gives one

    @property
    def wire(self) -> dict[str, str]:
        """The message as Chat Completions sends it: `name` only when there is one."""
        out = {"role": self.role, "content": self.content}
        if self.name is not None:
            out["name"] = self.name
        return out


@dataclass(frozen=True)
class ModelSpec:
    """`provider:model-id`, e.g. `openai:gpt-4o-mini-2024-07-18` or `sim:triage-v1?parse_failure=0.1`."""

    provider: ProviderName
    model: str

    @property
    def text(self) -> str:
        return f"{self.provider}:{self.model}"

    def __str__(self) -> str:
        return self.text


class _KeyMemo:
    """The slot of a request's cache-key memo: a slot, not a field, so eq, hash, repr and `fields()` ignore it."""

    __slots__ = ("_cache_key",)


@dataclass(frozen=True, slots=True)
class CompletionRequest(_KeyMemo):
    """One model call: everything that decides its answer, and so its cache key. Slotted, as the records a
    review holds one of per completion are (issue 24's 100,000-completion review: no `__dict__` per record)."""

    model: ModelSpec
    messages: tuple[Message, ...]
    params: tuple[tuple[str, Any], ...] = ()  # sorted (name, value) pairs: temperature, max_tokens, seed, ...
    response_schema: dict[str, Any] | None = (
        None  # JSON Schema the output must satisfy, sent as structured output
    )
    schema_name: str = "output"
    # 0..K-1 for a review's samples; a text marks a sample asked again on purpose (`drift`: its epoch and k),
    # which the cache key encodes as JSON, so it never finds the recorded answer of the same request
    sample_index: int | str = 0
    # The schema outputs are validated against when the prompt file sends none (config `schema:`).
    # Providers never put it on the wire; only `sim` reads it, to shape its answers.
    expected_schema: dict[str, Any] | None = None
    json_object: bool = False  # the prompt asks for JSON without a schema (`responseFormat: json_object`)
    # the `strict` the prompt file declares with its schema, sent as declared (None: the provider decides)
    schema_strict: bool | None = None
    # function tools in Chat Completions' wire format (`{"type": "function", "function": {...}}`), and the
    # `tool_choice` as declared (`auto`, `required`, `none`, or a named function); each provider respells them
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | dict[str, Any] | None = None

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)

    def with_sample(self, sample_index: int | str) -> CompletionRequest:
        """This request for another sample: every other field shared, not copied. (Planning makes K of them per
        input and side; the frozen dataclass's own __init__ was most of the cost of planning 20,000 calls.)"""
        other = object.__new__(CompletionRequest)
        for name, value in zip(_REQUEST_FIELDS, _request_values(self), strict=True):  # the memo is per sample
            object.__setattr__(other, name, sample_index if name == "sample_index" else value)
        return other

    def cache_key(self) -> str:
        """A SHA-256 of everything that decides the answer; computed once per request (the JSON encoding of a
        request with its schema is the costly part, and the runner, the cache and the review all ask)."""
        key: str | None = getattr(self, "_cache_key", None)
        if key is None:
            key = self._compute_cache_key()
            object.__setattr__(self, "_cache_key", key)  # a memo, not a field: eq, hash and repr ignore it
        return key

    def _compute_cache_key(self) -> str:
        # The text of json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")) with payload
        # {expected_schema?, messages, model, params, provider, response_format, sample, tool_choice?, tools?}
        # (keys in that sorted order), assembled from parts: the settings every request of a prompt side shares (its schemas above
        # all) are encoded and hashed once, the messages once per input (its K samples continue one hash).
        expected = self.expected_schema if self.model.provider == "sim" else None
        try:
            memo_key: tuple[Any, ...] | None = (
                self.model,
                self.params,
                self.schema_name,
                self.json_object,
                self.schema_strict,
                id(self.response_schema),
                id(expected),
            )
            hash(memo_key)
        except TypeError:  # a parameter value that is a dict or a list: encode it every time
            memo_key = None
        known = _SHARED.get(memo_key) if memo_key is not None else None
        if known is None or known[0] is not self.response_schema or known[1] is not expected:
            head = "{" + (f'"expected_schema":{_dumps(expected)},' if expected is not None else "")
            response_format: dict[str, Any] = {"name": self.schema_name, "schema": self.response_schema}
            if self.json_object:
                response_format["type"] = "json_object"
            if self.schema_strict is not None:  # only when declared: every earlier key stays as it was
                response_format["strict"] = self.schema_strict
            middle = (
                ","
                + _dumps(
                    {
                        "model": self.model.model,
                        "params": dict(self.params),
                        "provider": self.model.provider,
                        "response_format": response_format,
                    }
                )[1:-1]
            )
            # the hash of the shared head is taken once; each request continues a copy of it
            known = (
                self.response_schema,
                expected,
                hashlib.sha256(head.encode("utf-8")),
                middle.encode("utf-8"),
            )
            if memo_key is not None:
                if len(_SHARED) > 256:
                    _SHARED.clear()
                _SHARED[memo_key] = known  # holds the schemas, so their ids cannot be reused meanwhile
        global _LAST_MESSAGES
        last = _LAST_MESSAGES
        if last is None or last[0] is not self.messages or last[1] is not known:
            # the K samples of an input share one messages tuple: hash through the messages once for them all
            prefix = known[2].copy()
            # a name is part of the request; without one the key is what it always was
            encoded = _dumps(
                [[m.role, m.content, *([m.name] if m.name is not None else [])] for m in self.messages]
            )
            prefix.update(f'"messages":{encoded}'.encode())
            last = _LAST_MESSAGES = (self.messages, known, prefix)
        digest = last[2].copy()
        digest.update(known[3])
        sample = str(self.sample_index) if type(self.sample_index) is int else _dumps(self.sample_index)
        digest.update(f',"sample":{sample}'.encode())
        # the tools only when declared: the key of a request without them is byte for byte what it was
        if self.tool_choice is not None:
            digest.update(f',"tool_choice":{_dumps(self.tool_choice)}'.encode())
        if self.tools:
            digest.update(f',"tools":{_dumps(list(self.tools))}'.encode())
        digest.update(b"}")
        return digest.hexdigest()


_REQUEST_FIELDS = tuple(f.name for f in fields(CompletionRequest))
_request_values = operator.attrgetter(*_REQUEST_FIELDS)  # every field's value in one call


# The parts a prompt side's requests share: its schema, its expected schema, the hash of the encoded head, and
# the encoded middle.
_Shared = tuple[dict[str, Any] | None, dict[str, Any] | None, "HASH", bytes]


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# The encoded parts a prompt side's requests share, by their settings and the identity of their schemas
# (schemas are read once per prompt version and never mutated).
_SHARED: dict[tuple[Any, ...], _Shared] = {}
# The last messages tuple hashed, the shared parts it was hashed after, and the hash so far (held, so their
# identities stay their own).
_LAST_MESSAGES: tuple[tuple[Message, ...], _Shared, HASH] | None = None


def sample_group_key(request: CompletionRequest) -> tuple[Any, ...] | None:
    """What the samples of one input share: everything but `sample_index` (the schemas by identity: a prompt
    side's requests share its schema objects). None when a parameter value cannot be hashed."""
    key = (
        request.model,
        request.messages,
        request.params,
        request.schema_name,
        request.json_object,
        request.schema_strict,
        id(request.response_schema),
        id(request.expected_schema),
        id(request.tools) if request.tools else None,  # a side's requests share its tools tuple
        _dumps(request.tool_choice) if request.tool_choice is not None else None,
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


def interned(value: Any) -> Any:
    """`value` as the one copy of its text the process holds, when it is a text (anything else as it is): for
    what a provider repeats on every answer, its served model id and fingerprint, read 100,000 times from a
    batch's results or the cache, and otherwise held 100,000 times over."""
    return sys.intern(value) if type(value) is str else value


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call the model answered with: the tool's name and its arguments as the JSON text the
    provider sent (Anthropic's and Ollama's argument objects encoded), kept unparsed: arguments that are not
    JSON are an outcome of their own (`engine/measurement/tool_calls.py`), not an unreadable response."""

    name: str
    arguments: str
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderResponse:
    """What a provider answered, normalised across wire formats."""

    text: str | None  # the assistant's text (None when the provider refused without text)
    refusal: str | None = (
        None  # the provider's own refusal signal (OpenAI message.refusal, Anthropic stop_reason refusal)
    )
    finish_reason: FinishReason | None = None
    served_model: str | None = None
    usage: Usage = field(default_factory=Usage)
    # Provenance: what the provider says about the answer beyond its text, kept with it in the cache so a cached
    # answer carries the provenance of when it was made (docs/migrations.md#provenance). None: not returned.
    response_id: str | None = None  # Chat Completions `id`, Anthropic message `id`
    # what identifies the backend that answered: OpenAI's `system_fingerprint`; Ollama's full model digest
    system_fingerprint: str | None = None
    # when the provider made the answer, in seconds since the epoch (UTC): Chat Completions `created`, Ollama
    # `created_at`, Anthropic's `date` response header (its body has no timestamp)
    provider_created: float | None = None
    request_id: str | None = (
        None  # the provider's request id header (Anthropic `request-id`, OpenAI `x-request-id`)
    )
    batched: bool = False  # answered through a provider batch: priced at the batch rate, cached with it
    tool_calls: tuple[ToolCall, ...] = ()  # the function calls of the answer, in the order given


@dataclass(frozen=True, slots=True)
class CallFailure:
    """Why a model call failed, as a record: code reads `kind`, `status` and the server's own `code` and
    `server_message`; people read `message`, worded once where the failure was found. Every text in it has been
    through the scrubber before it leaves the provider, and again in the runner (`scrubbed`)."""

    kind: CallFailureKind
    message: str  # e.g. "OpenAI: HTTP 500 server_error: The server had an error ..."
    status: int | None = None  # the HTTP status, when the server answered
    code: str | None = None  # the server's error code or type (OpenAI `insufficient_quota`)
    server_message: str | None = None  # the server's own error message: where a provider may look for hints

    def scrubbed(self, scrub: Callable[[str], str]) -> CallFailure:
        """This failure with `scrub` applied to each text it holds (a credential leaves in none of them)."""
        return CallFailure(
            self.kind,
            scrub(self.message),
            self.status,
            None if self.code is None else scrub(self.code),
            None if self.server_message is None else scrub(self.server_message),
        )


@dataclass(frozen=True, slots=True)
class Completion:
    """A request and what became of it: a response, or the failure of its last attempt after retries."""

    request: CompletionRequest
    response: ProviderResponse | None
    error: CallFailure | None = None
    cached: bool = False
    attempts: int = 1  # > 1 means the call was retried
    latency_ms: float | None = None
    # HTTP requests this completion accounts for (not counting retries): 1 for a call of its own; when one
    # request with `n` > 1 answered several samples, 1 on the first of them and 0 on the others. A cached
    # completion made none, whatever this says (`requests_made`).
    requests: int = 1

    @property
    def requests_made(self) -> int:
        return 0 if self.cached else self.requests
