"""GitHub Models `.prompt.yml` files, read as the reference tool reads them. (Detection and the rules every format shares:
tests/sources/formats/test_formats.py.)"""

from __future__ import annotations

from promptreview.notes import note
from promptreview.report.notes import words
from promptreview.sources.formats import load_prompt


def sent(template, **row):
    return [(m.role, m.content) for m in template.render(row, "row 1")]


GH = """name: Summarise
model: openai/gpt-4.1
modelParameters:
  maxTokens: 100
  maxCompletionTokens: 200
  temperature: 0.1
  topP: 0.9
  stop: ["END"]
  seed: 3
  frequencyPenalty: 0.2
  presencePenalty: -0.1
  reasoning: high
messages:
  - role: system
    content: Summarise in one line.
  - role: user
    content: "{{input}}"
responseFormat: json_object
testData:
  - input: first
    expected: a
  - input: second
    expected: b
evaluators:
  - name: has text
    string: {contains: a}
"""


def test_github_models_every_parameter_mapped_unknown_one_warned():
    t = load_prompt("summarise_prompt.yml", GH.encode())  # gh-models' own naming, told by content
    assert t.format == "github-models"
    assert dict(t.params) == {
        "max_tokens": 100, "max_completion_tokens": 200, "temperature": 0.1, "top_p": 0.9, "stop": ["END"],
        "seed": 3, "frequency_penalty": 0.2, "presence_penalty": -0.1,
    }  # fmt: skip
    assert t.warnings == (
        note("unknown_parameter", "summarise_prompt.yml", where="modelParameters", key="reasoning"),
    )
    assert words(t.warnings[0]) == (
        "summarise_prompt.yml: modelParameters.reasoning is not a model parameter promptreview knows; ignored"
    )
    assert t.json_object and t.output == "json"
    assert t.model is None and t.model_hint == "github:openai/gpt-4.1"
    assert [r["input"] for r in t.suite or ()] == ["first", "second"] and t.suite_source == "testData"
    assert sent(t, input="hello") == [("system", "Summarise in one line."), ("user", "hello")]


def test_star_prompt_yml_keeps_its_json_schema():
    text = GH.replace("responseFormat: json_object", "responseFormat: json_schema\njsonSchema: "
                      "'{\"name\": \"s\", \"schema\": {\"type\": \"object\"}}'")  # fmt: skip
    t = load_prompt("prompts/summary_prompt.yml", text.encode())
    assert t.schema == {"type": "object"} and t.schema_name == "s"


def test_a_declared_strict_is_kept_as_declared():
    def strict(declared: str) -> bool | None:
        text = GH.replace("responseFormat: json_object", "responseFormat: json_schema\njsonSchema: "
                          f"'{{\"name\": \"s\", {declared}\"schema\": {{\"type\": \"object\"}}}}'")  # fmt: skip
        return load_prompt("prompts/summary_prompt.yml", text.encode()).schema_strict

    assert strict('"strict": true, ') is True
    assert strict('"strict": false, ') is False
    assert strict("") is None
