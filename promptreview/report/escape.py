"""Make untrusted text (model outputs, suite inputs, file names from a PR) inert in GitHub Markdown.

GitHub renders a comment in two passes: CommonMark + GFM (tables, autolinks, strikethrough, math, HTML),
then its own reference filters on the resulting text (`@user` mentions that notify, `#123`, `GH-123`,
`owner/repo#123` and issue URLs that create cross-references). Backslash escapes defeat the first pass but
not the second (an escaped `\\#123` still renders as the text "#123", which GitHub then links), so the
reference-like sequences also get a WORD JOINER (U+2060) that breaks the filters' patterns while staying
invisible to a reader.

- `escape_md(text, limit)`: inline text (paragraphs, list items, table cells).
- `code_span(text, limit)`: inline monospace; `<code>` + escaped text, because inside backticks
  backslash escapes are shown literally and a backtick in the text would end the span.
- `code_block(text, limit)`: a fenced block for multi-line output, with a fence no line can close.
- `escape_html(text, limit)`: inside raw HTML (e.g. a `<summary>` line), where Markdown is not parsed.
"""

from __future__ import annotations

import html
import re

JOINER = "\u2060"  # WORD JOINER: zero width, no line break, not whitespace
ELLIPSIS = "…"

# Only what GitHub's renderer would read as markup is escaped, so the raw comment (read in e-mail, by the API, by
# scripts) stays readable: `+8.3 pp [+4.4, +12.9]` is left as it is. The characters that open inline markup
# anywhere: code, emphasis, strikethrough, math, table cells, and the backslash itself.
_ALWAYS = re.compile(r"([\\`*~|$])")
# `_` opens or closes emphasis only at a word's edge: `expected_decision` stays as it is, `_x_` does not
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# `<` before a tag, a closing tag, a comment or an autolink; `&` before an entity
_HTML = re.compile(r"<(?=[A-Za-z/!?])|&(?=#|[A-Za-z][A-Za-z0-9]*;)")
# `]` that would close a link, an image or a reference definition: `[text](url)`, `[text][ref]`, `[ref]: url`
_LINK_CLOSE = re.compile(r"\](?=[(\[:])")
# what opens a block when the text starts a line or a list item: a heading, a quote, a list item (`- x`, `1. x`,
# but not `-65.6` or `+8.3`), a thematic break (`---`), a task box or a link reference definition
_BLOCK_START = re.compile(r"^(?:[#>\[]|[-+](?![0-9])|\d{1,9}(?=[.)]))")
# C0/C1 controls except tab/newline, and bidirectional overrides (right-to-left trickery)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\ufeff]")
# Sequences GitHub's post-render filters turn into links, mentions or cross-references
_REFERENCE = [
    re.compile(r"@(?=[A-Za-z0-9])"),  # @user, @org/team
    re.compile(r"#(?=[0-9])"),  # #123, owner/repo#123
    re.compile(r"(?i)\b(gh)-(?=[0-9])"),  # GH-123
    re.compile(r"(?i)\b(https?|ftp|mailto|file|data|javascript)(?=:)"),  # scheme:… (autolinks, issue URLs)
    re.compile(r"(?i)\b(www)(?=\.)"),  # www.example.com (GFM extended autolink)
]


def _clean(text: object) -> str:
    text = str(text)
    text = _CONTROL.sub("", text)
    return text


def _cut(text: str, limit: int | None) -> str:
    if limit is not None and len(text) > limit:
        return text[: max(limit - 1, 0)].rstrip() + ELLIPSIS
    return text


def _break_references(text: str) -> str:
    """Insert a WORD JOINER where GitHub would otherwise mention, link or cross-reference."""
    for pattern in _REFERENCE:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + JOINER, text)
        else:
            text = pattern.sub(lambda m: m.group(0) + JOINER, text)
    return text


def escape_md(text: object, limit: int | None = 200) -> str:
    """Escape `text` for inline GitHub Markdown (tables included): one line, nothing interpreted.

    Whitespace runs (newlines included, which would end a table row or start a block) collapse to one
    space; the result is cut to `limit` characters of visible text (None: no limit) with an ellipsis.
    """
    text = " ".join(_clean(text).split())
    text = _cut(text, limit)
    text = _break_references(text)
    return _escape_markup(text)


def _escape_markup(text: str) -> str:
    text = _ALWAYS.sub(r"\\\1", text)
    text = _UNDERSCORE.sub(r"\\_", text)
    text = _HTML.sub(lambda m: "\\" + m.group(0), text)
    text = _LINK_CLOSE.sub(r"\\]", text)
    start = _BLOCK_START.match(text)
    if start is None:
        return text
    if start.group(0)[0].isdigit():  # `1.` or `1)`: the delimiter after the number is what makes a list
        return start.group(0) + "\\" + text[start.end() :]
    return "\\" + text


def code_span(text: object, limit: int | None = 200) -> str:
    """Inline monospace for untrusted text: `<code>` keeps Markdown escapes working, unlike backticks."""
    return f"<code>{escape_md(text, limit)}</code>"


def escape_html(text: object, limit: int | None = 200) -> str:
    """Escape for raw HTML context (inside an HTML block Markdown is not parsed): entities, one line."""
    text = " ".join(_clean(text).split())
    text = _cut(text, limit)
    text = _break_references(text)
    return html.escape(text, quote=True)


def code_block(text: object, limit: int | None = 2000, lang: str = "") -> str:
    """A fenced code block holding `text` verbatim (multi-line); nothing in it renders or notifies.

    The fence is one backtick longer than the longest backtick run in the text, so no line can close it.
    `lang` must be a plain word (it is not untrusted input).
    """
    body = _clean(str(text).replace("\r\n", "\n").replace("\r", "\n"))
    body = _cut(body, limit)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    if not re.fullmatch(r"[A-Za-z0-9_+-]*", lang):
        lang = ""
    return f"{fence}{lang}\n{body}\n{fence}"


def unescape_md(text: str) -> str:
    """The visible text of `escape_md` output (for tests and for measuring): drops escapes and joiners."""
    return re.sub(r"\\(.)", r"\1", text).replace(JOINER, "")


_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def quote_block(text: object, limit: int | None = 2000) -> str:
    """A fenced block quoting untrusted text (an input, a model's output) for a reader, not for copying.

    Like `code_block`, plus a WORD JOINER after `@`, `#` before a digit, link schemes and `<` before a tag
    name: GitHub already leaves code alone, but the raw comment (read by scripts, mail notifications and
    other renderers) then holds no mention, reference or tag either. The JSON report keeps the exact text.
    """
    body = _break_references(_clean(str(text).replace("\r\n", "\n").replace("\r", "\n")))
    return code_block(_TAG_START.sub("<" + JOINER, body), limit)
