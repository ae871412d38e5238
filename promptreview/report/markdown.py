"""The Markdown report (PR comment, job summary), read the way a reviewer reads a pull request.

Order: the verdict with the single biggest change; one line per prompt; the model once; then per prompt its
warnings (once), rates, evaluators, the shifts that matter, the blast radius by stratum (significant strata
first, the rest collapsed), a chart of the failed gate per stratum and examples (input, base output, head
output); last, how to read the p-values and how to reproduce the review locally.

Every untrusted string goes through `report.escape` (`escape_md` in text and tables, `escape_html` inside raw
HTML such as `<summary>`, `code_block` for outputs). Every raw HTML block stands between blank lines, so
GitHub never swallows the Markdown after it.
"""

from __future__ import annotations

import re

from promptreview.report.document import Example, PromptReport, Report, StratumRow
from promptreview.report.escape import code_block, code_span, escape_html, escape_md, quote_block
from promptreview.report.notes import warning_words, words
from promptreview.report.quality import (
    EVALUATOR_HEADERS,
    QUALITY_P_NOTE,
    evaluator_cells,
    example_lines,
    judge_line,
    note_line,
    strata_line,
)
from promptreview.report.wording import (
    P_VALUE_NOTE,
    PARSE_FAILURE_HEADERS,
    RATE_HEADERS,
    RATE_LABELS,
    RECORD_ARTIFACT,
    SHIFT_HEADERS,
    SUMMARY_HEADERS,
    WEIGHTED_WORDS,
    batched_line,
    change_word,
    cold_start_line,
    command_of,
    cost_line,
    examples_title,
    failed_gate,
    flip_sentence,
    headline_icon_key,
    headline_word,
    important_shifts,
    model_line,
    ordered_warnings,
    parse_failure_table,
    prompt_notes,
    provenance_line,
    rate_table,
    reproduce_command,
    review_notes,
    review_warnings,
    sample_size,
    shift_cells,
    shift_sentence,
    side_names,
    sided,
    strata_split,
    stratum_cells_for,
    stratum_headers_for,
    summary_cells,
    title,
    top_change,
    verdict_key,
    verify_command,
)

ICONS = {
    "pass": "✅",
    "fail": "❌",
    "warn": "⚠️",
    "error": "🛑",
    "skipped": "⏭️",
    "not run": "⏭️",
    "inconclusive": "❔",
}
CHART_STRATA = 12  # a chart with more bars is unreadable; the table has them all


