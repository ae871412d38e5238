"""The closed sets every stage speaks, as types: a value outside its set is a type error, not a comment.

Each is a `Literal` of the words the JSON report, the config and the tests use, so a field typed with one
serialises as itself. The verdicts, which carry behaviour (severity, the mapping between levels), are enums
in `verdicts.py`. A leaf: it imports nothing of ours.
"""

from __future__ import annotations

from typing import Literal, TypeVar, get_args

ProviderName = Literal["sim", "openai", "anthropic", "ollama", "github", "gemini"]
"""A model provider: the part of a model spec before the first `:` (`providers/`, one module each)."""

Side = Literal["base", "head"]
"""One version of a prompt: the base commit's or the head's."""

Outcome = Literal["ok", "schema_violation", "parse_failure", "refusal", "error"]
"""What a completion came to: exactly one of these (docs/architecture.md)."""

RateOutcome = Literal["parse_failure", "schema_violation", "refusal"]
"""The outcomes whose rates are gated (`error` is counted apart, `ok` is the rest)."""

ToolOutcome = Literal["tool_missing", "tool_unknown", "tool_invalid_json", "tool_invalid_arguments"]
"""What went wrong with a tool-calling answer, each a rate gated like an outcome's (a prompt that declares
tools only): no call where the row or the prompt expected one, a call of a tool the request did not declare,
arguments that are not JSON, arguments the tool's parameter schema rejects. Beside the five outcomes, not
among them: a completion keeps its outcome and has at most one of these besides."""

TextFeature = Literal["empty", "apology", "heading", "bullet_list", "code_block", "link"]
"""Text mode: what is read off a prose answer, each a rate like an outcome's (never gated, only warned on)."""

RateName = Literal[RateOutcome, "error", TextFeature, ToolOutcome]
"""A rate the report shows: the gated outcomes and `error` (JSON mode); `refusal`, `error` and the answer
features (text mode)."""

GatedRate = Literal[RateOutcome, ToolOutcome]
"""A rate with a gate of its own: the outcomes' (every prompt) and the tool faults' (a prompt with tools)."""

GateName = Literal[RateOutcome, "flip_rate", "distribution_shift", ToolOutcome]
"""A gate of the config's `gates:` (the quality checks' gates are `gates.expect`, `.evaluators`, `.must_refuse`)."""

FinishReason = Literal["stop", "length", "content_filter", "refusal", "tool_calls", "other"]
"""Why a model stopped, in one spelling for every provider (`other`: a reason of its own)."""

ChangeKind = Literal["modified", "added", "removed", "renamed"]
"""How a prompt file changed between base and head."""

OutputMode = Literal["json", "text"]
"""What a prompt's answers are scored as."""

ConfiguredOutputMode = Literal["json", "text", "auto"]
"""What a config entry may ask for (`auto`: decided from the prompt)."""

ShiftKind = Literal["categorical", "numeric", "length", "presence"]
"""The kind of an output field whose distribution is compared."""

EvaluatorKind = Literal["string", "llm", "uses"]
"""An evaluator in GitHub Models' shape: a string check, an LLM judge, or a built-in (`uses`, not supported)."""

StringOp = Literal["contains", "equals", "startsWith", "endsWith"]
"""How a string evaluator compares the completion (GitHub Models' spelling)."""

CheckKind = Literal["expect", "string", "llm", "must_refuse"]
"""A quality check: an expected answer, a string evaluator, an LLM judge, refusals on must-refuse rows."""

CheckUnits = Literal["rate", "score"]
"""A quality check's measure: a pass rate in [0, 1], or a judge's mean score."""

ExpectMatch = Literal["exact", "contains", "regex", "number"]
"""How an expected answer is compared with the output field."""

SequentialReason = Literal["regression", "futility", "completed", "not applicable"]
"""Why a sequential review stopped where it did."""

SequentialStop = Literal["regression", "futility"]
"""What stops a sequential review early (the other reasons are for a run that was not stopped)."""

