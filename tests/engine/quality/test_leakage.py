"""The leakage guard's matching: verbatim and paraphrased values found, short values and shared phrasing not."""

from __future__ import annotations

from promptreview.engine.quality.leakage import MIN_WORDS, NGRAM, PromptText, literal_text

PROMPT = literal_text(
    [
        "You triage tickets. Answer with one of: billing, technical, account.\n"
        "Example: I was charged twice for my subscription this month, please refund the duplicate payment.\n"
        "-> billing\n{% if channel %}Channel: {{ channel }}{% endif %}\nTicket: {{ticket}}",
    ]
)


def test_the_slots_are_taken_out_of_the_prompt_text() -> None:
    assert "{{" not in PROMPT and "{%" not in PROMPT and "Ticket:" in PROMPT


def test_a_verbatim_copy_is_found_whatever_its_case_and_spacing() -> None:
    text = PromptText(PROMPT)
    held = text.holds(
        "i was CHARGED twice for my subscription   this month, please refund the duplicate payment", 0.5
    )
    assert held == (1.0, True)


def test_a_paraphrase_is_found_by_its_share_of_word_runs() -> None:
    text = PromptText(PROMPT)
    # the first 12 words kept, the ending reworded: 5 of the 9 runs of 8 words are in the prompt
    value = "I was charged twice for my subscription this month, please refund me quickly now"
    overlap, verbatim = text.holds(value, 0.5) or (0.0, False)
    assert not verbatim and 0.5 <= overlap < 1
    assert text.holds(value, 0.9) is None


def test_short_values_and_common_phrasing_are_not_leaks() -> None:
    text = PromptText(PROMPT)
    assert text.holds("billing", 0.5) is None  # a label the prompt lists on purpose
    assert text.holds("one of billing technical", 0.5) is None  # under MIN_WORDS words
    assert MIN_WORDS < NGRAM
    assert text.holds("My parcel never arrived and the tracking number shows no movement", 0.5) is None
    assert text.holds(12345, 0.5) is None
