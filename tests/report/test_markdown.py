"""The PR comment as a reviewer reads it: rendered with GitHub's own Markdown engine (cmark-gfm, with the
table, strikethrough, autolink and tagfilter extensions), and compared with golden files."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from promptreview.notes import note
from promptreview.report import markdown, render
from promptreview.report.document import Example, RateRow, Report, StratumRow
from tests.review_fixture import increase, regression, review

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("PROMPTREVIEW_UPDATE_GOLDEN") == "1"


def github_html(md: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(md, options=Options.CMARK_OPT_UNSAFE)


class Visible(HTMLParser):
    """The text a reader sees, by block (paragraphs, list items, cells, headings, summaries), code apart."""

    BLOCKS = {"p", "li", "td", "th", "h1", "h2", "h3", "h4", "summary", "pre", "blockquote"}

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[tuple[str, str]] = []
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.flush()
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.flush()
            if self.stack:
                self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def flush(self) -> None:
        text = "".join(self.text).strip()
        if text:
            self.blocks.append((self.stack[-1] if self.stack else "", text))
        self.text = []


def visible_blocks(md: str) -> list[tuple[str, str]]:
    parser = Visible()
    parser.feed(github_html(md))
    parser.flush()
    return parser.blocks


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed: PROMPTREVIEW_UPDATE_GOLDEN=1 to accept"


def test_markdown_golden():
    md = render(review(), "markdown")
    golden("review.md", md)
    golden("review.md.html", github_html(md))  # what GitHub's engine makes of it


def test_text_golden():
    golden("review.txt", render(review(), "text"))


def test_html_golden():
    golden("review.html", render(review(), "html"))


def test_first_line_names_the_verdict_and_the_biggest_change():
    first = visible_blocks(render(review(), "markdown"))[0]
    assert first[0] == "h2"
    assert "FAIL" in first[1] and "parse failure +12.1 pp [+8.7, +16.1]" in first[1]
    assert "triage.prompt.yml" in first[1]


def test_one_line_per_prompt_in_the_overview():
    html = github_html(render(review(), "markdown"))
    overview = html.split("</table>")[0]
    rows = re.findall(r"<tr>", overview)
    assert len(rows) == 1 + 5  # header + five prompts
    for word in ("modified", "added", "renamed", "removed", "inconclusive", "fail"):
        assert word in overview
    assert "refusal +6.7 pp [-2.0, +15.0]" in overview  # the warned prompt's biggest shift, with its CI


def test_no_escape_debris_and_no_sentence_twice():
    md = render(review(), "markdown")
    blocks = visible_blocks(md)
    for kind, text in blocks:
        if kind != "pre":
            assert not re.search(r"\\[!-/:-@\[-`{-~]", text), f"escape debris in {text!r}"
    sentences = [
        s.strip()
        for kind, text in blocks
        if kind not in ("pre", "td", "th")
        for s in re.split(r"(?<=[.!?])\s+|\n", text)
        if len(s.strip()) > 30
    ]
    twice = {s for s in sentences if sentences.count(s) > 1}
    assert not twice


def test_each_warning_once_and_the_model_once():
    md = render(review(), "markdown")
    visible = "\n".join(t for _, t in visible_blocks(md))
    assert visible.count("significant increase, estimated above the 2.0 pp margin") == 1
    assert visible.count("sim:triage-v1") == 1
    assert visible.count("simulated") == 1
    assert visible.count("inconclusive:") == 1  # the warning once (the overview's verdict says the word too)


def test_blank_line_after_every_details_block():
    md = render(review(), "markdown")
    for m in re.finditer(r"</details>\n", md):
        rest = md[m.end() :]
        assert rest == "" or rest.startswith("\n"), "Markdown after </details> would be swallowed"
    html = github_html(md)
    assert "\\'" not in html and "\\(" not in html


def test_examples_show_input_base_and_head_fenced():
    html = github_html(render(review(), "markdown"))
    assert "<pre><code>{&quot;category&quot;: &quot;account&quot;, &quot;priority&quot;" in html  # base
    assert "```json" in html  # the head output, verbatim in its fence
    assert "SSO login fails" in html
    # GitHub's mention and reference filters skip <pre> and <code>: quoted text stays verbatim there


def test_text_mode_rates_say_not_applicable():
    html = github_html(render(review(), "markdown"))
    assert re.search(r"<td>parse failure</td>\s*<td>n/a</td>", html)
    assert "too_long" in html  # an extra text-feature rate is shown too
    assert "mentions the order number" in html  # evaluator rows beside the rates


def test_strata_significant_first_rest_collapsed_and_a_chart():
    md = render(review(), "markdown")
    section = md.split("**Blast radius** of")[1]
    visible_table, collapsed = section.split("<details>", 1)
    assert "channel=chat" in visible_table and "channel=web" not in visible_table
    assert "channel=web" in collapsed.split("</details>")[0]
    chart = re.search(r"```mermaid\nxychart-beta\n(.*?)```", md, re.S)
    assert chart and 'x-axis ["chat", "email", "phone", "web"]' in chart.group(1)
    assert "bar [20.0, 10.0, 8.0, 6.0]" in chart.group(1)


def test_the_chart_names_a_stratum_by_its_value_read_from_the_row_not_cut_from_its_label():
    prompt = review().prompts[0]
    strata = list(prompt.strata)
    strata[0] = replace(strata[0], stratum={"plan": "a=b"}, label="plan=a=b")  # a value holding '='
    strata[1] = replace(strata[1], stratum={"channel": "(pooled)"}, label="other", pooled=True)
    strata[2] = replace(
        strata[2], stratum={"channel": "phone", "tier": "gold"}, label="channel=phone,tier=gold"
    )
    md = render(
        replace(review(), prompts=(replace(prompt, strata=tuple(strata)), *review().prompts[1:])), "markdown"
    )
    chart = re.search(r"```mermaid\nxychart-beta\n(.*?)```", md, re.S)
    assert chart and 'x-axis ["a=b", "other", "channel=phone,tier=gold", "web"]' in chart.group(1)


def test_p_value_note_and_reproduce_line():
    md = render(review(), "markdown")
    assert "one-sided p for an increase, Holm-adjusted" in md and "Benjamini-Hochberg" in md
    assert "```sh\npromptreview check --base 1111111111111111111111111111111111111111 --head 2222222" in md


def test_listed_prompts_do_not_contradict_the_top_line():
    only_removed = Report(
        verdict="skipped",
        prompts=(review().prompts[-1],),
        notes=(note("nothing_to_review"),),
    )
    visible = "\n".join(t for _, t in visible_blocks(render(only_removed, "markdown")))
    assert "nothing to review" not in visible and "removed" in visible
    passing = replace(review(), verdict="pass", prompts=(review().prompts[1],), warnings=())
    head = visible_blocks(render(passing, "markdown"))[0][1]
    assert "PASS, inconclusive" in head  # its one warning: a change above the margin, not significant


def test_a_twenty_prompt_review_fits_a_comment():
    long = "x" * 500
    example = Example("T1", "channel=chat", 0, "ok", "parse_failure", long, long, "not JSON", long)
    prompts = tuple(
        replace(regression(), path=f"prompts/p{i:02}.prompt.yml", examples=(example,) * 5) for i in range(20)
    )
    md = render(replace(review(), prompts=prompts, warnings=()), "markdown")
    assert len(md) < 65_536
    assert md.count("### ") == 20 and md.count("| parse failure |") == 20  # every prompt and its rates
    few = markdown.render(replace(review(), prompts=prompts[:2], warnings=()))
    assert few.count("**Base output**") == 10  # with room, every example, input, base and head
    assert "Examples omitted" not in few


@pytest.mark.parametrize("evil", ["<script>alert(1)</script>", "@admin #12 [x](https://evil)"])
def test_untrusted_text_stays_inert_after_rendering(evil):
    example = Example(evil, evil, 0, "ok", "refusal", evil, evil, evil, evil)
    prompt = replace(regression(), path=f"prompts/{evil}.yml", examples=(example,))
    html = github_html(render(replace(review(), prompts=(prompt,)), "markdown"))
    assert "<script" not in html and 'href="https://evil' not in html


def test_two_prompts_on_one_suite_repeat_no_sentence():
    """Two regressions reviewed on the same suite and sample: their own lines name them, the shared ones
    (model, weighting, p-values, reproduce) are said once."""
    first = regression()
    second = replace(
        regression(),
        path="prompts/summarise.prompt.yml",
        rates={**first.rates, "parse_failure": replace(first.rates["parse_failure"], delta=0.08, head=0.08)},
        warnings=(increase("parse_failure", 0.0, 0.08, 0.002),),
        examples=(),
        distribution_shift=(),
        flip_rate=None,
    )
    md = render(replace(review(), prompts=(first, second), warnings=()), "markdown")
    sentences = [
        s.strip()
        for kind, text in visible_blocks(md)
        if kind not in ("pre", "td", "th")
        for s in re.split(r"(?<=[.!?])\s+|\n", text)
        if len(s.strip()) > 15
    ]
    assert not {s for s in sentences if sentences.count(s) > 1}


def test_an_added_prompts_examples_have_no_empty_base_block():
    report = review()
    added = report.prompts[2]
    example = Example(
        "t1", "channel=web", 0, None, "parse_failure", '{"ticket": "x"}', "not json", "not JSON"
    )
    report = replace(report, prompts=(replace(added, examples=(example,), verdict="fail"),))
    for fmt in ("markdown", "text", "html"):
        page = render(report, fmt)
        assert "no base side" not in page and "not json" in page, fmt
    assert "**Base output**" not in render(report, "markdown")


def test_a_failing_comment_says_why_answers_did_not_parse_and_what_fixes_each():
    report = review()
    failing = replace(report.prompts[0], parse_failure_kinds={"truncated": 30, "fenced": 14})
    md = render(replace(report, prompts=(failing,)), "markdown")
    section = md.split("did not parse**")[1]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:3]
    assert "cut off at max_tokens | 30 | raise `max_tokens`" in rows[0]
    assert "14 | ask for bare JSON, or set `parsing: {allow_fenced: true}`" in rows[1]
    html = github_html(md)
    assert "<code>parsing: {allow_fenced: true}</code>" in html  # the remedy's setting renders as code
    passing = replace(failing, verdict="pass")
    assert "did not parse" not in render(replace(report, prompts=(passing,)), "markdown")


def test_the_raw_comment_reads_as_plain_text():
    """E-mail notifications and API readers see the Markdown source: no backslash where GitHub needs none."""
    md = render(review(), "markdown")
    first = md.splitlines()[0]
    assert first.endswith(
        "FAIL: regression · parse failure +12.1 pp [+8.7, +16.1] in <code>prompts/triage.prompt.yml</code>"
    )
    assert "**Model:** sim:triage-v1 (simulated: promptreview's embedded model, not a real LLM)" in md
    assert md.count("\\") < 10


def test_an_added_prompt_is_told_as_new_not_as_a_regression():
    report = review()
    added = report.prompts[2]
    stratum = StratumRow({"channel": "web"}, "channel=web", 20, 80, {"parse_failure": RateRow(None, 0.102)})
    example = Example(
        "t1", "channel=web", 0, None, "parse_failure", '{"ticket": "x"}', "not json", "not JSON"
    )
    failing = replace(added, verdict="fail", strata=(stratum,), examples=(example,))
    md = render(replace(report, prompts=(failing,)), "markdown")
    assert "FAIL: a new prompt is above its ceiling" in md.splitlines()[0] and "regression" not in md
    assert "| channel=web | 20 | 10.2% (new) |" in md and "– (–" not in md
    assert "Answers that failed in" in md and "Examples that broke" not in md
    assert "**Input** <code>t1</code> (channel=web), sample 0: **parse_failure**" in md


@pytest.mark.parametrize("evil", ["<script>alert(1)</script>", "@admin #12 [x](https://evil)"])
def test_a_servers_provenance_stays_inert_in_the_comment(evil):
    """Served ids and fingerprints come from the provider's answers: data, like any model output."""
    from promptreview.report.document import SideProvenance

    mixed = SideProvenance({evil: 3, "gpt-4o-2024-08-06": 1}, {evil: 2, "fp_b": 2}, 1.0, 9.0, 4)
    prompt = replace(regression(), provenance={"base": mixed, "head": mixed})
    md = render(replace(review(), prompts=(prompt,)), "markdown")
    assert "served: base" in md
    html = github_html(md)
    assert "<script" not in html and 'href="https://evil' not in html


