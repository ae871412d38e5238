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
