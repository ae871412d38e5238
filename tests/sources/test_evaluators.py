"""Quality checks as declared (sources/evaluators.py): the config's expectations, must-refuse rows, evaluators and
gates, and a prompt file's own evaluators in GitHub Models' shape; bad ones are one line naming the key."""

from __future__ import annotations

import pytest

from promptreview.errors import UsageError
from promptreview.sources.config import parse_config
from promptreview.sources.evaluators import ExpectSpec, JudgeSpec, StringCheck, parse_evaluators
from promptreview.sources.formats import load_prompt

BASE_CONFIG = "version: 1\nprompts:\n  - files: a\n    suite: s.jsonl\n"


def test_config_reads_expectations_must_refuse_evaluators_and_gates():
    config = parse_config(
        BASE_CONFIG
        + "    expect: {category: expected, score: {column: s, match: number, tolerance: 0.5}}\n"
        + "    must_refuse: {column: kind, in: [redteam, jailbreak]}\n"
        + "    evaluators:\n      - {name: polite, string: {contains: please}, max_decrease: 0.1}\n"
        + "gates:\n  expect: {max_decrease: 0.05}\n  must_refuse: {max_decrease: 0}\n"
        + "  evaluators: {max_decrease: 0.03, judge: {max_decrease: 0.5}}\n"
    )
    (entry,) = config.prompts
    assert entry.expect == (
        ExpectSpec("category", "expected"),
        ExpectSpec("score", "s", "number", 0.5),
    )
    assert entry.must_refuse is not None and entry.must_refuse.values == ("redteam", "jailbreak")
    assert entry.must_refuse.matches({"kind": "jailbreak"}) and not entry.must_refuse.matches({"kind": "x"})
    gates = config.quality_gates
    assert gates.expect.max_decrease == 0.05 and gates.must_refuse.max_decrease == 0.0
    assert gates.evaluator("judge").max_decrease == 0.5
    assert gates.evaluator("polite", 0.1).max_decrease == 0.1
    assert gates.evaluator("other").max_decrease == 0.03


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    expect: {category: {column: c, match: fuzzy}}\n", "match"),
        ("    must_refuse: {column: kind, equals: a, in: [b]}\n", "either equals or in"),
        ("    must_refuse: {equals: a}\n", "column"),
        (
            "    evaluators:\n      - {name: x, string: {contains: a}, uses: github/similarity}\n",
            "evaluators[0]",
        ),
        ("    evaluators:\n      - {name: x, llm: {modelId: m, prompt: p}}\n", "choices"),
    ],
)
def test_bad_quality_config_is_one_line_naming_the_key(extra, message):
    with pytest.raises(UsageError) as info:
        parse_config(BASE_CONFIG + extra)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_prompt_files_own_evaluators_in_github_models_shape():
    doc = (
        "messages:\n  - {role: user, content: 'hi {{name}}'}\n"
        "evaluators:\n"
        "  - name: greets\n    string: {startsWith: 'Hello {{name}}'}\n"
        "  - name: judged\n    llm:\n      modelId: openai/gpt-4o-2024-08-06\n      prompt: 'Rate {{completion}}'\n"
        "      choices: [{choice: good, score: 1}, {choice: bad, score: 0}]\n      systemPrompt: grade\n"
        "  - name: similar\n    uses: github/similarity\n"
    )
    template = load_prompt("p.prompt.yml", doc.encode())
    greets, judged, similar = template.evaluators
    assert greets.string == StringCheck("startsWith", "Hello {{name}}") and greets.origin == "p.prompt.yml"
    assert judged.llm == JudgeSpec("github:openai/gpt-4o-2024-08-06", "Rate {{completion}}",
                                   (("good", 1.0), ("bad", 0.0)), "grade")  # fmt: skip
    assert similar.kind == "uses"
    with pytest.raises(UsageError, match="exactly one of"):
        parse_evaluators([{"name": "x", "string": {"contains": "a", "equals": "b"}}], "p: evaluators")
    with pytest.raises(UsageError, match="used twice"):
        parse_evaluators([{"name": "x", "uses": "a"}, {"name": "x", "uses": "b"}], "p: evaluators")
