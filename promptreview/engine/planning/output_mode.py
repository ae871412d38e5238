"""A prompt's output mode, `json` or `text`: what its answers are scored as (see docs/formats.md).

`auto` decides from the prompt itself: a schema, a JSON response format or an explicit instruction to answer
in JSON makes it `json`; anything else is prose, scored in text mode.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from promptreview.engine.jobs import Side
from promptreview.notes import Note, note
from promptreview.sources.template import PromptTemplate
from promptreview.vocabulary import ConfiguredOutputMode, OutputMode

# An explicit request for JSON in the prompt's own words: "respond in JSON", "clean, parseable JSON", "a JSON
# object", ... (a prompt that only mentions JSON in passing, "summarise this JSON document", is not one)
_JSON_WORDS = re.compile(
    r"\b(?:in|as|using|with|valid|strict(?:ly)?|only|return|output|respond with|reply with|be|produce|emit|"
    r"generate|use|into|a|an|following)"
    r"\s+(?:(?:valid|strict|minified|clean|parseable|well-formed|plain|pure|raw|proper)[, ]+){0,3}json\b"
    r"|\bjson\s+(?:object|only|format|schema|array|output|response)\b",
    re.IGNORECASE,
)


def asks_for_json(template: PromptTemplate) -> bool:
    return any(_JSON_WORDS.search(source) for _, source in template.messages)


def output_mode(configured: ConfiguredOutputMode, sides: Sequence[Side]) -> OutputMode:
    """`json` or `text`. `auto`: json when a side has a schema, a JSON response format or an explicit JSON
    instruction, or its file says json; text otherwise. One mode for both sides, so they compare."""
    if configured != "auto":
        return configured
    if all(side.template.output == "text" and side.schema is None for side in sides):
        return "text"  # the file says so (`responseFormat: text`, Dotprompt `output.format: text`)
    for side in sides:
        t = side.template
        if side.schema is not None or t.json_object or t.output == "json" or asks_for_json(t):
            return "json"
    return "text"


def mode_note(mode: OutputMode, configured: ConfiguredOutputMode) -> Note:
    """The mode, and whether the config set it (`configured`: the entry's `output`) or the prompt decided."""
    return note("output_mode", mode=mode, configured=configured == mode)
