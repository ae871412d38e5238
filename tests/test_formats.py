"""Each prompt format, read as its reference tool reads it: roles, order, rendered text, parameters, schema,
defaults, the file's own inputs, and detection by content. Test files are our own, written in each format as
its project documents it."""

from __future__ import annotations

import json

import pytest

from promptreview.errors import UsageError
from promptreview.notes import note
from promptreview.report.notes import words
from promptreview.sources.formats import load_prompt, load_prompts
from promptreview.sources.template import check_template


def sent(template, **row):
    return [(m.role, m.content) for m in template.render(row, "row 1")]


# -- GitHub Models ---------------------------------------------------------------------------------------

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


# -- Prompty ---------------------------------------------------------------------------------------------

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


def test_prompty_markers_from_rendered_variables_split_too():
    """Prompty splits after rendering (its default, non-strict parser does the same)."""
    t = load_prompt("x.prompty", b"---\nname: x\n---\nsystem:\n{{sys}}\n")
    assert sent(t, sys="Be brief.\nuser:\nHi") == [("system", "Be brief."), ("user", "Hi")]


# -- Dotprompt -------------------------------------------------------------------------------------------

DOTPROMPT = """---
model: googleai/gemini-1.5-flash
config:
  temperature: 0.9
  maxOutputTokens: 50
  topK: 20
  stopSequences: ["\\n\\n"]
input:
  schema:
    name: string
    items(array): string
  default:
    name: friend
output:
  format: json
  schema:
    greeting: string, the greeting
    mood?(enum): [happy, sad]
    tags(array): string
---
{{role "system"}}
You greet people. {{json items}}
{{#each items}}- {{this}}
{{/each}}
{{role "user"}}
Hello, I am {{name}} <b>!</b>
{{role "model"}}
Hi.
"""


