"""VS Code prompt files (`.prompt.md`, GitHub Copilot Chat's reusable prompts): front matter (`mode`/`agent`,
`model`, `tools`, `description`, ...), then a Markdown body that Copilot sends as the user's request.

The body is reviewed as one user message. Its variables are VS Code's: `${input:name}` and
`${input:name:placeholder}` are the suite column `name`; the editor's own (`${selection}`, `${file}`,
`${workspaceFolder}`, ...) are the suite columns of those names. What Copilot adds around the body (its own
system prompt, the chat context, the `tools`) is not in the file and not in the review; a warning says so.
A `.prompt.md` whose front matter or body is Dotprompt's stays Dotprompt's (`formats/dotprompt.py`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from promptreview.errors import UsageError
from promptreview.notes import note
from promptreview.sources.formats.base import Files
from promptreview.sources.template import Engine, PromptTemplate, TemplateProblem

KEYS = frozenset({"mode", "agent", "model", "tools", "description", "name", "argument-hint", "applyTo"})
_VARIABLE = re.compile(r"\$\{(?:input:([A-Za-z_][\w-]*)(?::[^}]*)?|([A-Za-z_]\w*))\}")


def looks_like(path: str, meta: Any, body: str) -> bool:
    """A `.prompt.md` that is VS Code's: its front matter has only VS Code's keys and its body no Handlebars,
    or its body has VS Code's `${input:...}` variables."""
    if "${input:" in body:
        return True
    if not path.lower().endswith(".prompt.md"):
        return False
    keys = set(meta) if isinstance(meta, dict) else set()
    return keys <= KEYS and "{{" not in body


def _name(match: re.Match[str]) -> str:
    return match.group(1) or match.group(2)


def render_vscode(source: str, values: Mapping[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = _name(match)
        if name not in values:
            raise TemplateProblem(f"'{name}' is undefined")
        value = values[name]
        return "" if value is None else str(value)

    return _VARIABLE.sub(fill, source)


def vscode_variables(source: str) -> set[str]:
    return {_name(m) for m in _VARIABLE.finditer(source)}


VSCODE = Engine("vscode", render_vscode, vscode_variables)


def read(path: str, meta: Any, body: str) -> PromptTemplate:
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise UsageError(f"{path}: the front matter must be a YAML mapping")
    if not body.strip():
        raise UsageError(f"{path}: a VS Code prompt file with no body has nothing to send")
    tools = meta.get("tools")
    tool_names = ", ".join(str(t) for t in tools) if isinstance(tools, list) else ""
    model = meta.get("model")
    warnings = (note("editor_prompt", path, mode=str(meta.get("mode") or meta.get("agent") or "ask"),
                     tools=tool_names),)  # fmt: skip
    return PromptTemplate(
        path=path,
        messages=(("user", body.strip()),),
        engine=VSCODE,
        warnings=warnings,
        format="vscode",
        # VS Code names models as its model picker shows them ("GPT-4o"), not as an API does: a model no
        # provider of ours serves, which the config's `models_map` can stand in for (the planner says so)
        model_named=str(model) if model is not None else None,
    )


# -- the registry's interface (formats.base.PromptFormat) ---------------------------------------------------

NAME = "vscode"
SUFFIXES: tuple[str, ...] = ()  # `.prompt.md` is Dotprompt's name too: told by the front matter and body


def read_named(path: str, text: str, files: Files) -> tuple[PromptTemplate, ...] | None:
    return None


def read_document(path: str, doc: Any) -> PromptTemplate | None:
    return None


def read_front_matter(path: str, meta: Any, body: str) -> PromptTemplate | None:
    return read(path, meta, body) if looks_like(path, meta, body) else None
