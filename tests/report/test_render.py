import json
import math
import re
from dataclasses import replace
from typing import get_args

from promptreview.engine import assemble
from promptreview.engine.jobs import Listed, ReviewPlan
from promptreview.notes import PromptWarning, note
from promptreview.report import notes as note_words
from promptreview.report import render
from promptreview.report.document import (
    CallStats,
    Example,
    FlipRow,
    PromptReport,
    RateRow,
    Report,
    ShiftRow,
    StatTest,
)
from promptreview.report.serialize import to_dict
from promptreview.report.wording import (
    headline_word,
    prompt_notes,
    review_notes,
    review_warnings,
    verdict_key,
)
from promptreview.sources.config import parse_config
from promptreview.verdicts import PromptVerdict
from promptreview.vocabulary import NoteKind
from tests.review_fixture import increase, review

EVIL = "prompts/<img src=x onerror=alert(1)>@octocat #12 [x](http://evil).prompt.yml"


def sample_report() -> Report:
    rates = {
        "parse_failure": RateRow(
            0.0,
            0.121,
            0.121,
            (0.087, 0.161),
            0.0001,
            p_increase=0.00005,
            p_adjusted=0.0003,
            base_count=0,
            head_count=42,
            base_n=360,
            head_n=360,
            gate="fail",
            max_increase=0.02,
        ),
        "schema_violation": RateRow(
            0.01,
            0.01,
            0.0,
            (-0.01, 0.01),
            1.0,
            base_count=3,
            head_count=3,
            base_n=360,
            head_n=360,
            gate="pass",
            max_increase=0.02,
        ),
        "refusal": RateRow(
            0.02, 0.02, 0.0, (-0.01, 0.01), 1.0, base_count=7, head_count=7, base_n=360, head_n=360
        ),
        "error": RateRow(0.0, 0.0, 0.0, base_count=0, head_count=0, base_n=360, head_n=360),
    }
    prompt = PromptReport(
        path=EVIL,
        change="modified",
        verdict="fail",
        n_inputs=120,
        samples=3,
        suite="s.jsonl",
        rates=rates,
        flip_rate=FlipRow(0.27, 0.2, 0.07, 0.01, 0.018),
        distribution_shift=[
            ShiftRow(
                "category",
                "categorical",
                StatTest("Stuart-Maxwell", "(cluster-robust), x"),
                3.2,
                0.04,
                {"a": 1},
                {"a": 2},
                effect=float("nan"),
                effect_name="total_variation",
            )
        ],
        calls=CallStats(total=720, cached=0),
        examples=[
            Example(
                "T1",
                "channel=email",
                0,
                "ok",
                "parse_failure",
                "{}",
                "<script>alert(1)</script> @admin",
                "not JSON",
            )
        ],
        warnings=[increase("parse_failure", 0.0, 0.121, 0.003)],
    )
    return Report(
        verdict="fail",
        model_spec="sim:triage-v1",
        model_id="triage-v1",
        served=["triage-v1"],
        pinned=True,
        simulated=True,
        prompts=[prompt],
    )


def test_json_report_is_strict_json_without_nan():
    text = render(sample_report(), "json")
    data = json.loads(text)
    assert data["schema_version"] == 1 and data["verdict"] == "fail"
    assert data["prompts"][0]["distribution_shift"][0]["effect"] is None
    assert data["calls"] == {"total": 720, "cached": 0, "retried": 0, "failed": 0}
    assert "NaN" not in text and "Infinity" not in text
    assert math.isfinite(data["prompts"][0]["rates"]["parse_failure"]["head"])


def test_markdown_keeps_untrusted_text_inert():
    md = render(sample_report(), "markdown")
    prose = re.sub(r"^(`{3,}).*?^\1$", "", md, flags=re.S | re.M)  # fenced quotes are shown verbatim
    assert not re.search(r"(?<!\\)<(img|script)", prose)  # only backslash-escaped, so shown as text
    assert "@octocat" not in prose and "@admin" not in prose  # nobody is pinged (code is never linked)
    assert not re.search(r"(?<!\\)\]\(http", md)  # no live link: a `](` that closes one is escaped
    assert (
        "| parse failure | 0.0% (0/360) | 12.1% (42/360) | +12.1 pp | [+8.7, +16.1] | <0.001 | fail |" in md
    )
    assert "simulated" in md


def test_markdown_without_examples_drops_only_the_examples():
    from promptreview.report import markdown

    report = sample_report()
    assert "Examples that broke" in markdown.render(report)
    assert "not JSON" in markdown.render(report)
    assert "Examples that broke" not in markdown.render(report, examples=False)


def test_text_report_names_the_verdict_and_the_gate():
    text = render(sample_report(), "text")
    assert text.startswith("promptreview: FAIL: regression · parse failure +12.1 pp [+8.7, +16.1]")
    assert "12.1% (42/360)" in text and "(simulated: " in text


def test_html_escapes_everything():
    page = render(sample_report(), "html")
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the quoted output
    assert "Output distribution" in page and "category" in page


