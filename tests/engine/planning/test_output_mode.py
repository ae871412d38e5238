"""Which output mode `auto` picks: from the prompt's words, its schema, its response format, or the config."""

from __future__ import annotations

import pytest

from promptreview.engine.jobs import Side
from promptreview.engine.planning.output_mode import output_mode
from promptreview.records import ModelSpec
from promptreview.sources.formats import load_prompt

SPEC = ModelSpec("sim", "x")


def side(template, schema=None) -> Side:
    return Side("head", template, SPEC, {}, schema, False)


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        (b"Summarise: {{t}}", "text"),
        (b"Summarise this JSON document: {{t}}", "text"),
        (b"Summarise {{t}}. Respond in JSON.", "json"),
        (b"Always respond using clean, parseable JSON. {{t}}", "json"),
        (b"Return a JSON object with a summary field. {{t}}", "json"),
        (b"Your output must be JSON. {{t}}", "json"),
        (b"Summarise the JSON payload below in two sentences. {{t}}", "text"),
        # issue 20: asked for "strictly as structured JSON" (was scored as text)
        (b"Review {{t}}. Output the result strictly as structured JSON with keys summary and tone.", "json"),
        # issue 20: a prose prompt whose only JSON is an escape hatch (was scored as JSON)
        (
            b'Answer {{t}} in two friendly paragraphs.\nIf you cannot answer, reply with a JSON object {"error": 1}.',
            "text",
        ),
        (b"Do not answer in JSON; write a short paragraph about {{t}}.", "text"),
        # worked examples under the completion cue answer in JSON, with no word about JSON
        (b'Classify the url.\nURL: a.com\nOUTPUT:\n{"category": "App"}\n\nURL: {{t}}\nOUTPUT:', "json"),
        (b"Rate the answer.\nanswer: good\nstars:\n5\n\nanswer: {{t}}\nstars:", "text"),
    ],
)
def test_auto_mode_from_the_prompt_words(text, mode):
    assert output_mode("auto", [side(load_prompt("p.txt", text))]) == mode


def test_auto_mode_from_schema_response_format_and_config():
    plain = load_prompt("p.txt", b"{{t}}")
    assert output_mode("auto", [side(plain, schema={"type": "object"})]) == "json"
    fmt = load_prompt("p.prompt.yml", b"messages: [{role: user, content: hi}]\nresponseFormat: json_object\n")
    assert output_mode("auto", [side(plain), side(fmt)]) == "json"  # one mode for both sides
    assert output_mode("text", [side(fmt)]) == "text" and output_mode("json", [side(plain)]) == "json"
    text_file = load_prompt("p.prompt", b"---\noutput:\n  format: text\n---\nReturn a JSON object {{t}}")
    assert output_mode("auto", [side(text_file)]) == "text"


def test_a_declared_mode_wins_over_the_other_sides_words():
    """issue 20: what a file declares decides before any side's wording is read."""
    declared_text = load_prompt(
        "p.prompt.yml", b"messages: [{role: user, content: hi}]\nresponseFormat: text\n"
    )
    words_json = load_prompt("p.txt", b"Respond in JSON. {{t}}")
    assert output_mode("auto", [side(declared_text), side(words_json)]) == "text"
    assert output_mode("auto", [side(words_json), side(declared_text)]) == "text"
    plain = load_prompt("p.txt", b"Summarise {{t}}")
    assert output_mode("auto", [side(declared_text), side(plain, schema={"type": "object"})]) == "json"
    assert output_mode("json", [side(declared_text)]) == "json"  # the entry's `output` wins over the file
