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
        }
    )
    (example,) = examples(frame, {"t1": {"id": "t1", "ticket": "refund"}})
    assert example.head_outcome == "refusal"
    assert example.head_text == "(provider refusal) I can't help with that request."
    assert example.base_text == '{"category": "billing"}'