def _table(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _untrusted_first(cells: list[str]) -> list[str]:
    return [escape_md(cells[0], 80), *cells[1:]]


def _details(summary: str, body: list[str]) -> list[str]:
    """A collapsed block; blank lines around every tag, so the Markdown inside and after it renders."""
    return ["", f"<details><summary>{escape_html(summary, 200)}</summary>", "", *body, "", "</details>", ""]


def headline(report: Report) -> str:
    key = headline_icon_key(report)
    line = f"## {ICONS.get(key, '')} promptreview: {escape_md(headline_word(report), None)}"
    top = top_change(report)
    if top is not None and report.error is None:
        p, change = top
        line += f" · {escape_md(change, None)} in {code_span(_short(title(p)), None)}"
    return line


def _short(path: str) -> str:
    return path.rsplit("/", 1)[-1] if len(path) > 60 else path


BUDGET = 60_000  # GitHub's comment limit is 65,536 characters; the footer and banners need the rest
DETAIL_LEVELS = ((5, 400), (3, 300), (2, 240), (1, 200), (0, 0))  # examples per prompt, chars per quote


def render(report: Report, examples: bool = True, html_link: str | None = None) -> str:
    """The full report; `examples=False` drops the quoted outputs (used to fit GitHub's comment limit).

    Examples are many and long only while the whole report stays within `BUDGET`: with many prompts each
    shows fewer and shorter ones. `html_link`: where the HTML report is (the run's artifact)."""
    text = ""
    for level in DETAIL_LEVELS if examples else ((0, 0),):
        text = _render(report, level, html_link)
        if len(text) <= BUDGET:
            break
    return text


def _render(report: Report, level: tuple[int, int], html_link: str | None) -> str:
    if report.forecast is not None:  # `--plan`: what would run, the terminal's words in a block
        from promptreview.report import text

        return "## promptreview plan\n\n" + code_block(text.render(report).rstrip("\n"), None) + "\n"
    lines = [headline(report), ""]
    if report.error is not None:  # no review to show: why there is no verdict (may quote untrusted text)
        return "\n".join([*lines, code_block(report.error)]) + "\n"
    if report.prompts:
        rows = [summary_cells(p, report.alpha, command_of(report)) for p in report.prompts]
        for row in rows:
            row[0] = code_span(row[0], 100)
            row[2] = f"{ICONS.get(row[2], '')} {row[2]}"
            row[3] = escape_md(row[3], None)
        lines += [_table(SUMMARY_HEADERS, rows), ""]
    lines.append(f"**Model:** {escape_md(model_line(report), 400)}")
    if html_link:
        lines.append(f"**Full report:** [HTML report with charts]({html_link}) (in the run's artifacts)")
    lines.append("")
    for w in review_warnings(report):
        lines += ["> [!WARNING]", f"> {escape_md(warning_words(w), 500)}", ""]
    for n in review_notes(report):
        lines += [f"_{escape_md(words(n), 500)}_", ""]
    if any(p.weighted for p in report.prompts):  # said once, not once per prompt
        lines += [f"_{WEIGHTED_WORDS}._", ""]
    if not level[0] and any(p.examples for p in report.prompts):
        lines += ["_Examples are left out to fit the comment: the HTML and JSON reports have them._", ""]
    for p in report.prompts:
        lines += _prompt(p, report, level)
    tail = []
    if any(p.rates for p in report.prompts):
        tail.append(f"<sub>{P_VALUE_NOTE}</sub>")  # our own words: nothing to escape
    if any(p.evaluators for p in report.prompts):
        tail.append(f"<sub>{QUALITY_P_NOTE}.</sub>")
    command = reproduce_command(report)
    if command:
        tail.append("Reproduce locally:\n\n" + code_block(command, None, "sh"))
    verify = verify_command(report)
    if verify:
        tail.append(
            "Verify this verdict later with no model call, from report.json and the response cache that answered "
            + (
                f"it (in CI the Action's `{RECORD_ARTIFACT}` artifact holds both):\n\n"
                if report.rerun is None or report.rerun.command == "check"
                else "it:\n\n"
            )
            + code_block(verify, None, "sh")
        )
    if tail:
        lines += ["", "---", "", *(t + "\n" for t in tail)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _prompt(p: PromptReport, report: Report, level: tuple[int, int]) -> list[str]:
    alpha = report.alpha
    word = verdict_key(p)
    lines = [
        "",
        f"### {ICONS.get(word, '')} {code_span(title(p), None)} ({change_word(p, command_of(report))}): {word.upper()}",
        "",
    ]
    if p.change == "removed" or not p.rates:
        return lines + [f"- {escape_md(words(n), 500)}" for n in (*p.notes, *p.warnings)] + [""]
    # each prompt's own lines name it, so two prompts with the same suite never repeat a sentence
    name = code_span(_short(title(p)), None)
    size = sample_size(p)
    lines += [
        f"{name}: {size} from {code_span(p.suite or '', None)}" + (" (weighted)" if p.weighted else ""),
        "",
    ]
    if p.warnings:
        kind = "CAUTION" if p.verdict in ("fail", "error") else "WARNING"
        lines += [f"> [!{kind}]", *(f"> - {escape_md(words(w), 500)}" for w in ordered_warnings(p)), ""]
    sides = side_names(report)
    lines += [_table(sided(RATE_HEADERS, sides), [_untrusted_first(c) for c in rate_table(p)]), ""]
    lines += _parse_failures(p, name)
    lines += _quality(p, level, sides)
    lines += _shifts(p, alpha, name, sides)
    lines += _strata(p, alpha, name)
    count, chars = level
    if count and p.examples:
        body: list[str] = []
        for e in p.examples[:count]:
            body += _example(e, chars, sides)
        shown = min(count, len(p.examples))
        lines += _details(f"{examples_title(p)} in {_short(title(p))} ({shown} of {len(p.examples)})", body)
    for said in prompt_notes(p, report):
        lines += [f"_{escape_md(words(said), 500)}_", ""]
    c = p.calls
    cost = cost_line(c.cost_usd, side_names(report))
    lines += [
        f"<sub>{name}: {c.total} calls, {c.cached} cached, {c.retried} retried, {c.failed} failed"
        + batched_line(c, ", ")
        + (f"; {escape_md(cost, None)}" if cost else "")
        + "</sub>",
        "",
    ]
    # served ids and fingerprints come from the provider: escaped as untrusted text
    for line in (cold_start_line(p.cold_start), provenance_line(p)):
        if line:
            lines += [f"<sub>{escape_md(line, 500)}</sub>", ""]
    return lines


def _parse_failures(p: PromptReport, name: str) -> list[str]:
    """The head's parse failures by kind, with what to do about each (our words: only the backticks of the
    settings they name are Markdown)."""
    rows = parse_failure_table(p)
    if not rows:
        return []
    rows = [[escape_md(what, None), n, todo] for what, n, todo in rows]
    return [
        f"**Why answers of {name} did not parse**, and what fixes each:",
        "",
        _table(PARSE_FAILURE_HEADERS, rows),
        "",
    ]


def _shifts(p: PromptReport, alpha: float, name: str, sides: tuple[str, str] = ("base", "head")) -> list[str]:
    lines = []
    flips = (
        None if p.flip_rate is not None and p.flip_rate.gate else flip_sentence(p, sides)
    )  # else a warning says it
    shifted = important_shifts(p)
    if shifted:
        lines += [f"**Output shifts that matter** in {name}:", ""]
        lines += [f"- {escape_md(shift_sentence(s), 400)}" for s in shifted]
        lines.append("")
    if flips:
        lines += [flips, ""]  # numbers and our words only
    if p.distribution_shift:
        rows = [_untrusted_first(shift_cells(x)) for x in p.distribution_shift]
        summary = f"Output distribution of {_short(title(p))}, every field"
        lines += _details(summary, [_table(SHIFT_HEADERS, rows)])
    return lines


def _strata(p: PromptReport, alpha: float, name: str) -> list[str]:
    if not p.strata:
        return []
    hot, rest = strata_split(p, alpha)
    headers = stratum_headers_for(p)
    lines = [f"**Blast radius** of {name} by stratum" + (" (significant changes first):" if hot else ":"), ""]
    if hot:
        lines += [_table(headers, [_untrusted_first(stratum_cells_for(p, s)) for s in hot]), ""]
    else:
        lines += [f"No stratum of {name} changed significantly.", ""]
    if rest:
        table = _table(headers, [_untrusted_first(stratum_cells_for(p, s)) for s in rest])
        lines += _details(f"{len(rest)} strata of {_short(title(p))} without a significant change", [table])
    lines += _chart(p, [*hot, *rest])
    return lines


def _chart_label(stratum: StratumRow) -> str:
    """A stratum fit for a Mermaid string: a one-column stratum's value (`email` for `channel=email`), else its
    whole label; plain characters only (untrusted)."""
    values = list(stratum.stratum.values())
    value = str(values[0]) if len(values) == 1 and not stratum.pooled else stratum.label
    return re.sub(r"[^A-Za-z0-9 _.,=+-]", "_", value)[:24] or "_"


def _chart(p: PromptReport, strata: list[StratumRow]) -> list[str]:
    """A Mermaid bar chart (GitHub renders `xychart-beta`) of the failed gate's change in each stratum."""
    name = failed_gate(p)
    if name is None:
        return []
    points = [(s, s.rates[name].delta) for s in strata if name in s.rates][:CHART_STRATA]
    values = [round(d * 100, 1) for _, d in points if d is not None]
    if len(values) < 2 or len(values) != len(points):
        return []
    low, high = min(0.0, *values), max(0.0, *values)
    pad = max((high - low) * 0.1, 1.0)
    labels = ", ".join(f'"{_chart_label(s)}"' for s, _ in points)
    label = RATE_LABELS.get(name, name)
    chart = "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            f'    title "{re.sub(r"[^A-Za-z0-9 _().-]", "_", label)}: change by stratum (pp)"',
            f"    x-axis [{labels}]",
            f'    y-axis "change (pp)" {low - pad:.1f} --> {high + pad:.1f}',
            f"    bar [{', '.join(f'{v:.1f}' for v in values)}]",
            "```",
        ]
    )
    return [chart, ""]


