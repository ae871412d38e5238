"""Prompt file formats: each file is read with the semantics of the tool that defines its format, and the
format is told by the file's content as well as its name.

| format | files | module |
|---|---|---|
| GitHub Models | `.prompt.yml`, `.prompt.yaml`, any YAML/JSON mapping with `messages` (`*_prompt.yml`) | `github_models` |
| chat messages | a JSON/YAML list of `{role, content}` | `github_models` |
| Prompty | `.prompty`, or front matter with Prompty's keys / role markers | `prompty` |
| Dotprompt | `.prompt`, `.prompt.md` with front matter, or front matter with Dotprompt's keys | `dotprompt` |
| LangChain | JSON/YAML `PromptTemplate` / `ChatPromptTemplate` (`lc` or `_type`) | `langchain` |
| promptfoo | a `.txt` with `---` lines between prompts | `plain` |
| plain template | `.txt`, `.md`, `.j2`, `.jinja`, `.jinja2` | `plain` |

A file that matches none of them is refused (exit 2), never taken as a plain template.
"""

from __future__ import annotations

from typing import Any, Literal

from promptreview.errors import UsageError
from promptreview.sources.formats import dotprompt, github_models, langchain, plain, prompty
from promptreview.sources.formats import reading as common
from promptreview.sources.template import PromptTemplate

SUPPORTED = (
    "GitHub Models .prompt.yml/.prompt.yaml, chat-message arrays (.json/.yaml), Prompty (.prompty), "
    "Dotprompt (.prompt, .prompt.md), LangChain PromptTemplate/ChatPromptTemplate JSON, "
    "promptfoo multi-prompt .txt, plain templates (.txt, .md, .j2)"
)
DATA_SUFFIXES = (".json", ".yaml", ".yml")
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".j2", ".jinja", ".jinja2", ".tmpl")


def _unsupported(path: str, why: str) -> UsageError:
    return UsageError(f"{path}: {why}; supported prompt formats: {SUPPORTED}")


def _from_document(path: str, doc: Any) -> PromptTemplate | None:
    if langchain.looks_like(doc):
        return langchain.read(path, doc)
    if github_models.looks_like(doc):
        return github_models.read(path, doc)
    if common.is_chat_list(doc) or (isinstance(doc, list) and path.lower().endswith(DATA_SUFFIXES)):
        return github_models.read_chat_list(path, doc)
    return None


def _front_matter_format(
    path: str, text: str, prefer: Literal["prompty", "dotprompt"] | None
) -> PromptTemplate | None:
    split = common.front_matter(text)
    if split is None:
        if prefer == "prompty":
            return prompty.read(path, {}, text)
        if prefer == "dotprompt":
            return dotprompt.read(path, {}, text)
        return None
    raw_meta, body = split
    meta = common.safe_yaml(path, raw_meta, "front matter is ")
    if prefer == "prompty" or (prefer is None and prompty.looks_like(meta, body)):
        return prompty.read(path, meta, body)
    if prefer == "dotprompt" or (prefer is None and dotprompt.looks_like(meta, body)):
        return dotprompt.read(path, meta, body)
    return None


def load_prompts(path: str, data: bytes) -> tuple[PromptTemplate, ...]:
    """Every prompt in one prompt file's bytes (several only for a promptfoo multi-prompt file)."""
    text = common.decode(path, data)
    if not text.strip():
        raise UsageError(f"{path}: the prompt file is empty")
    lower = path.lower()
    if lower.endswith(".prompty"):
        return (_front_matter_format(path, text, "prompty") or prompty.read(path, {}, text),)
    if lower.endswith(".prompt"):
        return (_front_matter_format(path, text, "dotprompt") or dotprompt.read(path, {}, text),)
    if lower.endswith(".prompt.md") and common.front_matter(text) is not None:
        return (_front_matter_format(path, text, "dotprompt") or plain.read(path, text),)
    if lower.endswith(github_models.SUFFIXES):
        doc = common.safe_yaml(path, text)
        if not isinstance(doc, dict):
            raise UsageError(f"{path}: a .prompt.yml file must be a mapping with 'messages'")
        return (github_models.read(path, doc),)
    if lower.endswith(DATA_SUFFIXES):
        doc = common.safe_json(path, text) if lower.endswith(".json") else common.safe_yaml(path, text)
        found = _from_document(path, doc)
        if found is None:
            if isinstance(doc, dict) and "messages" in doc:
                return (github_models.read(path, doc),)
            raise _unsupported(path, "not a prompt file (no 'messages', no LangChain prompt template)")
        return (found,)
    if lower.endswith(TEXT_SUFFIXES):
        found = _front_matter_format(path, text, None)
        if found is not None:
            return (found,)
        return plain.read_multi(path, text) if lower.endswith(".txt") else (plain.read(path, text),)
    return (_by_content(path, text),)


def _by_content(path: str, text: str) -> PromptTemplate:
    """A file whose name says nothing: a prompt only if its content is one of the formats."""
    found = _front_matter_format(path, text, None)
    if found is not None:
        return found
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            import json

            found = _from_document(path, json.loads(text))
        except ValueError:
            found = None
        if found is not None:
            return found
    raise _unsupported(path, "not a prompt file format promptreview reads")


def load_prompt(path: str, data: bytes) -> PromptTemplate:
    """The one prompt of a prompt file (a multi-prompt file's first)."""
    return load_prompts(path, data)[0]
