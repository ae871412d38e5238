"""`sources/traces`: real exports into suites, exact counts, secrets kept out, and the suite reader reads the
result as it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptreview.errors import UsageError
from promptreview.sources.config import SampleSpec
from promptreview.sources.suites import load_rows, sample_suite
from promptreview.sources.traces import detect, import_suite
from tests.fixtures_path import FIXTURES

OTEL = FIXTURES / "traces" / "otel" / "latitude_rendering_spans.json"
BATCH = FIXTURES / "traces" / "openai" / "nightly_support_qa_batch.jsonl"


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_the_openai_batch_file_becomes_ten_rows_the_suite_reader_reads(tmp_path: Path) -> None:
    done = import_suite(BATCH, tmp_path / "suite.jsonl")
    assert done.fmt == "openai"
    c = done.counts
    assert (c.read, c.calls, c.kept, c.duplicates, c.mid_turn) == (10, 10, 10, 0, 0)
    rows = _lines(done.suite)
    assert [r["id"] for r in rows] == [f"qa-T-{i:03d}" for i in range(1, 11)]
    assert json.loads(rows[0]["input"])["message"].startswith("Where is order O-1001?")
    assert "messages" not in rows[0]  # one user turn: no history
    sample = sample_suite(
        str(done.suite), load_rows(str(done.suite), done.suite.read_bytes()), (), SampleSpec()
    )
    assert len(sample.rows) == 10
    provenance = json.loads(done.provenance.read_text("utf-8"))
    assert provenance["format"] == "openai"
    assert provenance["counts"]["kept"] == 10
    import hashlib

    assert provenance["source_sha256"] == hashlib.sha256(BATCH.read_bytes()).hexdigest()


def test_the_otel_export_keeps_the_one_replayable_call(tmp_path: Path) -> None:
    assert detect(OTEL) == "otel"
    done = import_suite(OTEL, tmp_path / "suite.jsonl", strata=("metadata.gen_ai.system",))
    c = done.counts
    # six spans: four model calls (three of them continue after the user's turn: an agent's later steps), a
    # tool span and the prompt's span
    assert (c.read, c.calls, c.kept, c.mid_turn) == (6, 4, 1, 3)
    assert _lines(done.suite) == [
        {"id": "ID_1", "input": "What is the weather in Barcelona?", "gen_ai.system": "openai"}
    ]


def _span(attributes: dict, events: list | None = None, span_id: str = "a1") -> dict:
    return {
        "spanId": span_id,
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
        "events": events or [],
    }


def _export(tmp_path: Path, *spans: dict, resource: dict | None = None) -> Path:
    doc = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": k, "value": {"stringValue": v}} for k, v in (resource or {}).items()
                    ]
                },
                "scopeSpans": [{"spans": list(spans)}],
            }
        ]
    }
    path = tmp_path / "spans.jsonl"
    path.write_text(json.dumps(doc) + "\n" + json.dumps(doc) + "\n", encoding="utf-8")  # two lines: JSONL
    return path


def test_every_otel_convention_is_read_history_kept_and_repeats_counted_once(tmp_path: Path) -> None:
    history = [
        {"role": "system", "parts": [{"type": "text", "content": "old system prompt"}]},
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]},
        {"role": "assistant", "parts": [{"type": "text", "content": "hello"}]},
        {"role": "user", "parts": [{"type": "text", "content": "where is my order?"}]},
    ]
    path = _export(
        tmp_path,
        _span(
            {
                "gen_ai.input.messages": json.dumps(history),
                "gen_ai.request.model": "gpt-4o-2024-08-06",
                "channel": "email",
            },
            span_id="new",
        ),
        _span(
            {
                "gen_ai.prompt.0.role": "system",
                "gen_ai.prompt.0.content": "sys",
                "gen_ai.prompt.1.role": "user",
                "gen_ai.prompt.1.content": "indexed question",
            },
            span_id="old",
        ),
        _span(
            {},
            [
                {
                    "name": "gen_ai.user.message",
                    "attributes": [{"key": "content", "value": {"stringValue": "event question"}}],
                }
            ],
            span_id="ev",
        ),
        _span({"gen_ai.tool.name": "lookup"}, span_id="tool"),
        resource={"service.name": "support"},
    )
    done = import_suite(path, tmp_path / "suite.jsonl", strata=("metadata.channel", "metadata.service.name"))
    c = done.counts
    assert (c.read, c.calls, c.kept, c.duplicates, c.missing_strata) == (
        8,
        6,
        3,
        3,
        4,
    )  # strata counted over every call read
    first, indexed, event = _lines(done.suite)
    assert first == {
        "id": "new",
        "input": "where is my order?",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello", "model": "gpt-4o-2024-08-06"},
        ],
        "channel": "email",
        "service.name": "support",
    }
    assert indexed["input"] == "indexed question" and indexed["channel"] == "unknown"
    assert event["input"] == "event question"
    rows = load_rows(str(done.suite), done.suite.read_bytes())
    sample = sample_suite(str(done.suite), rows, ("channel",), SampleSpec())
    assert {s.label for s in sample.strata} == {"channel=email", "channel=unknown"}


def test_a_secret_in_a_trace_never_reaches_the_suite(tmp_path: Path) -> None:
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0"
    lines = [
        {
            "request": {
                "model": "gpt-4o-mini",
                "metadata": {"channel": "chat", "api_key": key, "email": "a@b.example"},
                "messages": [
                    {"role": "user", "content": f"my key is {key}, Authorization: Bearer abcdef123456"}
                ],
            },
            "response": {"id": "chatcmpl-1"},
        },
        {
            "body": {
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": "plain"}],
                "metadata": {"channel": "chat", "email": "c@d.example"},
            },
            "custom_id": "r2",
        },
        {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "plain"}],
            "metadata": {"channel": "chat", "email": "c@d.example"},
        },
    ]
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    done = import_suite(
        path,
        tmp_path / "suite.jsonl",
        strata=("metadata.channel", "metadata.api_key", "metadata.email"),
        mask=("metadata.email",),
    )
    text = done.suite.read_text("utf-8")
    assert key not in text and "abcdef123456" not in text and "@" not in text
    c = done.counts
    assert (c.kept, c.duplicates, c.masked_values, c.masked_fields) == (2, 1, 1, 3)
    assert _lines(done.suite)[0]["id"] == "chatcmpl-1"
    assert (
        "api_key" not in _lines(done.suite)[0]
    )  # a field named secret is dropped, even asked for as a stratum
    assert c.dropped_fields == 3


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("not json\n", "openai", "log.jsonl:1: not valid JSON"),
        ('{"a": 1}\n', "openai", "log.jsonl:1: not an OpenAI log line"),
        ('{"messages": 3}\n', "openai", "`messages` must be a list"),
        (
            '{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "x"}]}]}]}\n',
            "otel",
            "no model call found",
        ),
        ('{"a": 1}\n', "otel", "not an OTLP JSON export"),
        (
            '{"id": "batch_req_1", "custom_id": "r1", "response": {"status_code": 200, "body": {}}}\n',
            "openai",
            "a Batch API output line holds the answer, not the request",
        ),
        ('{\n "resourceSpans": [\n', "otel", "not valid JSON"),
        ('{"a": 1}\n', "langfuse", "log.jsonl:1: not a Langfuse observation"),
        ('{"type": "GENERATION", "trace_id": "t"}\nnot json\n', "langfuse", "log.jsonl:2: not valid JSON"),
        ('{"type": "SPAN", "trace_id": "t", "input": "hi"}\n', "langfuse", "no model call found"),
        ('{"data": [3]}\n', "langfuse", "each observation must be a JSON object"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, text: str, fmt: str, message: str) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        import_suite(path, tmp_path / "suite.jsonl", fmt)  # type: ignore[arg-type]
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "suite.jsonl").exists()


LANGFUSE = FIXTURES / "traces" / "langfuse"


def test_langfuse_s_blob_storage_export_of_observations(tmp_path: Path) -> None:
    """Langfuse's documented JSONL export (`observations_v2/`: snake_case, `input` a JSON-encoded string, the
    model in `provided_model_name`): generations become rows, other observations are counted and passed over,
    mid-turn calls and repeats are left out, strata come from the metadata and the observation's own fields."""
    source = LANGFUSE / "observations_v2.jsonl"
    assert detect(source) == "langfuse"
    done = import_suite(
        source, tmp_path / "suite.jsonl", strata=("metadata.channel", "metadata.prompt_version")
    )
    c = done.counts
    # 8 observations: 5 generations (one ends on a tool result, one repeats another), a span, a tool, an event
    assert (c.read, c.calls, c.kept, c.mid_turn, c.duplicates, c.missing_strata) == (8, 5, 3, 1, 1, 1)
    rows = _lines(done.suite)
    assert rows[0] == {
        "id": "obs-1",
        "input": "My parcel P-100 has not moved for a week.",
        "channel": "email",
        "prompt_version": 3,
    }
    assert rows[1]["input"] == "Then please send it to 4 Elm Road."  # a list of parts: its text
    assert rows[1]["messages"] == [
        {"role": "user", "content": "Can I change the address of P-200?"},
        {
            "role": "assistant",
            "content": "Yes, until it leaves the depot.",
            "model": "gpt-4o-mini-2024-07-18",
        },
    ]
    assert rows[2] == {  # an `input` that is plain text: one user turn; no channel in its metadata
        "id": "obs-7",
        "input": "Please cancel order O-77, it was a mistake.",
        "channel": "unknown",
        "prompt_version": 4,
    }
    assert "sk-proj" not in done.suite.read_text("utf-8")  # the metadata's key never reaches the suite
    assert json.loads(done.provenance.read_text("utf-8"))["format"] == "langfuse"


