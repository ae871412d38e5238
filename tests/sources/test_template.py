import json

import pytest

from promptreview.errors import UsageError
from promptreview.notes import note
from promptreview.sources.formats import load_prompt
from promptreview.sources.template import check_template

PROMPT_YML = """
name: Triage
model: openai/gpt-4o-mini
modelParameters:
  temperature: 0.2
  maxTokens: 300
messages:
  - role: system
    content: Classify the ticket. Output strictly valid JSON.
  - role: user
    content: "{{ticket}}"
responseFormat: json_schema
jsonSchema: '{"name": "triage", "strict": true, "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}'
testData:
  - ticket: ignored by promptreview
"""


def test_github_models_prompt_file():
    t = load_prompt("p.prompt.yml", PROMPT_YML.encode())
    assert t.model is None and t.model_hint == "github:openai/gpt-4o-mini"  # the config's model may override
    assert t.params == {"temperature": 0.2, "max_tokens": 300}
    assert t.schema == {"type": "object", "properties": {"a": {"type": "string"}}}
    assert t.schema_name == "triage"
    messages = t.render({"ticket": "My card was charged twice"}, "row 1")
    assert [(m.role, m.content) for m in messages] == [
        ("system", "Classify the ticket. Output strictly valid JSON."),
        ("user", "My card was charged twice"),
    ]


def test_json_schema_as_a_mapping():
    text = PROMPT_YML.replace(
        """jsonSchema: '{"name": "triage", "strict": true, "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}'""",
        "jsonSchema:\n  name: t\n  schema: {type: object}",
    )
    assert load_prompt("p.prompt.yaml", text.encode()).schema == {"type": "object"}


def test_chat_array_json_and_yaml():
    data = json.dumps([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "{{q}}"}])
    t = load_prompt("chat.json", data.encode())
    assert t.render({"q": "hi"}, "row 1")[1].content == "hi"
    y = load_prompt("chat.yaml", b"- role: user\n  content: 'Q: {{q}}'\n")
    assert y.render({"q": "x"}, "row 1")[0].content == "Q: x"


def test_plain_template_is_one_user_message():
    t = load_prompt("p.md", b"Summarise: {{text}}\n")
    assert [(m.role, m.content) for m in t.render({"text": "abc"}, "row 1")] == [("user", "Summarise: abc\n")]


def test_missing_variable_is_an_error_before_any_call():
    t = load_prompt("p.txt", b"Hello {{name}} from {{city}}")
    with pytest.raises(UsageError, match="template variable 'city' is not a column of s.jsonl"):
        check_template(t, {"name"}, "s.jsonl")


def test_missing_variable_at_render_time_is_an_error_not_an_empty_string():
    t = load_prompt("p.txt", b"{% if flag %}{{ missing }}{% endif %}")
    with pytest.raises(UsageError, match="missing"):
        t.render({"flag": True}, "row 'x'")


def test_sandbox_blocks_python_internals():
    t = load_prompt("evil.txt", b"{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(UsageError, match="sandbox|template"):
        t.render({}, "row 1")


def test_non_utf8_prompt_file():
    with pytest.raises(UsageError, match="not valid UTF-8"):
        load_prompt("p.txt", b"caf\xe9 {{x}}")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("p.prompt.yml", b"messages: []", "non-empty list"),
        ("p.prompt.yml", b"messages: [{role: robot, content: hi}]", "role must be one of"),
        (
            "p.prompt.yml",
            b"messages: [{role: user, content: hi}]\njsonSchema: '{bad'",
            "jsonSchema is not valid JSON",
        ),
        ("p.json", b"[{", "not valid JSON"),
        ("p.prompt.yml", b"messages: [\n", "not valid YAML"),
    ],
)
def test_malformed_prompt_files(name, data, message):
    with pytest.raises(UsageError, match=message):
        load_prompt(name, data)


def test_template_syntax_error_is_reported_at_check():
    t = load_prompt("p.txt", b"{{ unclosed ")
    with pytest.raises(UsageError, match="syntax error"):
        check_template(t, set(), "s.jsonl")


def test_unknown_model_parameter_is_a_warning_not_an_error():
    t = load_prompt(
        "p.prompt.yml", b"messages: [{role: user, content: hi}]\nmodelParameters: {warmth: 1, topP: 0.5}"
    )
    assert t.params == {"top_p": 0.5}
    assert t.warnings == (note("unknown_parameter", "p.prompt.yml", where="modelParameters", key="warmth"),)
