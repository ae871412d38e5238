"""The quality checks' rows in every format (report/quality.py and the renderers), and in the JSON report."""

from __future__ import annotations

import re

from promptreview.report import html, markdown, text
from promptreview.report.document import (
    CheckStratum,
    EvaluatorExample,
    EvaluatorRow,
    JudgeInfo,
    PromptReport,
    RateRow,
    Report,
)
from promptreview.report.serialize import to_dict
from promptreview.verdicts import PromptVerdict, ReviewVerdict
from tests.reports import assert_valid_report


def _report() -> Report:
    row = EvaluatorRow(
        name="category", kind="expect", field="category", base=0.9, head=0.6, delta=-0.3, ci95=(-0.45, -0.15),
        p_value=0.001, gate=PromptVerdict.FAIL, base_n=10, head_n=10, base_count=9, head_count=6,
        p_decrease=0.0005, p_adjusted=0.002, column="expected_category", max_decrease=0.02,
        strata={"kind=a": CheckStratum(base=1.0, head=0.5, base_n=4, head_n=4)},
        examples=(EvaluatorExample("r1", "kind=a", 0, '{"q": "<b>x</b>"}', '{"category": "a"}', '{"category": "b|c"}', 1.0, 0.0),),
    )  # fmt: skip
    judge = EvaluatorRow(
        name="helpful", kind="llm", field=None, base=0.8, head=0.7, delta=-0.1, units="score", base_n=10,
        head_n=10, judge=JudgeInfo("openai:gpt-4o-2024-08-06", ("gpt-4o-2024-08-06",), pinned=True, temperature=0,
                                   choices={"yes": 1.0, "no": 0.0}, origin=".github/evals/helpful.yml", unanswered=2),
    )  # fmt: skip
    prompt = PromptReport(
        path="p.prompt.yml", change="modified", verdict=PromptVerdict.FAIL, n_inputs=10, samples=1,
        rates={k: RateRow(base=0.0, head=0.0) for k in ("parse_failure", "schema_violation", "refusal", "error")}, evaluators=(row, judge),
    )  # fmt: skip
    return Report(verdict=ReviewVerdict.FAIL, prompts=(prompt,))


def test_the_renderers_show_quality_checks_beside_the_rates():
    report = _report()
    out = text.render(report)
    assert "category = expected_category" in out and "90.0% (9/10)" in out and "-30.0 pp" in out
    assert "pass → fail" in out and '{"category": "b|c"}' in out and "kind=a 100.0% → 50.0%" in out
    assert "judge of helpful: openai:gpt-4o-2024-08-06 (served gpt-4o-2024-08-06, temperature 0)" in out
    md = markdown.render(report)
    assert "**Quality checks**" in md and "Checks that went from pass to fail" in md
    prose = re.sub(r"^(`{3,}).*?^\1$", "", md, flags=re.S | re.M)  # fenced quotes are shown verbatim
    assert "b|c" not in prose  # untrusted output is escaped in the table-bearing Markdown
    page = html.render(report)
    assert "<h3>Quality checks</h3>" in page and "&lt;b&gt;x&lt;/b&gt;" in page
    data = to_dict(report)
    assert_valid_report(data)
    row = data["prompts"][0]["evaluators"][0]
    assert {k: row[k] for k in ("name", "kind", "field", "base", "head", "gate")} == {
        "name": "category", "kind": "expect", "field": "category", "base": 0.9, "head": 0.6, "gate": "fail"
    }  # fmt: skip
    assert "; 2 judge calls failed or named no choice (left out)" in out
    assert data["prompts"][0]["evaluators"][1]["judge"] == {
        "spec": "openai:gpt-4o-2024-08-06", "served": ["gpt-4o-2024-08-06"], "pinned": True, "temperature": 0,
        "choices": {"yes": 1.0, "no": 0.0}, "origin": ".github/evals/helpful.yml", "unanswered": 2,
    }  # fmt: skip
