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
