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
