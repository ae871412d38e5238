"""Prompty files, read as the reference tool reads them. (Detection and the rules every format shares:
tests/sources/formats/test_formats.py.)"""

from __future__ import annotations

import pytest

from promptreview.errors import UsageError
from promptreview.sources.formats import load_prompt
from promptreview.sources.template import check_template


def sent(template, **row):
    return [(m.role, m.content) for m in template.render(row, "row 1")]


PROMPTY_V1 = """---
name: Basic
description: A basic prompt
authors: [someone]
model:
  api: chat
  configuration:
    type: azure_openai
    azure_deployment: gpt-35-turbo
  parameters:
    max_tokens: 128
    temperature: 0.2
inputs:
  firstName:
    type: string
    default: Jane
  question:
    type: string
sample:
  firstName: Seth
  question: What is the meaning of life?
---
You are an AI assistant who helps people find information.

# Customer
You are helping {{firstName}} to find answers.

user:
{{question}}

assistant:
Let me think.

user:
Go on.
"""


def test_prompty_front_matter_role_markers_defaults_and_sample():
    t = load_prompt("basic.prompty", PROMPTY_V1.encode())
    assert t.format == "prompty"
    assert dict(t.params) == {"max_tokens": 128, "temperature": 0.2}
    assert t.suite == ({"firstName": "Seth", "question": "What is the meaning of life?"},)
    check_template(t, {"question"}, "s.jsonl")  # firstName has a default
    assert sent(t, question="Why?") == [
        ("system", "You are an AI assistant who helps people find information.\n\n# Customer\n"
                   "You are helping Jane to find answers."),
        ("user", "Why?"),
        ("assistant", "Let me think."),
        ("user", "Go on."),
    ]  # fmt: skip
    check_template(t, set(), "s.jsonl")  # as in prompty v1, the sample fills what a row leaves out
    assert sent(t)[1] == ("user", "What is the meaning of life?")
    extra = load_prompt(
        "basic.prompty", PROMPTY_V1.replace("{{question}}", "{{question}} {{extra}}").encode()
    )
    with pytest.raises(UsageError, match="'extra' is not a column"):
        check_template(extra, {"question"}, "s.jsonl")


def test_prompty_v2_options_and_list_inputs():
    text = """---
name: v2
model:
  id: gpt-4o
  options:
    temperature: 0.5
    maxOutputTokens: 64
inputs:
  - name: topic
    kind: string
    default: cats
template:
  format: mustache
---
system:
Tell me about {{topic}} & dogs.
"""
    t = load_prompt("v2.prompty", text.encode())
    assert dict(t.params) == {"temperature": 0.5, "max_tokens": 64}
    assert t.model_hint == "openai:gpt-4o"
    assert sent(t) == [("system", "Tell me about cats & dogs.")]


@pytest.mark.parametrize(
    ("model", "refused"),
    [
        ("  id: gpt-4o\n  options: {max_tokens: 5}\n  parameters: {max_tokens: 300}\n", "both 'parameters'"),
        ("  id: gpt-4o\n  options: {max_tokens: 5, maxOutputTokens: 300}\n", "gives max_tokens twice"),
        ("  configuration: {type: openai, name: gpt-35-turbo, azure_deployment: gpt-4o}\n", "named twice"),
        ("  id: gpt-4o\n  connection: {name: gpt-35-turbo}\n", "named twice"),
    ],
)
def test_prompty_parameters_or_model_given_two_ways_are_refused(model, refused):
    with pytest.raises(UsageError) as info:
        load_prompt("p.prompty", f"---\nname: x\nmodel:\n{model}---\nuser:\nhi\n".encode())
    assert str(info.value).startswith("p.prompty: ") and refused in str(info.value)


def test_prompty_names_that_agree_are_one_model():
    text = "---\nmodel:\n  configuration: {type: openai, name: gpt-4o, azure_deployment: gpt-4o}\n---\nuser:\nhi\n"
    t = load_prompt("p.prompty", text.encode())
    assert (t.model_hint, t.model_named) == ("openai:gpt-4o", "gpt-4o")


def test_prompty_markers_from_rendered_variables_split_too():
    """Prompty splits after rendering (its default, non-strict parser does the same)."""
    t = load_prompt("x.prompty", b"---\nname: x\n---\nsystem:\n{{sys}}\n")
    assert sent(t, sys="Be brief.\nuser:\nHi") == [("system", "Be brief."), ("user", "Hi")]


def test_prompty_completion_api_is_one_user_prompt_and_json_response_format():
    text = b"---\nmodel:\n  api: completion\n  parameters: {response_format: {type: json_object}}\n---\nsystem:\nQ: {{q}}\n"
    t = load_prompt("c.prompty", text)
    assert t.json_object and t.output == "json"
    assert sent(t, q="x") == [("user", "system:\nQ: x\n")]


@pytest.mark.parametrize("section", ["configuration", "connection"])
def test_prompty_a_model_configuration_read_from_a_file_is_refused(section):
    """Red team 2, finding 6: the deployment a `${file:conn.json}` names is what production runs."""
    text = f"---\nmodel:\n  {section}: ${{file:conn.json}}\n---\nuser:\nhi\n"
    with pytest.raises(UsageError) as info:
        load_prompt("p.prompty", text.encode(), lambda name: b'{"azure_deployment": "prod-bad"}')
    assert str(info.value).startswith(f"p.prompty: model.{section}: ${{file:conn.json}} is refused")
    nested = (
        "---\nmodel:\n  configuration: {type: azure_openai, azure_deployment: '${file:d.txt}'}\n---\nhi\n"
    )
    with pytest.raises(
        UsageError, match=r"model.configuration.azure_deployment: \$\{file:d.txt\} is refused"
    ):
        load_prompt("p.prompty", nested.encode())
