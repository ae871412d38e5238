"""The HTML report: one self-contained file (no external request), charts, coloured gates, collapsible strata,
side-by-side examples, readable on a phone."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from promptreview.report import render
from tests.review_fixture import review


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(page)
    return parser.tags


def test_the_page_fetches_nothing():
    page = render(review(), "html")
    for tag, attrs in tags(page):
        assert tag not in ("script", "link", "img", "iframe", "object", "embed"), tag
        for name in ("src", "href", "xlink:href", "action", "data"):
            assert not (attrs.get(name) or "").strip(), f"<{tag} {name}=...>"
    assert not re.search(r"(?i)url\(|@import|https?://", page)


def test_charts_gates_strata_and_examples():
    page = render(review(), "html")
    assert page.count("<svg") >= 4  # rates (two prompts), per-stratum change, a categorical distribution
    assert '<td class="g-fail">fail</td>' in page and '<td class="g-pass">pass</td>' in page
    assert "<details><summary>3 strata without a significant change</summary>" in page
    assert "channel=web" in page.split("3 strata without a significant change")[1]
    assert "<h4>category: base → head</h4>" in page and "shipping" in page
    example = page.split('<div class="example">')[1]
    assert "<h4>input</h4>" in example and "<h4>base output (ok)</h4>" in example
    assert (
        "<h4>head output (parse_failure)</h4>" in example
        and "&quot;priority&quot;: &quot;medium&quot;" in example
    )


def test_readable_on_a_phone_and_says_what_the_comment_says():
    page = render(review(), "html")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "@media (max-width:640px)" in page
    assert "sim:triage-v1" in page and page.count("simulated") == 1
    assert "n/a" in page and "mentions the order number" in page
    assert "promptreview check --base 1111111111111111111111111111111111111111" in page
    assert "Holm-adjusted" in page


def test_untrusted_text_is_escaped():
    from dataclasses import replace

    evil = "<script>alert(1)</script><img src=x onerror=alert(1)>"
    base = review()
    prompt = replace(base.prompts[0], path=evil)
    page = render(replace(base, prompts=(prompt,)), "html")
    assert "<script>" not in page and "<img" not in page and "&lt;script&gt;" in page


def test_tied_categories_keep_one_order_whatever_the_hash_seed():
    """Categories with equal shares are listed in one order in every run: string hashing is seeded per
    process, so an order taken from a set differed between two runs of the same review."""
    import subprocess
    import sys

    snippet = (
        "from promptreview.report import charts, html, wording\n"
        "from promptreview.report.document import ShiftRow\n"
        "labels = ['billing', 'account', 'technical', 'shipping', 'other', 'login', 'refund', 'legal']\n"
        "base = {k: 10 for k in labels}\n"
        "head = {k: 10 for k in reversed(labels)}\n"
        "s = ShiftRow('category', 'categorical', 'chi-square', 1.0, 0.5, base, head)\n"
        "print(charts.distribution_chart({k: 0.125 for k in labels}, {k: 0.125 for k in labels}, 't'))\n"
        "print(html._distribution(s))\n"
        "print(wording.category_moves(s, limit=8))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", snippet],
            env={**__import__("os").environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (1, 2, 3, 4)
    }
    assert len(outputs) == 1


def test_the_verdict_is_the_first_column_so_a_phone_shows_it():
    """At 390 px a long path would push a later column behind the table's scroll."""
    page = render(review(), "html")
    summary = page.split("<table>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", summary)
    assert re.match(r"<th>verdict</th>", rows[0])
    assert all(re.match(r'<td class="g-\w+">', row) or row.startswith("<td>") for row in rows[1:])
    first_cells = [re.match(r"<td[^>]*>([^<]*)</td>", row).group(1) for row in rows[1:]]
    assert first_cells == ["fail", "inconclusive", "pass", "not run", "not run"]


def test_the_page_shows_provenance_and_the_cold_start_beside_the_cost_as_text_and_markdown_do():
    from dataclasses import replace

    from promptreview.notes import note
    from promptreview.report.document import ColdStart, SideProvenance

    report = review()
    first = report.prompts[0]
    changed = note(
        "model_changed_during_review",
        "head",
        what="fingerprint",
        values=(("fp_a", 83, 1.0e9, 1.0e9 + 60), ("fp_<b>", 37, 1.0e9 + 62, 1.0e9 + 90)),
        answers=120,
    )
    first = replace(
        first,
        warnings=(*first.warnings, changed),
        provenance={
            "base": SideProvenance({"gpt-4o": 120}, {"fp_a": 120}, answers=120),
            "head": SideProvenance({"gpt-4o": 120}, {"fp_a": 83, "fp_<b>": 37}, answers=120),
        },
        cold_start=ColdStart("openai:a", "openai:b", 0.64, 1000.0, 12, 0.0096, 0.0001),
    )
    report = replace(report, prompts=(first, *report.prompts[1:]))
    page = render(report, "html")
    for fmt in ("text", "markdown"):  # what the other formats say, the page says too
        assert "served: base gpt-4o ×120" in render(report, fmt)
    assert "served: base gpt-4o ×120; fingerprint fp_a ×120 | head gpt-4o ×120; fingerprints fp_a ×83" in page
    assert "fp_&lt;b&gt; ×37" in page and "fp_<b>" not in page  # provider text is escaped
    assert "prompt-cache cold start on openai:b: 64% of the base side&#x27;s input tokens" in page
    assert "the model changed during the review (head side): fingerprint fp_a until" in page
