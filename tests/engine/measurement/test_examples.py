"""The examples a reviewer reads first: what each side answered, in words a person can act on."""

from __future__ import annotations

import pandas as pd

from promptreview.engine.measurement.examples import examples
from promptreview.engine.measurement.outcomes import ProviderRefusal


def test_a_provider_refusal_shows_the_refusal_not_an_empty_block():
    refusal = ProviderRefusal("I can't help with that request.")
    frame = pd.DataFrame(
        {
            "side": ["base", "head"],
            "input_id": ["t1", "t1"],
            "stratum": ["all", "all"],
            "sample": [0, 0],
            "outcome": ["ok", "refusal"],
            "text": ['{"category": "billing"}', ""],  # a signalled refusal carries no answer text
            "reason": [None, refusal],
            "output": [{"category": "billing"}, None],
            "answer": ['{"category":"billing"}', "<refusal>"],
            "tool": [None, None],
        }
    )
    (example,) = examples(frame, {"t1": {"id": "t1", "ticket": "refund"}})
    assert example.head_outcome == "refusal"
    assert example.head_text == "(provider refusal) I can't help with that request."
    assert example.base_text == '{"category": "billing"}'


def test_a_tool_fault_is_an_example_with_its_call_shown():
    """A completion of a prompt with tools that is `ok` as an answer but calls a tool it may not: an example of
    its fault, the call shown as the model sent it; the base's sound call beside it."""
    frame = pd.DataFrame(
        {
            "side": ["base", "head", "base", "head"],
            "input_id": ["q1", "q1", "q2", "q2"],
            "stratum": ["all"] * 4,
            "sample": [0, 0, 0, 0],
            "outcome": ["ok"] * 4,
            "text": ["", "Let me check.", "", "It is sunny."],
            "reason": [None] * 4,
            "output": [{"(tool)": "get_weather", "city": "Oslo"}, {"(tool)": "get_forecast"}, None, None],
            "answer": [
                '[["get_weather",{"city":"Oslo"}]]',
                '[["get_forecast","{\\"city"]]',
                "x",
                "It is sunny.",
            ],
            "tool": [None, "tool_unknown", None, "tool_missing"],
        }
    )
    missing, unknown = examples(frame, {"q1": {"question": "Oslo?"}, "q2": {"question": "Lima?"}})
    assert (missing.base_outcome, missing.head_outcome) == ("ok", "tool_missing")
    assert missing.head_text == "It is sunny."
    assert (unknown.base_outcome, unknown.head_outcome) == ("ok", "tool_unknown")
    assert unknown.base_text == '(tool calls) [["get_weather",{"city":"Oslo"}]]'
    assert unknown.head_text == 'Let me check.\n(tool calls) [["get_forecast","{\\"city"]]'
