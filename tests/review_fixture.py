"""A fixed multi-prompt review, for the golden-file tests of the Markdown, text and HTML reports.

Five prompts: a regression with strata, examples and a shifted field; a text-mode prompt with evaluator rows
whose change is inconclusive; an added prompt; a rename without a change; a removed prompt.
"""

from __future__ import annotations

from promptreview.notes import Note, PromptWarning, note
from promptreview.report.document import (
    CallStats,
    EvaluatorRow,
    Example,
    FlipRow,
    PromptReport,
    RateRow,
    Report,
    Rerun,
    ShiftRow,
    StatTest,
    StratumRow,
)
from promptreview.verdicts import PromptVerdict, ReviewVerdict


def increase(name: str, base: float, head: float, p_adjusted: float, margin: float = 0.02) -> Note:
    """A gated rate's significant increase above its margin, as the gates emit it."""
    return note(
        "rate_increase",
        name,
        base=base,
        head=head,
        delta=head - base,
        p_adjusted=p_adjusted,
        p_value=p_adjusted,
        max_increase=margin,
        beyond=True,
        gating=True,
    )


def _rate(base, head, delta, ci, p, n=360, gate=None, p_adj=None, margin=0.02):
    return RateRow(
        base=base,
        head=head,
        delta=delta,
        ci95=ci,
        p_value=p,
        p_adjusted=p if p_adj is None else p_adj,
        base_count=round(base * n),
        head_count=round(head * n),
        base_n=n,
        head_n=n,
        gate=gate,
        max_increase=margin if gate else None,
        test="paired sign-flip permutation over inputs",
    )


def _stratum(label, n, parse, p_parse):
    return StratumRow(
        stratum={"channel": label},
        label=f"channel={label}",
        n_inputs=n,
        population=n * 4,
        rates={
            "parse_failure": _rate(0.0, parse, parse, (parse - 0.05, parse + 0.05), p_parse, n * 3),
            "schema_violation": _rate(0.01, 0.01, 0.0, (-0.02, 0.02), 1.0, n * 3),
            "refusal": _rate(0.02, 0.02, 0.0, (-0.02, 0.02), 1.0, n * 3),
        },
    )


def regression() -> PromptReport:
    return PromptReport(
        path="prompts/triage.prompt.yml",
        change="modified",
        verdict=PromptVerdict.FAIL,
        models={"base": "sim:triage-v1", "head": "sim:triage-v1"},
        n_inputs=120,
        samples=3,
        suite="suites/triage.jsonl",
        rates={
            "parse_failure": _rate(0.0, 0.121, 0.121, (0.087, 0.161), 0.0001, gate="fail", p_adj=0.0003),
            "schema_violation": _rate(0.008, 0.003, -0.005, (-0.022, 0.01), 0.5, gate="pass", p_adj=1.0),
            "refusal": _rate(0.028, 0.033, 0.005, (-0.011, 0.03), 0.6, gate="pass", p_adj=1.0),
            "error": RateRow(0.0, 0.0, 0.0, base_n=360, head_n=360),
        },
        flip_rate=FlipRow(0.269, 0.203, 0.066, 0.006, 0.018, "within-input shuffle"),
        distribution_shift=(
            ShiftRow(
                "category",
                "categorical",
                StatTest("Stuart-Maxwell", "(cluster-robust)"),
                9.1,
                0.01,
                {"billing": 102, "account": 86, "shipping": 57},
                {"billing": 90, "account": 81, "shipping": 74},
                effect=0.033,
                effect_name="total_variation",
                p_adjusted=0.043,
                matters=True,  # significant, and 3.3% of answers moved: beyond the 2% floor
            ),
            ShiftRow(
                "summary",
                "length",
                StatTest("Wilcoxon signed-rank"),
                0.2,
                0.8,
                {"median": 61},
                {"median": 61},
                effect=0.0,
                effect_name="median_shift",
                p_adjusted=1.0,
            ),
        ),
        strata=(
            _stratum("chat", 30, 0.2, 0.001),
            _stratum("email", 30, 0.1, 0.2),
            _stratum("phone", 30, 0.08, 0.3),
            _stratum("web", 30, 0.06, 0.5),
        ),
        calls=CallStats(total=720, cached=360, retried=2, failed=0),
        examples=(
            Example(
                input_id="T0007",
                stratum="channel=email",
                sample=0,
                base_outcome="ok",
                head_outcome="parse_failure",
                input_text='{"ticket": "SSO login fails with error E-4012 @octocat #12"}',
                head_text='```json\n{"category": "account"}\n```',
                detail="not JSON: Expecting value at line 1 column 1",
                base_text='{"category": "account", "priority": "medium"}',
            ),
        ),
        warnings=(increase("parse_failure", 0.0, 0.121, 0.0003),),
        notes=(note("weighted"),),
        weighted=True,
    )


def text_mode() -> PromptReport:
    return PromptReport(
        path="prompts/reply.txt",
        change="modified",
        verdict=PromptVerdict.WARN,
        n_inputs=30,
        samples=1,
        suite="suites/replies.jsonl",
        output_mode="text",
        rates={
            "refusal": _rate(0.0, 0.067, 0.067, (-0.02, 0.15), 0.12, 30, gate="warn", p_adj=0.25),
            "error": RateRow(0.0, 0.0, 0.0, base_n=30, head_n=30),
            "too_long": _rate(0.1, 0.133, 0.033, (-0.05, 0.12), 0.5, 30),
        },
        evaluators=(
            EvaluatorRow(
                name="mentions the order number",
                kind="string",
                field=None,
                base=0.9,
                head=0.833,
                delta=-0.067,
                ci95=(-0.2, 0.06),
                p_value=0.4,
                gate=PromptVerdict.PASS,
                base_n=30,
                head_n=30,
                base_count=27,
                head_count=25,
                p_decrease=0.2,
            ),
        ),
        calls=CallStats(total=60, cached=0),
        warnings=(
            note(
                "rate_inconclusive", changes=(("refusal", 0.067),), n_inputs=30, samples=1, inputs_needed=194
            ),
        ),
    )


def review() -> Report:
    added = PromptReport(
        path="prompts/new.prompt.yml",
        change="added",
        n_inputs=20,
        samples=1,
        suite="suites/triage.jsonl",
        rates={
            "parse_failure": RateRow(None, 0.05, base_n=0, head_count=1, head_n=20),
            "schema_violation": RateRow(None, 0.0, base_n=0, head_n=20),
            "refusal": RateRow(None, 0.0, base_n=0, head_n=20),
            "error": RateRow(None, 0.0, base_n=0, head_n=20),
        },
        calls=CallStats(total=20),
    )
    renamed = PromptReport(
        path="prompts/b.prompt.yml",
        old_path="prompts/a.prompt.yml",
        change="renamed",
        notes=(note("renamed_unchanged"),),
    )
    removed = PromptReport(path="prompts/old.prompt.yml", change="removed", notes=(note("prompt_removed"),))
    return Report(
        verdict=ReviewVerdict.FAIL,
        model_spec="sim:triage-v1",
        model_id="triage-v1",
        served=["triage-v1"],
        pinned=True,
        simulated=True,
        prompts=(regression(), text_mode(), added, renamed, removed),
        base="1111111111111111111111111111111111111111",
        head="2222222222222222222222222222222222222222",
        rerun=Rerun(
            "check", "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
        ),
        notes=(note("simulated"),),
        warnings=(PromptWarning("prompts/triage.prompt.yml", increase("parse_failure", 0.0, 0.121, 0.0003)),),
    )
