"""Make untrusted text (model outputs, suite inputs, file names from a PR) inert in Markdown."""

from __future__ import annotations

import html
import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def escape_md(text: str, limit: int | None = 200) -> str:
    """Escape `text` for inline use in GitHub-flavoured Markdown (tables included)."""
    text = str(text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    text = " ".join(text.split())  # newlines would break tables
    text = html.escape(text, quote=True)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # neutralise @mentions and #123 references: a zero-width joiner stops GitHub linking them
    text = text.replace("@", "@\u2060")
    return text