def test_terminal_colour_only_when_asked_and_never_with_no_color(monkeypatch):
    from promptreview.cli import output
    from promptreview.report import text

    coloured = text.render(sample_report(), color=True)
    assert "\033[31;1mpromptreview: FAIL" in coloured and "\033[0m" in coloured
    plain = text.render(sample_report())
    assert "\033[" not in plain
    assert re.sub(r"\033\[[0-9;]*m", "", coloured) == plain  # the same content, only painted

    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(output.sys, "stdout", Tty())
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert output.use_color()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not output.use_color()


def test_no_infinite_detectable_increase_is_printed():
    from promptreview.report.document import Forecast, PromptForecast, SideForecast

    side = SideForecast("sim:x", 10, 5, 100, 50, None)
    prompt = PromptForecast(
        "p.prompt.yml", "modified", 5, 1, {}, {"base": side, "head": side}, {"refusal": math.inf}, 0.05
    )
    plan = Forecast(20, 10, None, None, False, [prompt])
    out = render(Report(verdict="skipped", forecast=plan), "text")
    assert "inf" not in out and "refusal not detectable with this sample" in out
    assert "20 calls, 10 of them to make" in out
    for fmt in ("markdown", "html"):  # the plan in every human format, never as "nothing to review"
        page = render(Report(verdict="skipped", forecast=plan), fmt)
        assert "20 calls, 10 of them to make" in page and "nothing to review" not in page


def test_a_shift_tests_name_is_its_name_field_and_the_json_gives_its_whole_description():
    import dataclasses

    report = sample_report()
    (prompt,) = report.prompts
    test = StatTest("Cochran-Armitage (trend, exact)", "(sign-flip permutation, 10 inputs)")
    shift = dataclasses.replace(prompt.distribution_shift[0], test=test, p_adjusted=0.01)
    report = dataclasses.replace(report, prompts=[dataclasses.replace(prompt, distribution_shift=[shift])])
    data = json.loads(render(report, "json"))
    test_text = "Cochran-Armitage (trend, exact) (sign-flip permutation, 10 inputs)"
    assert data["prompts"][0]["distribution_shift"][0]["test"] == test_text
    for fmt in ("text", "markdown", "html"):  # a name holding " (" and ", " is not cut at either
        rendered = render(report, fmt)
        assert "Cochran-Armitage (trend, exact)" in rendered and "10 inputs" not in rendered, fmt


def test_the_model_line_names_only_served_ids_other_than_the_model_the_review_names():
    import dataclasses

    from promptreview.report.wording import model_line

    several = dataclasses.replace(
        sample_report(),
        model_spec="sim:triage-v1, sim:triage-v2",
        model_id=None,
        served=["triage-v1", "triage-v2"],
    )
    assert model_line(several).endswith("· served triage-v1, triage-v2")
    one = dataclasses.replace(
        several, model_spec="openai:gpt-4o", model_id="gpt-4o", served=["gpt-4o", "gpt-4o-2024-08-06"]
    )
    assert model_line(one).endswith("· served gpt-4o-2024-08-06")


def test_every_kind_of_note_has_its_words():
    assert set(note_words._WORDS) == set(get_args(NoteKind))


def _decided(report: Report) -> tuple[object, ...]:
    """Everything the report decides from its notes: the counts the JSON report has, the verdicts and their
    words ("inconclusive"), and which notes and warnings each format shows."""
    data = to_dict(report)
    return (
        data["verdict"],
        len(data["notes"]),
        len(data["warnings"]),
        [(p["verdict"], len(p["notes"]), len(p["warnings"])) for p in data["prompts"]],
        [verdict_key(p) for p in report.prompts],
        headline_word(report),
        review_notes(report),
        review_warnings(report),
        [prompt_notes(p) for p in report.prompts],
    )


def _assembled() -> Report:
    """A review built by `assemble`: served-model warnings, a failing prompt's own (one of them the same
    served warning), a prompt leaving the review, and a provider note said twice."""
    served = note("served_other", "head", requested="m", served=("m2",))
    failing = PromptReport(
        path="p.prompt.yml",
        change="modified",
        verdict=PromptVerdict.FAIL,
        rates={"parse_failure": RateRow(0.0, 0.121, 0.121)},
        warnings=(served, increase("refusal", 0, 0.2, 0.001)),
        notes=(note("weighted"), note("new_prompt")),
        weighted=True,
    )
    gone = Listed("gone.prompt.yml", "removed", None, note("prompt_removed"), needs_acceptance=True)
    plan = ReviewPlan(jobs=(), listed=(gone,), providers={}, analysis_seed=0)
    rejected = note("structured_output_rejected", "m", service="S", error="HTTP 400")
    return assemble.report(
        plan,
        [failing, assemble.listed_report(gone)],
        model_spec="openai:m",
        pinned=True,
        config=parse_config("version: 1\nprompts:\n  - files: a\n    suite: s.jsonl\n"),
        base=None,
        head=None,
        provider_notes=[rejected, note("unpinned", served=()), rejected],
        served_warnings=[PromptWarning("p.prompt.yml", served)],
    )


