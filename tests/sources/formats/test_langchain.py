"""LangChain prompt files, read as the reference tool reads them. (Detection and the rules every format shares:
tests/sources/formats/test_formats.py.)"""

from __future__ import annotations

import json

import pytest

from promptreview.errors import UsageError
from promptreview.notes import note
from promptreview.report.notes import words
from promptreview.sources.formats import load_prompt


def sent(template, **row):
    return [(m.role, m.content) for m in template.render(row, "row 1")]


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


@pytest.mark.parametrize(
    "template",
    ["Q: {q.__class__.__mro__}", "Q: {q[0]}", "Q: {q:>100000000}", "Q: {q:{q}}"],
    ids=["attribute", "index", "width", "nested spec"],
)
def test_langchain_fstring_fields_reach_no_further_than_a_value(template):
    doc = {"_type": "prompt", "template": template, "template_format": "f-string"}
    with pytest.raises(UsageError, match="f-string field"):
        load_prompt("p.json", json.dumps(doc).encode()).variables()
