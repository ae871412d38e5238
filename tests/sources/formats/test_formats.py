"""Each prompt format, read as its reference tool reads it: roles, order, rendered text, parameters, schema,
defaults, the file's own inputs, and detection by content. Test files are our own, written in each format as
its project documents it. Here: promptfoo's multi-prompt files, plain templates, detection and refusals; each
other format has its own file (test_github_models.py, test_prompty.py, test_dotprompt.py, test_langchain.py)."""

from __future__ import annotations

import json

import pytest

from promptreview.errors import UsageError
from promptreview.sources.formats import load_prompt, load_prompts


def sent(template, **row):
    return [(m.role, m.content) for m in template.render(row, "row 1")]


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
        def read_named(path, text, files):
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


# -- promptfoo's chat-message parts, pairing parts by identity ---------------------------------------------


def test_promptfoo_chat_message_part_is_sent_as_those_messages_names_kept():
    chat = [
        {"role": "system", "content": "You are {{persona}}.", "name": "desk"},
        {"role": "user", "content": "{{q}}"},
    ]
    prompts = load_prompts("p.txt", f"Answer: {{{{q}}}}\n---\n{json.dumps(chat)}\n".encode())
    messages = prompts[1].render({"persona": "a clerk", "q": "Hi"}, "row 1")
    assert [(m.role, m.content, m.name) for m in messages] == [
        ("system", "You are a clerk.", "desk"),
        ("user", "Hi", None),
    ]
    with pytest.raises(UsageError, match="looks like a JSON list of chat messages but is not valid JSON"):
        load_prompts("p.txt", b'Answer\n---\n[{"role": "user", "content": }]\n')


def test_a_chat_message_name_goes_on_the_wire_and_into_the_cache_key():
    from promptreview.providers.openai import OpenAIProvider
    from promptreview.records import CompletionRequest, Message, ModelSpec

    def request(name):
        return CompletionRequest(ModelSpec("openai", "gpt-4o"), (Message("user", "Hi", name),))

    body = OpenAIProvider(api_key="sk-test").build_body(request("ann"))
    assert body["messages"] == [{"role": "user", "content": "Hi", "name": "ann"}]
    assert request("ann").cache_key() != request(None).cache_key()


def test_parts_are_paired_by_identity_not_position():
    from promptreview.sources.formats.plain import pair_parts

    base = load_prompts(
        "p.txt", b"Reply to: {{t}}\n---\nSummarise the ticket: {{t}}\n---\nTranslate: {{t}}\n"
    )
    head = load_prompts(
        "p.txt",
        b"A new first prompt about {{t}}\n---\nReply to: {{t}}\n---\nSummarise the ticket briefly: {{t}}\n",
    )
    pairs = [(b.path if b else None, h.path if h else None) for b, h in pair_parts(base, head)]
    assert pairs == [
        (None, "p.txt#1"),  # inserted
        ("p.txt#1", "p.txt#2"),  # unchanged, moved
        ("p.txt#2", "p.txt#3"),  # edited: its most similar part
        ("p.txt#3", None),  # removed
    ]


# -- Semantic Kernel and VS Code files are not misread ------------------------------------------------------


def test_a_semantic_kernel_placeholder_is_not_a_jinja_syntax_error():
    template = load_prompt("prompts/summary.txt", b"Summarize this:\n{{$input}}\n")
    assert template.format == "semantic-kernel"
    assert sent(template, input="a & b") == [("user", "Summarize this:\na & b")]


def test_a_vscode_prompt_file_is_not_read_as_dotprompt():
    text = b"---\nmode: agent\ntools: ['codebase']\ndescription: Review\n---\nReview ${input:file:the file} now.\n"
    template = load_prompt(".github/prompts/review.prompt.md", text)
    assert template.format == "vscode" and template.variables() == {"file"}
    assert sent(template, file="app.py") == [("user", "Review app.py now.")]
    dotprompt = load_prompt(
        "p.prompt.md", b'---\ninput:\n  schema:\n    q: string\n---\n{{role "user"}}{{q}}\n'
    )
    assert dotprompt.format == "dotprompt"
