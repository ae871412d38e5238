"""A prompt's output mode, `json` or `text`: what its answers are scored as (see docs/formats.md).

A declared mode always wins: the entry's `output: json|text`, then what the files declare (a schema, a JSON
response format, `responseFormat: text`, Dotprompt `output.format`). Only when nothing is declared does `auto`
read the prompt's own words (`asks_for_json`), measured against a hand-labelled corpus of real prompt files
(tests/fixtures/output_mode/, tests/engine/planning/test_output_mode_corpus.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from promptreview.engine.jobs import Side
from promptreview.notes import Note, note
from promptreview.sources.template import PromptTemplate
from promptreview.vocabulary import ConfiguredOutputMode, OutputMode

_F = re.IGNORECASE

# An instruction about the answer's format, sentence by sentence. Four ways a prompt asks for JSON:
# 1. an answering verb, then a preposition, then JSON: "format your output in JSON", "respond with only a valid
#    JSON object", "output the result strictly as structured JSON", "provide the response as a JSON object"
_VERB_THEN_JSON = re.compile(
    r"\b(?:respond|responds|responding|response|responses|reply|replies|answer|answers|output|outputs|return|"
    r"returns|result|results|format|formatted|provide|give|generate|produce|emit|write|print|structure|"
    r"structured|render|express|deliver)\b[^.\n]{0,60}?\b(?:in|as|with|using|into|only)\b[^.\n]{0,40}?\bjson\b",
    _F,
)
# 2. the verb's object is JSON itself: "return a JSON object", "ONLY output JSON", "output a valid JSON file"
_VERB_JSON_OBJECT = re.compile(
    r"\b(?:respond|reply|answer|output|return|generate|produce|emit|write|print|create)s?\s+"
    r"(?:(?:only|just|back|the|a|an|one|single|your|final|valid|strict|strictly|structured|well-formed|minified|"
    r"clean|parseable|raw|pure|plain|proper|following|same|complete|full)\s+){0,4}json\b",
    _F,
)
# 3. the answer is said to be JSON: "your output must be JSON", "the response format is a JSON array"
_ANSWER_IS_JSON = re.compile(
    r"\b(?:output|response|reply|answer|result)s?\b[^.\n]{0,40}?\b(?:is|are|be)\s+"
    r"(?:(?:a|an|only|in|valid|strict|strictly|pure|raw|well-formed|structured|formatted|as)\s+){0,4}json\b"
    r"|\bjson\s+(?:format|object|array|list|response|output|string)\b(?=[^\n]{0,200}?\b(?:output|respond|response|"
    r"reply|answer|return|result|provide|print|generate|produce|emit)\b)"
    r"|\b(?:output|respond|response|reply|answer|return|result|provide|print|generate|produce|emit|accepts?)\b[^\n]{0,200}?"
    r"\bjson\s+(?:format|object|array|list|response|output|string)\b",
    _F,
)
# 4. the answer must fill a schema: "covers all required fields in the schema", "matching the output schema"
_FILLS_A_SCHEMA = re.compile(
    r"\b(?:match(?:es|ing)?|conform(?:s|ing)?\s+to|adher\w*\s+to|fields?\s+(?:in|of))\s+(?:the\s+)?"
    r"(?:(?:provided|given|output|response|following|specified|required|expected|json)\s+)*schema\b",
    _F,
)
_ANSWER_WORD = re.compile(r"\b(?:output|respon\w*|reply|answer|return|result|fields?|populate|fill)\b", _F)
# a directive followed by a JSON literal: 'only provide a response of {"apology": 0}'
_VERB_THEN_LITERAL = re.compile(
    r"\b(?:respond|reply|answer|output|return|provide|give|print|emit|response)\w*\b[^.\n]{0,25}?(?:\{\s*\"|\[\s*\{)",
    _F,
)
_SIGNALS = (_VERB_THEN_JSON, _VERB_JSON_OBJECT, _ANSWER_IS_JSON, _VERB_THEN_LITERAL)

# A sentence that only says what to do when the prompt cannot do its job ("if you cannot answer, reply with
# {"error": ...}") is an escape hatch: a prose prompt with one is still prose. Two searches, not one pattern
# spanning the sentence, so a long line costs linear time.
_CONDITION = re.compile(r"\b(?:if|when|otherwise|unless)\b", _F)
_CANNOT = re.compile(
    r"\b(?:cannot|can\s?not|can't|unable|not\s+able|impossible|not\s+possible|refuse\w*|declin\w*|off[- ]topic|"
    r"out\s+of\s+scope|not\s+(?:related|relevant|sure|know)|don't\s+know|do\s+not\s+know|"
    r"no\s+(?:answer|relevant|information|data|match)|fails?|error|invalid|irrelevant|unsure|inappropriate|"
    r"harmful|malicious|unsafe)\b",
    _F,
)
_NEGATION = re.compile(r"(?:\b(?:not|never|no|without|avoid|don't|do\s+not)\b)[^.\n]{0,20}$", _F)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")

# The completion cue a prompt ends with ("Output:", "<critique>", "Output with {{n}} QnAs:") and the same cue
# earlier in the prompt: when the worked examples under it answer in JSON, so will the model
_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}|\{[^}\s]*\}|\$\{[^}]*\}|\d+")
_JSON_START = re.compile(r"\s*(?:```json\b|\{\s*(?:\"|'|$|\{)|\[\s*(?:\{|\"|$))", _F)


def _sentences(text: str) -> Iterator[str]:
    yield from (s for s in _SENTENCE_END.split(text) if s.strip())


def _said(pattern: re.Pattern[str], sentence: str) -> bool:
    """The pattern matches the sentence somewhere not negated ("do not output JSON" asks for no JSON)."""
    return any(
        not _NEGATION.search(sentence[max(0, m.start() - 40) : m.start()]) for m in pattern.finditer(sentence)
    )


def _instructs_json(text: str) -> bool:
    for sentence in _sentences(text):
        asks = any(_said(p, sentence) for p in _SIGNALS) or (
            _said(_FILLS_A_SCHEMA, sentence) and _ANSWER_WORD.search(sentence) is not None
        )
        if asks and not (_CONDITION.search(sentence) and _CANNOT.search(sentence)):
            return True
    return False


def _cue(line: str) -> str:
    return _PLACEHOLDER.sub("#", line.strip().lower())


def _examples_answer_in_json(text: str) -> bool:
    lines = text.rstrip().splitlines()
    if len(lines) < 2:
        return False
    cue = _cue(lines[-1])
    if not cue or len(cue) > 60:
        return False  # a completion cue is a short label, not a sentence of the prompt
    for i, line in enumerate(lines[:-1]):
        if _cue(line) != cue:
            continue
        following = next((later for later in lines[i + 1 : -1] if later.strip()), "")
        if _JSON_START.match(following):
            return True
    return False


def asks_for_json_text(text: str) -> bool:
    """Whether a prompt's own words ask for a JSON answer: an instruction to answer in JSON (not negated, not
    only an escape hatch for when it cannot answer), or worked examples under its completion cue that answer
    in JSON. Measured on tests/fixtures/output_mode/ (docs/formats.md gives the rule and the agreement)."""
    return _instructs_json(text) or _examples_answer_in_json(text)


def asks_for_json(template: PromptTemplate) -> bool:
    return asks_for_json_text("\n".join(source for _, source in template.messages))


def declared_mode(side: Side) -> OutputMode | None:
    """What a side's files declare: a schema or a JSON response format is `json`; `responseFormat: text` or
    Dotprompt `output.format: text` (without a schema) is `text`; None when they declare nothing."""
    t = side.template
    if side.schema is not None or t.json_object or t.output == "json":
        return "json"
    return "text" if t.output == "text" else None


def output_mode(configured: ConfiguredOutputMode, sides: Sequence[Side]) -> OutputMode:
    """`json` or `text`, one mode for both sides so they compare. The entry's `output` wins; then what the
    files declare (json when either side declares json); only when nothing is declared do the words decide."""
    if configured != "auto":
        return configured
    declared = {mode for side in sides if (mode := declared_mode(side)) is not None}
    if declared:
        return "json" if "json" in declared else "text"
    return "json" if any(asks_for_json(side.template) for side in sides) else "text"


def mode_note(mode: OutputMode, configured: ConfiguredOutputMode) -> Note:
    """The mode, and whether the config set it (`configured`: the entry's `output`) or the prompt decided."""
    return note("output_mode", mode=mode, configured=configured == mode)