ReviewCommand = Literal["check", "compare", "migrate", "drift"]
"""The command that reruns a review: `check` between two revisions, `compare` of two prompt files, `migrate` of
the prompts the config covers to a candidate model, or `drift` (the recorded answers against the same requests
asked again)."""

VerifyStatus = Literal["ok", "differs", "info"]
"""One check of `promptreview verify`: it matches, it differs (exit 1), or it is said for the record only."""

Role = Literal["system", "developer", "user", "assistant"]
"""A chat message's role."""

TemplateEngine = Literal[
    "jinja", "handlebars", "f-string", "mustache", "gh-models", "semantic-kernel", "vscode"
]
"""The template language a prompt's messages are written in."""

Allocation = Literal["proportional", "equal", "neyman"]
"""How a stratified sample spreads its inputs over the strata (`sample.allocation`)."""

Removal = Literal["review", "allow"]
"""The config's `removal:`: whether a prompt leaving the review needs the accept label (`review`)."""

SampleBatching = Literal["auto", "off"]
"""The config's `sample_batching:`: the samples of one input in one request where the server honours it."""

BatchMode = Literal["auto", "on", "off"]
"""The config's `batch:` and `--batch`: the uncached calls go out as provider batches (`on`), never (`off`), or
when no pull request waits and the run is large enough (`auto`; docs/providers.md#provider-batches)."""

BatchState = Literal["running", "ended", "expired", "cancelled", "failed"]
"""Where a provider batch stands (`providers/provider_batches.BatchStatus`): still running; ended (its results
can be read); its window expired or it was cancelled (what it answered can be read, the rest is sent again);
failed as a whole."""
CallFailureKind = Literal[
    "http_status", "timeout", "connection", "unreadable_response", "invalid_response", "invalid_url",
    "model_unavailable",
]  # fmt: skip
"""How a model call failed (`records.CallFailure`): the server answered with an error status; the request
timed out; the connection failed; the answer could not be read (a body that does not decode, too many
redirects); the server answered 2xx with a body we cannot use (not JSON, or without the answer); the base URL
cannot be used; the model is not there (Ollama: not pulled, or no longer the pinned digest)."""

ParseFailureKind = Literal[
    "fenced", "trailing_comma", "wrapped", "not_json", "truncated", "empty", "empty_at_limit",
]  # fmt: skip
"""What a parse failure looks like, for its remedy: JSON inside a ``` fence, JSON with a trailing comma, JSON
inside other text, no JSON at all, JSON cut off at max_tokens, an empty answer (at max_tokens or not)."""
PARSE_FAILURE_KINDS: tuple[ParseFailureKind, ...] = get_args(ParseFailureKind)

FailureReasonKind = Literal[
    "empty", "truncated", "invalid_json", "schema", "provider_refusal", "finish_reason", "text_refusal",
    "call_failed",
]  # fmt: skip
"""Why a completion is not `ok` (`engine/measurement/outcomes.py`): an empty answer; JSON cut off at
max_tokens; JSON that does not parse; JSON the schema rejects; the provider's refusal signal; a refusing
finish reason (refusal, content_filter); a refusal written as text; the call failed after retries."""