def test_a_page_of_langfuse_s_observations_api(tmp_path: Path) -> None:
    """The public API's page (`{"data": [...], "meta": ...}`, camelCase, pretty-printed): `input` as the OpenAI
    integration records it (`{"messages", "tools"}`), the model in `model`."""
    source = LANGFUSE / "observations_api_page.json"
    assert detect(source) == "langfuse"
    done = import_suite(source, tmp_path / "suite.jsonl", strata=("model", "metadata.prompt_name"))
    assert (done.counts.read, done.counts.calls, done.counts.kept) == (2, 1, 1)
    assert _lines(done.suite) == [
        {
            "id": "gen-a",
            "input": "Is my refund for O-12 on its way?",
            "model": "gpt-4o-mini",
            "prompt_name": "support-reply",
        }
    ]


def test_langfuse_s_trace_download_reads_its_observations(tmp_path: Path) -> None:
    """The UI's "Download JSON" of one trace: the trace, its `observations` and its scores, in one document."""
    trace = {
        "id": "t-9",
        "name": "support",
        "observations": [
            {"id": "g1", "traceId": "t-9", "type": "GENERATION", "model": "claude-sonnet-4-5",
             "input": [{"role": "human", "content": "Hello, is the shop open on Sunday?"}]},
            {"id": "s1", "traceId": "t-9", "type": "SPAN", "input": None},
        ],
        "scores": [],
    }  # fmt: skip
    path = tmp_path / "trace-t-9.json"
    path.write_text(json.dumps(trace, indent=2), encoding="utf-8")
    done = import_suite(path, tmp_path / "suite.jsonl", "langfuse")
    assert _lines(done.suite) == [{"id": "g1", "input": "Hello, is the shop open on Sunday?"}]
    assert (done.counts.read, done.counts.calls) == (2, 1)


