"""Conversations as suite rows (`sources/conversations.py`): the history parsed (JSONL list or CSV string),
replayed as data between the prompt's own messages, its depth, and who wrote its assistant turns."""

from __future__ import annotations

import json
import re

import pytest

from promptreview.errors import UsageError
from promptreview.records import Message
from promptreview.sources import conversations
from promptreview.sources.config import SampleSpec
from promptreview.sources.suites import load_rows, sample_suite

HISTORY = [
    {"role": "system", "content": "old system prompt"},
    {"role": "user", "content": "My order is late."},
    {"role": "assistant", "content": "Sorry! Which order?", "model": "gpt-4o-mini-2024-07-18"},
    {"role": "user", "content": "Order {{ 42 }}."},
    {"role": "assistant", "content": "the answer production gave", "prompt_version": "v7"},
]


def test_the_history_goes_between_the_prompts_system_messages_and_its_own_turn():
    prompt = (Message("system", "new system prompt"), Message("user", "Answer the customer."))
    sent = conversations.compose(prompt, HISTORY)
    assert [(m.role, m.content) for m in sent] == [
        ("system", "new system prompt"),
        ("user", "My order is late."),
        ("assistant", "Sorry! Which order?"),
        ("user", "Order {{ 42 }}."),  # data: never rendered
        ("assistant", "the answer production gave"),  # the prompt's own turn replies to it
        ("user", "Answer the customer."),
    ]
    assert conversations.compose((Message("system", "s"),), HISTORY)[-1].content == "Order {{ 42 }}."


def test_a_history_ending_in_an_answer_keeps_it_when_the_prompt_has_its_own_user_turn():
    """What `suite import` writes: the last user turn as `input`, the turns before it (ending with the answer
    that user turn replies to) as `messages`. A prompt with its own `{{input}}` turn replays that answer; a
    prompt without one re-generates it."""
    history = [
        {"role": "user", "content": "My order 42 is late."},
        {"role": "assistant", "content": "Shall I refund or resend it?", "model": "gpt-4o-2024-08-06"},
    ]
    prompt = (Message("system", "new system prompt"), Message("user", "Resend, please."))
    assert [(m.role, m.content) for m in conversations.compose(prompt, history)] == [
        ("system", "new system prompt"),
        ("user", "My order 42 is late."),
        ("assistant", "Shall I refund or resend it?"),
        ("user", "Resend, please."),
    ]
    assert [m.role for m in conversations.compose(prompt[:1], history)] == ["system", "user"]
    # the replayed answer is another model's: the blind spot counts it
    assert conversations.origin(history, "openai:gpt-4.1-mini-2025-04-14", own_turn=True) == "other"
    assert conversations.origin(history, "openai:gpt-4.1-mini-2025-04-14") == "none"


@pytest.mark.parametrize(
    ("users", "depth"),
    [(0, "1"), (1, "1"), (2, "2"), (3, "3-4"), (4, "3-4"), (5, "5-8"), (8, "5-8"), (9, "9+")],
)
def test_depth_buckets_count_the_user_turns(users, depth):
    turns = conversations.parse_history(
        [
            m
            for _ in range(users)
            for m in ({"role": "user", "content": "q"}, {"role": "assistant", "content": "a"})
        ],
        "row",
    )
    assert conversations.depth(turns) == depth


@pytest.mark.parametrize(
    ("history", "origin"),
    [
        ([{"role": "user", "content": "hi"}], "none"),
        ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "a"}], "none"),  # re-generated
        (HISTORY, "unknown"),  # the head's model, no version (the versioned turn is the one re-generated)
        ([*HISTORY[1:], {"role": "user", "content": "?"}], "other"),  # a recorded prompt version
        (
            [
                {"role": "assistant", "content": "a", "model": "claude-3-haiku"},
                {"role": "user", "content": "?"},
            ],
            "other",
        ),
        ([{"role": "assistant", "content": "a"}, {"role": "user", "content": "?"}], "unknown"),
    ],
)
def test_who_wrote_the_replayed_assistant_turns(history, origin):
    assert conversations.origin(history, "openai:gpt-4o-mini-2024-07-18") == origin


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("[{", "'messages' is not a JSON list"),
        ({"role": "user"}, "must be a list"),
        ([{"role": "robot", "content": "x"}], "messages[0] must have a role"),
        ([{"role": "user", "content": ["parts"]}], "string 'content'"),
    ],
)
def test_a_malformed_history_is_one_line_naming_the_row(value, said):
    with pytest.raises(UsageError, match=re.escape(said)):
        sample_suite("s.jsonl", [{"id": "a", "messages": value}], (), SampleSpec())


def test_a_csv_history_is_a_json_string_and_depth_is_a_stratum():
    csv = (
        'id,messages\na,"[{""role"": ""user"", ""content"": ""hi""}]"\nb,"'
        + json.dumps(HISTORY).replace('"', '""')
        + '"\n'
    )
    rows = load_rows("s.csv", csv.encode())
    sample = sample_suite("s.csv", rows, ("depth",), SampleSpec())
    assert {s.label for s in sample.strata} == {"depth=1", "depth=2"}
    by_id = {r.input_id: r.values for r in sample.rows}
    assert by_id["a"]["messages"] == [{"role": "user", "content": "hi"}]
    assert by_id["b"]["messages"][2]["model"] == "gpt-4o-mini-2024-07-18"


def test_a_suite_with_its_own_depth_keeps_it_and_one_without_messages_gets_none():
    rows = [{"id": "a", "messages": [], "depth": "deep"}]
    assert sample_suite("s.jsonl", rows, ("depth",), SampleSpec()).rows[0].values["depth"] == "deep"
    assert "depth" not in sample_suite("s.jsonl", [{"id": "a", "q": "x"}], (), SampleSpec()).columns