NoteKind = Literal[
    # sources: the suite, the prompt files, the changes
    "suite_numbered_rows",
    "duplicate_inputs",
    "strata_pooled",
    "stratum_short",
    "neyman_proportional",
    "unknown_parameter",
    "schema_in_code",
    "placeholder_dropped",
    "prompt_removed",
    "renamed_unchanged",
    "content_unchanged",
    "prompt_copied_out",
    "glob_matches_nothing",
    "editor_prompt",
    "placeholder_unfilled",
    # planning
    "file_suite",
    "schema_contract",
    "contract_rows_removed",
    "contract_rows_added",
    "entry_moved",
    "entry_copied",
    "unused_columns",
    "output_mode",
    "new_prompt",
    "model_changed",
    "removed_from_file",
    "format_changed",
    "model_stand_in",
    "already_on_model",
    "safety_rows",
    "conversation_replay",
    # providers
    "structured_output_rejected",
    "provider_batches",
    "provider_batches_unavailable",
    "provider_batch_maybe_duplicate",
    # execution and measurement
    "sequential",
    "weighted",
    "own_schema",
    "unpinned",
    "model_changed_during_review",
    # quality checks
    "evaluator_skipped",
    "evaluator_changed",
    "evaluator_added",
    "evaluator_removed",
    "evaluator_unsupported",
    "must_refuse_unsampled",
    "leakage",
    "judge_calls_planned",
    "judge_served_other",
    # gates
    "calls_failed",
    "rate_increase",
    "rate_inconclusive",
    "sample_too_small",
    "flip_disagreement",
    "answer_features",
    "distribution_shift",
    "judge_unanswered",
    "check_decrease",
    "check_inconclusive",
    "check_too_small",
    "interval_differs",
    "ceiling_exceeded",
    "ceiling_point_estimate",
    "served_several",
    "served_other",
    # the review as a whole
    "simulated",
    "nothing_to_review",
    "leaves_review",
    # drift: the recorded answers against the same requests asked again
    "drift",
    "drift_nothing_recorded",
    "drift_partly_recorded",
    "drift_recorded",
]
"""What a note or a warning says (`notes.Note`); its words are made in `report/notes.py` alone."""

LabelRefusal = Literal["earlier_commit", "author", "no_write_access", "unverifiable"]
"""Why the accept label on a pull request does not count (CI): it was applied before the head commit under
review was pushed, by the pull request's author, by someone without write access, or nobody could be told."""

RATE_OUTCOMES: tuple[RateOutcome, ...] = get_args(RateOutcome)
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
SIDES: tuple[Side, ...] = get_args(Side)
PROVIDERS: tuple[ProviderName, ...] = get_args(ProviderName)
TEXT_FEATURES: tuple[TextFeature, ...] = get_args(TextFeature)
JSON_RATES: tuple[RateName, ...] = (*RATE_OUTCOMES, "error")  # a JSON-mode prompt's rates, in report order
TOOL_RATES: tuple[ToolOutcome, ...] = get_args(ToolOutcome)  # a prompt with tools adds these, in this order
GATED_RATES: tuple[GatedRate, ...] = (*RATE_OUTCOMES, *TOOL_RATES)  # the rates with a gate
FINISH_REASONS: tuple[FinishReason, ...] = get_args(FinishReason)
CONFIGURED_OUTPUT_MODES: tuple[ConfiguredOutputMode, ...] = get_args(ConfiguredOutputMode)
EXPECT_MATCHES: tuple[ExpectMatch, ...] = get_args(ExpectMatch)
STRING_OPS: tuple[StringOp, ...] = get_args(StringOp)
EVALUATOR_KINDS: tuple[EvaluatorKind, ...] = get_args(EvaluatorKind)
ALLOCATIONS: tuple[Allocation, ...] = get_args(Allocation)
REMOVALS: tuple[Removal, ...] = get_args(Removal)
SAMPLE_BATCHINGS: tuple[SampleBatching, ...] = get_args(SampleBatching)
BATCH_MODES: tuple[BatchMode, ...] = get_args(BatchMode)
BATCH_STATES: tuple[BatchState, ...] = get_args(BatchState)

Word = TypeVar("Word", bound=str)


def one_of(value: object, words: tuple[Word, ...]) -> Word | None:
    """`value` as the word of a closed set it equals, or None when it is none of them: how a value read from
    outside (a config, a prompt file, a provider's answer) is narrowed to its type, once, where it comes in."""
    for word in words:
        if value == word:
            return word
    return None


LeakKind = Literal["input", "expected"]
"""What a leaked suite value is (`report.document.LeakedRow`): a template variable's value, or an expected answer."""