def test_a_hundred_thousand_lines_stream(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(100_000):
            fh.write(json.dumps({"messages": [{"role": "user", "content": f"question {i % 50_000}"}]}) + "\n")
    done = import_suite(path, tmp_path / "suite.jsonl")
    assert (done.counts.kept, done.counts.duplicates) == (50_000, 50_000)


def test_openinference_spans_as_phoenix_exports_them(tmp_path: Path) -> None:
    """Arize Phoenix's OTLP spans (OpenInference attributes): flattened messages (content or content parts),
    `metadata` as JSON, a span that records its template variables (its row is those variables), and a history
    with tool turns, which the replay cannot send (left out, counted)."""
    chat = {
        "llm.model_name": "gpt-4o-mini-2024-07-18",
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "You are a support agent.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.contents.0.message_content.type": "text",
        "llm.input_messages.1.message.contents.0.message_content.text": "Where is order 7?",
        "llm.input_messages.2.message.role": "assistant",
        "llm.input_messages.2.message.content": "It shipped on Monday.",
        "llm.input_messages.3.message.role": "user",
        "llm.input_messages.3.message.content": "When will it arrive?",
        "metadata": json.dumps({"channel": "chat", "password": "hunter22"}),
    }
    with_tools = {
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "Where is order 8?",
        "llm.input_messages.1.message.role": "assistant",
        "llm.input_messages.1.message.tool_calls.0.tool_call.id": "call_1",
        "llm.input_messages.1.message.tool_calls.0.tool_call.function.name": "lookup",
        "llm.input_messages.1.message.tool_calls.0.tool_call.function.arguments": '{"order": 8}',
        "llm.input_messages.2.message.role": "tool",
        "llm.input_messages.2.message.tool_call_id": "call_1",
        "llm.input_messages.2.message.content": "shipped",
        "llm.input_messages.3.message.role": "user",
        "llm.input_messages.3.message.content": "And order 9?",
    }
    templated = {
        "llm.input_messages.0.message.role": "user",
        "llm.input_messages.0.message.content": "Ticket: my card was charged twice",
        "llm.prompt_template.variables": json.dumps({"ticket": "my card was charged twice"}),
        "metadata": json.dumps({"channel": "email"}),
    }
    path = _export(
        tmp_path, _span(chat, span_id="c1"), _span(with_tools, span_id="w1"), _span(templated, span_id="t1")
    )
    done = import_suite(path, tmp_path / "suite.jsonl", strata=("metadata.channel",))
    c = done.counts
    assert (c.calls, c.kept, c.duplicates, c.tool_history) == (6, 2, 2, 2)
    first, second = _lines(done.suite)
    assert first == {
        "id": "c1",
        "input": "When will it arrive?",
        "messages": [
            {"role": "user", "content": "Where is order 7?"},
            {"role": "assistant", "content": "It shipped on Monday.", "model": "gpt-4o-mini-2024-07-18"},
        ],
        "channel": "chat",
    }
    assert second == {"id": "t1", "ticket": "my card was charged twice", "channel": "email"}
    assert "hunter22" not in done.suite.read_text("utf-8")
    # the conversation replay's format: {role, content} turns, content a string, who wrote an answer as `model`
    assert all(
        set(m) <= {"role", "content", "model"} and isinstance(m["content"], str) for m in first["messages"]
    )


def test_a_log_that_quotes_the_otlp_key_is_still_read_as_openai(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_text(
        json.dumps({"messages": [{"role": "user", "content": 'what is "resourceSpans": ?'}]}) + "\n"
    )
    assert detect(path) == "openai"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("api_key", True), ("Authorization", True), ("x-auth", True), ("access_token", True), ("token", True),
        ("password", True), ("client_secret", True), ("cookie", True), ("session_id", True),
        ("max_tokens", False), ("gen_ai.usage.input_tokens", False), ("tokenizer", False), ("author", False),
        ("secretary", False), ("channel", False),
    ],
)  # fmt: skip
def test_which_field_names_say_secret(name: str, secret: bool) -> None:
    from promptreview.sources.traces import SECRET_NAME

    assert bool(SECRET_NAME.search(name)) is secret


def test_an_output_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "taken.jsonl").mkdir()
    with pytest.raises(UsageError, match="is a folder"):
        import_suite(BATCH, tmp_path / "taken.jsonl")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="cannot be written"):
        import_suite(BATCH, tmp_path / "file" / "suite.jsonl")