def _fenced(text: str, chars: int) -> str:
    """A quoted text in a fence, cut visibly: the reader sees that something was left out."""
    if len(text) > chars:
        text = text[:chars].rstrip() + "\n… (cut here; the JSON and HTML reports have more)"
    return quote_block(text, None)


def _example(e: Example, chars: int, sides: tuple[str, str] = ("base", "head")) -> list[str]:
    # an added prompt has no base side: its answer's outcome, not a change
    change = (
        f"**{e.head_outcome}**" if e.base_text is None else f"{e.base_outcome or '–'} → **{e.head_outcome}**"
    )
    why = f" ({escape_md(e.detail, 160)})" if e.detail else ""
    where = f"{code_span(e.input_id, 60)} ({escape_md(e.stratum, 60)}), sample {e.sample}"
    tag = f"{code_span(e.input_id, 60)} sample {e.sample}"
    base = []  # an added prompt has no base side: no empty block saying so
    if e.base_text is not None:
        base = [
            f"**{sides[0].capitalize()} output** for {tag} ({escape_md(e.base_outcome or 'none', 40)}):",
            "",
            _fenced(e.base_text, chars),
            "",
        ]
    return [
        f"**Input** {where}: {change}{why}",
        "",
        _fenced(e.input_text, chars),
        "",
        *base,
        f"**{sides[1].capitalize()} output** for {tag} ({escape_md(e.head_outcome, 40)}):",
        "",
        _fenced(e.head_text, chars),
        "",
    ]


