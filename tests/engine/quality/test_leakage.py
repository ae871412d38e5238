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


def test_the_guard_names_exactly_the_rows_whose_input_or_expected_answer_the_prompt_holds():
    """`plan_quality` against a hand-built job: a verbatim input, a paraphrased expected answer, a short label
    the prompt lists, and rows the prompt does not hold; the held rows are out of every check's values."""
    import math

    from promptreview.engine.jobs import PromptJob, Side
    from promptreview.engine.quality.checks import check_values, plan_quality
    from promptreview.records import ModelSpec
    from promptreview.sources.config import parse_config
    from promptreview.sources.formats import load_prompt
    from promptreview.sources.suites import SuiteRow, SuiteSample

    answer = "Refund the duplicate charge and apologise for the billing error within two days"
    system = (
        "Classify the ticket as billing or technical, and say what to do. Example: the app crashes when I open"
        " the settings page on my phone -> technical. Example answer: refund the duplicate charge and"
        " apologise for the billing error right away."
    )
    doc = f"messages:\n  - {{role: system, content: '{system}'}}\n  - {{role: user, content: '{{{{q}}}}'}}\n"
    template = load_prompt("p.prompt.yml", doc.encode())
    rows = (
        SuiteRow("verbatim", {"q": "The app crashes when I open the settings page on my phone", "want": "x"}, "all"),
        SuiteRow("paraphrased", {"q": "I was billed twice this month", "want": answer}, "all"),
        SuiteRow("label", {"q": "billing", "want": "billing"}, "all"),
        SuiteRow("clean", {"q": "Where is my parcel? It has not moved for a week", "want": "track it"}, "all"),
    )  # fmt: skip
    sample = SuiteSample("s.jsonl", rows, (), frozenset({"q", "want"}), 4, "all")
    text = "version: 1\nprompts:\n  - files: a\n    suite: s.jsonl\n    expect: {action: {column: want, match: contains}}\n"
    config = parse_config(text)
    side = Side("head", template, ModelSpec("sim", "x"), {}, None, False)
    job = PromptJob(0, "p.prompt.yml", "modified", None, sample, (side, side), 1, (), (), config.prompts[0],
                    variables=frozenset({"q"}))  # fmt: skip
    plan = plan_quality(job, config)
    assert [(r.input_id, r.column, r.kind, r.verbatim) for r in plan.leakage] == [
        ("verbatim", "q", "input", True),
        ("paraphrased", "want", "expected", False),
    ]
    assert plan.leakage_note is not None and not plan.leakage_fails
    assert plan.leakage_note.data["rows"] == ("verbatim", "paraphrased")
    failing = plan_quality(
        job, parse_config(text.replace("version: 1\n", "version: 1\nleakage: {fail: true}\n"))
    )
    assert failing.leakage_fails

    from promptreview.engine.measurement.outcomes import Classification, ScoredCall

    class _Call:
        def __init__(self, input_id: str) -> None:
            self.input_id, self.side, self.sample = input_id, "head", 0

    scored = [
        ScoredCall(_Call(r.input_id), None, Classification("ok", {"action": "track it"}))  # type: ignore[arg-type]
        for r in rows
    ]
    values = check_values(job, plan, scored, {})
    column, twin = values
    assert [math.isnan(v) for v in values[column]] == [True, True, False, False]
    # its twin over every row keeps the leaked ones (red team 3: a head choosing which rows its checks see)
    assert twin == column + " (leaked rows in)" and not any(math.isnan(v) for v in values[twin])


def test_a_conversation_s_turns_are_values_of_their_own() -> None:
    """A history's user and assistant turns are inputs; its last answer is an expected answer only when the
    review re-generates it (the prompt has no user turn of its own); its system turn is not looked at."""
    from promptreview.engine.quality.leakage import _turns

    history = [
        {"role": "system", "content": "the old prompt"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "what production answered"},
    ]
    values, looked = _turns(history, {"input": "x"}, [("input", "input")], own_turn=False)
    assert looked == [
        ("input", "input"),
        ("messages[1]", "input"),
        ("messages[2]", "input"),
        ("messages[3]", "input"),
        ("messages[4]", "expected"),
    ]
    assert values["messages[4]"] == "what production answered" and "messages[0]" not in values
    _, replayed = _turns(history, {}, [], own_turn=True)  # a `{{input}}` turn of its own: all of it is sent
    assert [kind for _, kind in replayed] == ["input"] * 4