def test_a_review_of_commits_with_a_manifest_says_how_to_verify_it_later():
    """The comment's tail: the reproduce line, then how to check the verdict later from the record artifact
    with no model call; a report without a manifest (a verdict-only report, `compare`) says nothing of it."""
    from promptreview.report import markdown
    from promptreview.report.document import Manifest, ReplaySpec, Report, Rerun
    from promptreview.verdicts import ReviewVerdict

    spec = ReplaySpec("check", "a" * 40, "b" * 40, "promptreview.yml", None)
    made = Manifest("1.0", None, False, None, None, spec, (), 0, "0" * 64)
    report = Report(verdict=ReviewVerdict.PASS, rerun=Rerun("check", "a" * 40, "b" * 40), manifest=made)
    text = markdown.render(report)
    assert "```sh\npromptreview verify report.json --cache-only\n```" in text
    assert "the Action's `promptreview-record` artifact holds both" in text
    assert text.index("Reproduce locally") < text.index("promptreview verify")
    assert "promptreview verify" not in markdown.render(replace(report, manifest=None))
    compared = replace(made, review=replace(spec, command="compare"))
    assert "promptreview verify" not in markdown.render(replace(report, manifest=compared))


def test_a_migration_or_a_drift_run_says_how_to_verify_it_but_not_from_the_actions_artifact():
    """verify replays them now; the scheduled workflow keeps no record artifact, so no word of it there."""
    from promptreview.report import markdown
    from promptreview.report.document import Manifest, ReplaySpec, Report, Rerun
    from promptreview.verdicts import ReviewVerdict

    for command in ("migrate", "drift"):
        spec = ReplaySpec(command, "a" * 40, "a" * 40, "promptreview.yml", None)  # type: ignore[arg-type]
        made = Manifest("1.0", None, False, None, None, spec, (), 0, "0" * 64)
        report = Report(verdict=ReviewVerdict.PASS, rerun=Rerun(command, "a" * 40), manifest=made)  # type: ignore[arg-type]
        text = markdown.render(report)
        assert "```sh\npromptreview verify report.json --cache-only\n```" in text
        assert "artifact" not in text