def test_rewording_a_note_changes_no_count_verdict_or_selection(monkeypatch):
    """Notes are records: the report decides from their kinds, never their words. Rewording one kind, or
    giving every kind the same words (which would merge them if anything compared words), changes no count,
    no verdict, no "inconclusive" and no choice of the notes shown."""
    inconclusive_pass = replace(review(), verdict="pass", prompts=(review().prompts[1],), warnings=())
    reports = [review(), inconclusive_pass, _assembled()]
    before = [_decided(r) for r in reports]
    assert (
        before[1][5] == "PASS, inconclusive" and len(reports[2].warnings) == 3 and len(reports[2].notes) == 2
    )

    monkeypatch.setitem(note_words._WORDS, "rate_inconclusive", lambda n: "a different sentence")
    assert [_decided(r) for r in reports] == before
    assert to_dict(inconclusive_pass)["prompts"][0]["warnings"] == ["a different sentence"]

    monkeypatch.setattr(note_words, "_WORDS", dict.fromkeys(get_args(NoteKind), lambda n: "the same words"))
    assert [_decided(r) for r in reports] == before
    assert to_dict(reports[2])["warnings"] == ["p.prompt.yml: the same words"] * 2 + [
        "gone.prompt.yml: the same words"
    ]
    assert "the same words" in render(reports[0], "markdown")  # every format says what `words` says


def test_the_reproduce_line_is_the_command_the_engine_says_it_ran():
    """`check` or `compare` comes from `Report.rerun`, never from the look of `base`: a compare of two files
    named like commit ids stays a compare, and a check of the working tree names no `--head`."""
    from promptreview.report.document import Rerun
    from promptreview.report.wording import reproduce_command

    hex_named = Report(
        verdict="pass", base="cafe123", head="beef456", rerun=Rerun("compare", "cafe123", "beef456")
    )
    assert reproduce_command(hex_named) == "promptreview compare cafe123 beef456"
    tree = Report(verdict="pass", base="a" * 40, head="working tree", rerun=Rerun("check", "a" * 40, None))
    assert reproduce_command(tree) == f"promptreview check --base {'a' * 40}"
    commits = Report(
        verdict="pass",
        base="a" * 40,
        head="b" * 40,
        config="ci/pr.yml",
        rerun=Rerun("check", "a" * 40, "b" * 40, ("--config", "ci/pr.yml")),  # the engine's own flags
    )
    assert (
        reproduce_command(commits)
        == f"promptreview check --base {'a' * 40} --head {'b' * 40} --config ci/pr.yml"
    )
    assert reproduce_command(Report(verdict="error", error="crash")) is None


def test_drift_names_its_sides_recorded_and_fresh_in_text_and_markdown():
    """In drift both sides run the same prompt at the same commit: base/head would say nothing; the columns,
    the examples and the flip sentence say which answers were recorded and which were asked again."""
    from dataclasses import replace as swap

    from promptreview.report.document import Rerun
    from tests.review_fixture import review as fixture

    report = fixture()
    drifted = swap(report, rerun=Rerun("drift", "1" * 40, None))
    text, markdown = render(drifted, "text"), render(drifted, "markdown")
    for page in (text, markdown):
        assert "recorded" in page and "fresh" in page
        assert "Recorded–fresh answer disagreement" in page and "the recorded answers' own samples" in page
    assert "outcome           recorded" in text and "     fresh:    " in text
    assert "| outcome | recorded | fresh |" in markdown and "**Fresh output** for" in markdown
    # the prompt did not change (only the answers may have), and the cost is of the recorded and fresh answers
    assert re.search(r"prompts/triage\.prompt\.yml +unchanged +fail", text)
    assert "== prompts/triage.prompt.yml [unchanged] FAIL" in text
    from promptreview.report.wording import cost_line

    assert cost_line({"base": 0.0001, "head": 0.0002, "delta": 0.0001}, ("recorded", "fresh")) == (
        "cost: recorded $0.0001, fresh $0.0002, change +0.0001 USD"
    )
    page = render(drifted, "html")
    assert "<th>recorded</th><th>fresh</th>" in page and "<h4>fresh output (parse_failure)</h4>" in page
    # a review of a change keeps its words
    assert "     base:  " in render(report, "text") and "**Head output** for" in render(report, "markdown")


def test_a_prompt_whose_sides_ran_on_different_models_reads_as_a_model_migration():
    from dataclasses import replace as swap

    from tests.review_fixture import review as fixture

    report = fixture()
    moved = swap(
        report.prompts[0], models={"base": "openai:gpt-4o-2024-08-06", "head": "openai:gpt-4.1-2025-04-14"}
    )
    migrated = swap(report, prompts=(moved, *report.prompts[1:]))
    text, markdown, page = (render(migrated, fmt) for fmt in ("text", "markdown", "html"))
    assert re.search(r"prompts/triage\.prompt\.yml +model migration +fail", text)
    assert "== prompts/triage.prompt.yml [model migration] FAIL" in text
    assert "| model migration |" in markdown and "(model migration): FAIL" in markdown
    assert "<td>model migration</td>" in page
    # one model on both sides: still a modified prompt
    assert re.search(r"prompts/triage\.prompt\.yml +modified +fail", render(report, "text"))