def _quality(p: PromptReport, level: tuple[int, int], sides: tuple[str, str] = ("base", "head")) -> list[str]:
    """The quality checks beside the rates: one row each, what the judge was, and the completions that went
    from pass to fail (in the same fenced form as the examples)."""
    if not p.evaluators:
        return []
    rows = [_untrusted_first(evaluator_cells(row)) for row in p.evaluators]
    name = code_span(_short(title(p)), None)
    lines = [f"**Quality checks** of {name}:", "", _table(sided(EVALUATOR_HEADERS, sides), rows), ""]
    extra = [
        line for row in p.evaluators for line in (judge_line(row), strata_line(row), note_line(row)) if line
    ]
    lines += [f"- {escape_md(line, 300)}" for line in extra]
    lines.append("")
    count, chars = level
    flipped = [item for row in p.evaluators for item in example_lines(row)][: max(count, 0)]
    if flipped:
        body: list[str] = []
        for headline, x in flipped:
            body += [
                f"**{escape_md(headline, 200)}**",
                "",
                _fenced(x.input_text, chars),
                "",
                _fenced(x.base_text, chars),
                "",
                _fenced(x.head_text, chars),
                "",
            ]
        lines += _details(f"Checks that went from pass to fail in {_short(title(p))}", body)
    return lines
