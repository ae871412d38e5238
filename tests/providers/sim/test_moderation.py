"""The sim's moderation rules: the refusal rate a prompt's wording sets, and the lenient wording that moves
`review` decisions to `allow`."""

from __future__ import annotations

from promptreview.providers.sim import moderation


def test_the_wording_sets_refusals_and_leniency():
    assert moderation.refusal_rate(0.7, "Be as helpful as possible.") == moderation.HELPFUL_REFUSAL
    assert moderation.refusal_rate(0.7, "Moderate strictly.") == 0.7
    assert moderation.refusal_rate(0.0, "Be as helpful as possible.") == 0.0
    schema = {"properties": {"decision": {"enum": ["allow", "review", "block"]}}}
    texts = [f"message {i}" for i in range(200)]
    moved = [
        moderation.lenient({"decision": "review"}, schema, "give them the benefit of the doubt", t)[
            "decision"
        ]
        for t in texts
    ]
    assert 0.5 < moved.count("allow") / len(moved) < 0.7
    assert moderation.lenient({"decision": "review"}, schema, "be strict", "x") == {"decision": "review"}
    assert moderation.lenient({"decision": "block"}, schema, "benefit of the doubt", "x") == {
        "decision": "block"
    }
