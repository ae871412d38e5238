"""Untrusted text quoted in a comment stays inert: nothing renders, links, pings or breaks a table."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from promptreview.report.escape import JOINER, code_block, code_span, escape_html, escape_md, unescape_md

ATTACKS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "<details open><summary>x</summary>",
    "![tracker](https://evil.example/p.gif)",
    "[click me](https://evil.example)",
    "[ref]: https://evil.example",
    "<https://evil.example>",
    "https://github.com/owner/repo/issues/1",
    "www.evil.example",
    "mail me: someone@example.com",
    "| a | b |\n|---|---|\n| c | d |",
    "```\ncode\n```",
    "`inline`",
    "**bold** _it_ ~~strike~~ $x^2$ $$y$$",
    "# heading",
    "- list\n1. item\n> quote",
    "hello @octocat and @github/security",
    "fixes #123, GH-45 and other/repo#9",
    "&#64;octocat &lt;b&gt; &amp;",
    "line one\nline two\r\nline three",
    "tab\there",
    "[^1] footnote and :smile: and [ ] task",
    "\u202eevil\u202c bidi and \x00nul\x07bell",
    "\\*already escaped\\*",
]


def _visible(text: str) -> str:
    return unescape_md(text)


def _gfm(md: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(md, options=Options.CMARK_OPT_UNSAFE)


class _Rendered(HTMLParser):
    """The tags GitHub's engine made and the text a reader sees."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _rendered(md: str) -> tuple[set[str], str]:
    parser = _Rendered()
    parser.feed(_gfm(md))
    return set(parser.tags), " ".join("".join(parser.text).split())


# each place the comment puts inline text, with the tags the place itself makes
CONTEXTS = {
    "paragraph": ("{}", {"p"}),
    "list item": ("- {}", {"ul", "li"}),
    "ordered item": ("1. {}", {"ol", "li"}),
    "quote": ("> {}", {"blockquote", "p"}),
    "heading": ("### {}", {"h3"}),
    "table cell": ("| a | b |\n|---|---|\n| {} | x |", {"table", "thead", "tbody", "tr", "th", "td"}),
    "code tag": ("<code>{}</code>", {"p", "code"}),
}
MORE_ATTACKS = [
    "---",
    "- [ ] task",
    "[x]: https://evil.example",
    "1) item",
    "+ plus item",
    "_emph_ and __strong__ and *a* and x_y_z",
    "&amp; &#64; &copy;",
    "a < b > c and <!-- comment -->",
    "$x$ and $$",
    "\\(x\\)",
    ":smile: ~x~",
]


@pytest.mark.parametrize("place", sorted(CONTEXTS))
@pytest.mark.parametrize("attack", ATTACKS + MORE_ATTACKS)
def test_nothing_renders_as_markup_in_githubs_engine(attack, place):
    """Rendered by cmark-gfm (GitHub's engine, its extensions on): the place's own tags only, and the reader
    sees the text itself (whitespace collapsed, controls dropped)."""
    template, own = CONTEXTS[place]
    tags, text = _rendered(template.format(escape_md(attack, None)))
    assert tags <= own, f"{attack!r} in a {place} made {sorted(tags - own)}"
    expected = " ".join(_visible(escape_md(attack, None)).split())
    if place == "table cell":
        text = text.removeprefix("a b ").removesuffix(" x")
    assert text.replace(JOINER, "") == expected.replace(JOINER, "")


@pytest.mark.parametrize(
    "text",
    [
        "FAIL: regression · parse failure +8.3 pp [+4.4, +12.9]",
        "decision = expected_decision 92.3% → 75.7% (-16.7 pp, adjusted p = 0.0005)",
        "sim:moderation-v1 (simulated: promptreview's embedded model, not a real LLM)",
        "-65.6 pp [-78.8, -50.7]",
    ],
)
def test_plain_words_stay_as_they_are(text):
    """Only what the renderer would read as markup is escaped: e-mail and API readers see the raw text."""
    assert escape_md(text, None) == text


@pytest.mark.parametrize("attack", ATTACKS)
def test_one_line_no_html_no_controls(attack):
    out = escape_md(attack, None)
    assert "\n" not in out and "\r" not in out and "\t" not in out
    assert not re.search(r"(?<!\\)<[A-Za-z/!?]", out)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\u202a-\u202e]", out)


def test_visible_text_is_preserved():
    text = "Refund #123 for @bob: <b>*now*</b> | 50% off [promo](x)"
    assert _visible(escape_md(text, None)) == text


def test_mentions_and_references_cannot_match_githubs_patterns():
    out = escape_md("hi @octocat, @org/team, fixes #12, GH-7, o/r#3", None)
    plain = re.sub(r"\\(.)", r"\1", out)  # what GitHub's reference filters see after rendering
    assert not re.search(r"@[A-Za-z0-9]", plain)
    assert not re.search(r"#[0-9]", plain)
    assert not re.search(r"(?i)gh-[0-9]", plain)


def test_urls_do_not_autolink():
    for text in ("see https://evil.example/x", "www.evil.example", "ftp://x.y", "mailto:a@b.c"):
        plain = re.sub(r"\\(.)", r"\1", escape_md(text, None))
        assert not re.search(r"(?i)(https?|ftp|mailto):", plain)
        assert not re.search(r"(?i)\bwww\.", plain)


def test_table_cell_stays_one_cell():
    cell = escape_md("a | b | c\nd", 100)
    row = f"| {cell} | next |"
    unescaped_pipes = re.findall(r"(?<!\\)\|", row)
    assert len(unescaped_pipes) == 3  # the row's own three pipes only


def test_limit_counts_visible_characters_and_adds_ellipsis():
    text = "word " * 1000
    out = escape_md(text, 50)
    assert len(_visible(out)) <= 50
    assert out.endswith("…")
    assert escape_md("short", 50) == "short"
    long_token = "x" * 100_000
    assert len(escape_md(long_token, 300)) <= 300


def test_code_span_uses_code_tag_so_escapes_render():
    out = code_span("a`b|c<d>@e", 100)
    assert out.startswith("<code>") and out.endswith("</code>")
    inner = out[len("<code>") : -len("</code>")]
    assert "`" not in inner.replace("\\`", "")
    assert _visible(inner) == "a`b|c<d>@e"


def test_code_block_fence_cannot_be_closed_from_inside():
    text = "before\n```\nnot the end\n````\nstill inside"
    block = code_block(text)
    fence = block.split("\n", 1)[0]
    assert set(fence) == {"`"} and len(fence) == 5
    body_lines = block.split("\n")[1:-1]
    assert all(not (set(line.strip()) == {"`"} and len(line.strip()) >= len(fence)) for line in body_lines)
    assert block.endswith("\n" + fence)


def test_code_block_drops_controls_and_ignores_bad_language():
    block = code_block("x\x00y\u202ez", lang="json\n<script>")
    assert block.startswith("```\n")
    assert "\x00" not in block and "\u202e" not in block


def test_escape_html_for_raw_html_context():
    out = escape_html('<b onclick="x">@bob & #1</b>', 200)
    assert "<" not in out and ">" not in out and '"' not in out
    assert "&amp;" in out and "@\u2060bob" in out and "#\u20601" in out


def test_non_strings_are_accepted():
    assert escape_md(12.5) == "12\\.5"
    assert escape_md(None) == "None"