def test_dotprompt_handlebars_roles_config_defaults_and_picoschema():
    t = load_prompt("greet.prompt", DOTPROMPT.encode())
    assert t.format == "dotprompt" and t.engine.name == "handlebars"
    assert dict(t.params) == {"temperature": 0.9, "max_tokens": 50, "top_k": 20, "stop": ["\n\n"]}
    assert t.model_hint is None and t.warnings[0] == note(
        "foreign_model", "greet.prompt", model="googleai/gemini-1.5-flash"
    )
    assert words(t.warnings[0]) == (
        "greet.prompt: model 'googleai/gemini-1.5-flash' has no promptreview provider; the config's model runs it"
    )
    assert t.schema == {
        "type": "object",
        "properties": {
            "greeting": {"type": "string", "description": "the greeting"},
            "mood": {"enum": ["happy", "sad", None]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["greeting", "tags"],
        "additionalProperties": False,
    }
    assert t.variables() == {"items", "name"}  # `this` inside #each is the item's
    assert sent(t, items=["a", "b"]) == [
        ("system", 'You greet people. ["a","b"]\n- a\n- b'),
        ("user", "Hello, I am friend <b>!</b>"),  # no HTML escaping, the default applied
        ("assistant", "Hi."),
    ]


def test_dotprompt_without_markers_is_one_user_message_and_prompt_md():
    t = load_prompt("p.prompt.md", b"---\ninput:\n  schema: {q: string}\n---\nAnswer: {{q}}\n")
    assert sent(t, q="why") == [("user", "Answer: why")]
    assert t.output is None and t.schema is None
    json_schema = b"---\noutput:\n  schema: {type: object, properties: {a: {type: string}}}\n---\nx"
    assert load_prompt("p.prompt", json_schema).schema == {
        "type": "object",
        "properties": {"a": {"type": "string"}},
    }


# -- LangChain -------------------------------------------------------------------------------------------


def test_langchain_simple_prompt_template_fstring_and_mustache():
    fs = {
        "_type": "prompt",
        "input_variables": ["q"],
        "template": "Q: {q} {{literal}}",
        "template_format": "f-string",
    }
    t = load_prompt("p.json", json.dumps(fs).encode())
    assert t.variables() == {"q"}
    assert sent(t, q="x") == [("user", "Q: x {literal}")]
    mu = {"_type": "prompt", "template": "Q: {{q}} / {{{q}}}", "template_format": "mustache"}
    t = load_prompt("m.json", json.dumps(mu).encode())
    assert sent(t, q='a "b" <c> & d\'s') == [
        ("user", "Q: a &quot;b&quot; &lt;c&gt; &amp; d's / a \"b\" <c> & d's")
    ]


def test_langchain_serialised_chat_with_partials_literals_and_placeholder():
    def node(cls, **kwargs):
        return {
            "lc": 1,
            "type": "constructor",
            "id": ["langchain_core", "prompts", "chat", cls],
            "kwargs": kwargs,
        }

    def prompt(template):
        return node("PromptTemplate", template=template, template_format="f-string", input_variables=[])

    doc = node(
        "ChatPromptTemplate",
        input_variables=["question"],
        partial_variables={"persona": "pirate"},
        messages=[
            node("SystemMessagePromptTemplate", prompt=prompt("You are a {persona}.")),
            node("MessagesPlaceholder", variable_name="history", optional=True),
            node("HumanMessage", content="Literal {not a var}"),
            node("HumanMessagePromptTemplate", prompt=prompt("{question}")),
            node("AIMessagePromptTemplate", prompt=prompt("Arr.")),
        ],
    )
    t = load_prompt("chat.json", json.dumps(doc).encode())
    assert t.variables() == {"persona", "question"} and dict(t.defaults) == {"persona": "pirate"}
    assert t.warnings == (note("placeholder_dropped", "chat.json"),)
    assert (
        words(t.warnings[0]) == "chat.json: a MessagesPlaceholder has no messages in a review and is left out"
    )
    assert sent(t, question="Where?") == [
        ("system", "You are a pirate."),
        ("user", "Literal {not a var}"),
        ("user", "Where?"),
        ("assistant", "Arr."),
    ]


def test_langchain_simple_chat_tuples():
    doc = {"_type": "chat", "messages": [["system", "Be {style}."], ["human", "{q}"]]}
    t = load_prompt("c.yaml", json.dumps(doc).encode())
    assert sent(t, style="brief", q="hi") == [("system", "Be brief."), ("user", "hi")]


# -- promptfoo, plain, detection --------------------------------------------------------------------------


def test_promptfoo_multi_prompt_file_is_several_named_prompts():
    prompts = load_prompts("prompts/p.txt", b"Translate: {{text}}\n---\nSummarise: {{text}}\n")
    assert [p.path for p in prompts] == ["prompts/p.txt#1", "prompts/p.txt#2"]
    assert sent(prompts[1], text="x") == [("user", "Summarise: x")]
    assert [p.path for p in load_prompts("p.txt", b"One prompt only {{x}}\n")] == ["p.txt"]


@pytest.mark.parametrize("name", ["app.py", "notes.cfg", "Makefile"])
def test_a_file_in_no_format_is_refused_naming_the_formats(name):
    with pytest.raises(
        UsageError, match="supported prompt formats: GitHub Models .*Prompty.*Dotprompt.*LangChain"
    ):
        load_prompts(name, b"import os\nprint('hello {{x}}')\n")


def test_detection_by_content_without_a_telling_name():
    prompty = load_prompt(
        "prompt.tmpl", b"---\nname: x\nmodel: {api: chat}\n---\nsystem:\nHi\nuser:\n{{q}}\n"
    )
    assert prompty.format == "prompty"
    lc = load_prompt("prompt", json.dumps({"_type": "prompt", "template": "{q}"}).encode())
    assert lc.format.startswith("langchain")
    gh = load_prompt("x.yaml", b"messages: [{role: user, content: hi}]\nmodelParameters: {maxTokens: 5}\n")
    assert gh.format == "github-models" and dict(gh.params) == {"max_tokens": 5}
    with pytest.raises(UsageError, match="not a prompt file"):
        load_prompt("config.yaml", b"version: 1\nname: other\n")


def test_dotprompt_schema_defined_in_code_is_a_warning_and_json_mode():
    t = load_prompt(
        "r.prompt", b"---\nmodel: openai/gpt-4o\noutput:\n  schema: Recipe\n---\nA recipe for {{food}}."
    )
    assert t.schema is None and t.output == "json" and t.json_object
    assert t.model_hint == "openai:gpt-4o" and t.warnings == (
        note("schema_in_code", "r.prompt", schema="Recipe"),
    )
    assert words(t.warnings[0]) == (
        "r.prompt: output.schema 'Recipe' is defined in code, not in the file: outputs are checked as JSON but "
        "not validated"
    )
    assert sent(t, food="soup") == [("user", "A recipe for soup.")]


def test_prompty_completion_api_is_one_user_prompt_and_json_response_format():
    text = b"---\nmodel:\n  api: completion\n  parameters: {response_format: {type: json_object}}\n---\nsystem:\nQ: {{q}}\n"
    t = load_prompt("c.prompty", text)
    assert t.json_object and t.output == "json"
    assert sent(t, q="x") == [("user", "system:\nQ: x\n")]


@pytest.mark.parametrize(
    "template",
    ["Q: {q.__class__.__mro__}", "Q: {q[0]}", "Q: {q:>100000000}", "Q: {q:{q}}"],
    ids=["attribute", "index", "width", "nested spec"],
)
def test_langchain_fstring_fields_reach_no_further_than_a_value(template):
    doc = {"_type": "prompt", "template": template, "template_format": "f-string"}
    with pytest.raises(UsageError, match="f-string field"):
        load_prompt("p.json", json.dumps(doc).encode()).variables()


@pytest.mark.parametrize("path", ["prompts/p.txt", "prompts/p.md", "prompts/p.prompty", "prompts/p.prompt"])
def test_an_empty_prompt_file_is_refused(path):
    with pytest.raises(UsageError, match="empty"):
        load_prompts(path, b" \n\n")


# -- the registry -------------------------------------------------------------------------------------------


def test_the_registry_asks_its_formats_and_the_longest_claimed_suffix_wins(monkeypatch):
    from promptreview.sources import formats

    # `.prompt.yml` is GitHub Models' even though `.yml` is data, and `.prompt.md` with front matter is
    # Dotprompt's even though `.md` is a plain template
    assert formats._claimed("a/x.prompt.yml") is formats.github_models
    assert formats._claimed("a/X.PROMPT.MD") is formats.dotprompt
    assert formats._claimed("a/x.md") is None

    class Shouting:
        """A format added to the registry is asked like the others, in its place in the order."""

        NAME = "shouting"
        SUFFIXES: tuple[str, ...] = (".shout",)

        @staticmethod
        def read_named(path, text):
            from promptreview.sources.template import PromptTemplate

            return (PromptTemplate(path=path, messages=(("user", text.upper()),)),)

        @staticmethod
        def read_document(path, doc):
            return None

        @staticmethod
        def read_front_matter(path, meta, body):
            return None

    monkeypatch.setattr(formats, "FORMATS", (*formats.FORMATS, Shouting))
    assert load_prompt("p/x.shout", b"hello {{name}}").messages == (("user", "HELLO {{NAME}}"),)


def test_no_format_module_imports_the_registry():
    """The formats import the leaf modules (template, reading, base); only the registry lists them."""
    import ast
    from pathlib import Path

    from promptreview.sources import formats

    for path in Path(formats.__file__).parent.glob("*.py"):
        if path.name == "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "promptreview.sources.formats":
                names = {alias.name for alias in node.names}
                assert names <= {"reading", "base", "mustache", "picoschema"}, (path.name, names)
