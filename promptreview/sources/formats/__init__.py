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

This module is the registry: `FORMATS` lists the format modules (each implements `formats.base.PromptFormat`
and imports only the leaf modules, never this one), and `load_prompts` asks them in order: a format that claims
the file's name reads it; a data file (`.json`, `.yaml`) goes to the first format that recognises the document;
a text file to the first that recognises its front matter, else it is a plain template; a file whose name says
nothing is a prompt only if its content is one of the formats.
"""

from __future__ import annotations

from typing import Any

from promptreview.errors import UsageError
from promptreview.sources import safe_load
from promptreview.sources.formats import dotprompt, github_models, langchain, plain, prompty, reading
from promptreview.sources.formats.base import PromptFormat
from promptreview.sources.template import PromptTemplate

# In the order they are asked: LangChain's `_type`/`lc` documents before GitHub Models' `messages`, Prompty's
# front matter before Dotprompt's (a file both could read is Prompty's, as it always was).
FORMATS: tuple[PromptFormat, ...] = (langchain, github_models, prompty, dotprompt)

SUPPORTED = (
    "GitHub Models .prompt.yml/.prompt.yaml, chat-message arrays (.json/.yaml), Prompty (.prompty), "
    "Dotprompt (.prompt, .prompt.md), LangChain PromptTemplate/ChatPromptTemplate JSON, "
    "promptfoo multi-prompt .txt, plain templates (.txt, .md, .j2)"
)


def _unsupported(path: str, why: str) -> UsageError:
    return UsageError(f"{path}: {why}; supported prompt formats: {SUPPORTED}")


def _claimed(path: str) -> PromptFormat | None:
    """The format whose suffix the file name ends with (the longest such suffix: `.prompt.yml` over `.yml`)."""
    lower = path.lower()
    best: tuple[int, PromptFormat] | None = None
    for fmt in FORMATS:
        for suffix in fmt.SUFFIXES:
            if lower.endswith(suffix) and (best is None or len(suffix) > best[0]):
                best = (len(suffix), fmt)
    return best[1] if best else None


def _from_document(path: str, doc: Any) -> PromptTemplate | None:
    for fmt in FORMATS:
        found = fmt.read_document(path, doc)
        if found is not None:
            return found
    return None


def _from_front_matter(path: str, text: str) -> PromptTemplate | None:
    split = reading.front_matter(path, text)
    if split is None:
        return None
    meta, body = split
    for fmt in FORMATS:
        found = fmt.read_front_matter(path, meta, body)
        if found is not None:
            return found
    return None


def load_prompts(path: str, data: bytes) -> tuple[PromptTemplate, ...]:
    """Every prompt in one prompt file's bytes (several only for a promptfoo multi-prompt file)."""
    text = reading.decode(path, data)
    if not text.strip():
        raise UsageError(f"{path}: the prompt file is empty")
    claimed = _claimed(path)
    if claimed is not None:
        named = claimed.read_named(path, text)
        if named is not None:
            return named
    lower = path.lower()
    if lower.endswith(reading.DATA_SUFFIXES):
        doc = reading.safe_json(path, text) if lower.endswith(".json") else reading.safe_yaml(path, text)
        found = _from_document(path, doc)
        if found is None:
            raise _unsupported(path, "not a prompt file (no 'messages', no LangChain prompt template)")
        return (found,)
    if lower.endswith(reading.TEXT_SUFFIXES):
        found = _from_front_matter(path, text)
        return (found,) if found is not None else plain.read_text(path, text)
    return (_by_content(path, text),)


def _by_content(path: str, text: str) -> PromptTemplate:
    """A file whose name says nothing: a prompt only if its content is one of the formats."""
    found = _from_front_matter(path, text)
    if found is not None:
        return found
    if text.lstrip()[:1] in ("{", "["):
        try:
            found = _from_document(path, safe_load.load_json(text, unique_keys=True))
        except safe_load.Unparsable:
            found = None
        if found is not None:
            return found
    raise _unsupported(path, "not a prompt file format promptreview reads")


def load_prompt(path: str, data: bytes) -> PromptTemplate:
    """The one prompt of a prompt file (a multi-prompt file's first)."""
    return load_prompts(path, data)[0]
