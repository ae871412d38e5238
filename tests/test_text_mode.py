"""Text mode and the guards around it: how a prose answer is scored, which mode `auto` picks, the answer
features and language, suites from the prompt file, the id column, pooled strata, unused columns, and
`compare` outside a repository."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from promptreview.engine.jobs import Side
from promptreview.engine.measurement import text_features as textual
from promptreview.engine.measurement.outcomes import classify_text
from promptreview.engine.planning.output_mode import output_mode
from promptreview.notes import note
from promptreview.records import (
    CallFailure,
    Completion,
    CompletionRequest,
    Message,
    ModelSpec,
    ProviderResponse,
)
from promptreview.sources.config import SampleSpec
from promptreview.sources.formats import load_prompt
from promptreview.sources.suites import sample_suite

SPEC = ModelSpec("sim", "x")


def completion(text: str | None, **kw) -> Completion:
    request = CompletionRequest(model=SPEC, messages=(Message("user", "q"),))
    response = None if text is None else ProviderResponse(text=text, **kw)
    return Completion(
        request=request, response=response, error=None if response else CallFailure("timeout", "boom")
    )


def test_text_mode_never_parses_a_prose_answer():
    ok = classify_text(completion("  Thanks,\n we are   on it. "))
    assert (ok.outcome, ok.answer) == ("ok", "Thanks, we are on it.")
    assert classify_text(completion("I'm sorry, but I can't help with that request.")).outcome == "refusal"
    assert classify_text(completion("x", refusal="no")).outcome == "refusal"
    assert classify_text(completion("")).outcome == "ok"  # empty is a feature, not a parse failure
    assert classify_text(completion(None)).outcome == "error"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thank you for your message, we will check the order and get back to you.", "en"),
        ("Danke für Ihre Nachricht, wir prüfen die Bestellung und melden uns bitte morgen.", "de"),
        ("Merci pour votre message, nous vérifions la commande avec vous.", "fr"),
        ("Gracias por su mensaje, revisamos el pedido y le escribimos por favor.", "es"),
        ("ご連絡ありがとうございます。注文を確認します。", "ja"),
        ("Спасибо за ваше сообщение, мы проверим заказ.", "ru"),
        ("12345 !!!", "und"),
    ],
)
def test_language_heuristic(text, expected):
    assert textual.language(text) == expected


def test_answer_features():
    f = textual.FEATURES
    assert f["empty"](" \n") and not f["empty"]("a")
    assert f["apology"]("Sorry for the delay. Here it is.") and not f["apology"]("No worries, sorry!")
    assert f["heading"]("## Steps\ntext") and f["heading"]("Title\n=====\n") and not f["heading"]("#hashtag")
    assert (
        f["bullet_list"]("Do this:\n- one\n- two")
        and f["bullet_list"]("1. first")
        and not f["bullet_list"]("-5 degrees")
    )
    assert f["code_block"]("```python\nx\n```") and not f["code_block"]("use `x`")
    assert (
        f["link"]("see [docs](https://x.y/z)") and f["link"]("go to https://x.y") and not f["link"]("no link")
    )


def test_feature_frame_keeps_errors_and_counts_refusals_apart():
    frame = pd.DataFrame({"outcome": ["ok", "refusal", "error", "ok"],
                          "text": ["- a", "- sorry", None, "plain"]})  # fmt: skip
    out = textual.feature_frame(frame, "bullet_list")
    assert list(out["outcome"]) == ["bullet_list", "ok", "error", "ok"]


def side(template, schema=None) -> Side:
    return Side("head", template, SPEC, {}, schema, False)


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        (b"Summarise: {{t}}", "text"),
        (b"Summarise this JSON document: {{t}}", "text"),
        (b"Summarise {{t}}. Respond in JSON.", "json"),
        (b"Always respond using clean, parseable JSON. {{t}}", "json"),
        (b"Return a JSON object with a summary field. {{t}}", "json"),
        (b"Your output must be JSON. {{t}}", "json"),
        (b"Summarise the JSON payload below in two sentences. {{t}}", "text"),
    ],
)
def test_auto_mode_from_the_prompt_words(text, mode):
    assert output_mode("auto", [side(load_prompt("p.txt", text))]) == mode


def test_auto_mode_from_schema_response_format_and_config():
    plain = load_prompt("p.txt", b"{{t}}")
    assert output_mode("auto", [side(plain, schema={"type": "object"})]) == "json"
    fmt = load_prompt("p.prompt.yml", b"messages: [{role: user, content: hi}]\nresponseFormat: json_object\n")
    assert output_mode("auto", [side(plain), side(fmt)]) == "json"  # one mode for both sides
    assert output_mode("text", [side(fmt)]) == "text" and output_mode("json", [side(plain)]) == "json"
    text_file = load_prompt("p.prompt", b"---\noutput:\n  format: text\n---\nReturn a JSON object {{t}}")
    assert output_mode("auto", [side(text_file)]) == "text"


def rows(n: int, channels: list[str]) -> list[dict]:
    return [
        {"ticket_no": f"T{i}", "channel": channels[i % len(channels)], "ticket": f"t{i}"} for i in range(n)
    ]


def test_id_column_and_row_numbers():
    named = sample_suite("s.jsonl", rows(4, ["a"]), (), SampleSpec(), id_column="ticket_no")
    assert [r.input_id for r in named.rows] == ["T0", "T1", "T2", "T3"]
    numbered = sample_suite("s.jsonl", rows(3, ["a"]), (), SampleSpec())
    assert [r.input_id for r in numbered.rows] == ["row1", "row2", "row3"]
    assert numbered.notes == (note("suite_numbered_rows", "s.jsonl"),)
    with pytest.raises(Exception, match="id column 'nope'"):
        sample_suite("s.jsonl", rows(2, ["a"]), (), SampleSpec(), id_column="nope")


def test_small_strata_are_pooled_into_other():
    data = rows(40, ["big"]) + [
        {"ticket_no": f"X{i}", "channel": f"rare{i}", "ticket": "x"} for i in range(12)
    ]
    sample = sample_suite("s.jsonl", data, ("channel",), SampleSpec(), min_per_stratum=10)
    assert sorted(s.label for s in sample.strata) == ["channel=big", "other"]
    assert {s.label: s.population for s in sample.strata} == {"channel=big": 40, "other": 12}
    pooled = next(n for n in sample.notes if n.kind == "strata_pooled")
    assert pooled.subject == "other" and len(pooled.data["strata"]) == 12 and pooled.data["minimum"] == 10
    assert next(s.values for s in sample.strata if s.label == "other") == {"channel": "(pooled)"}
    one = sample_suite("s.jsonl", data[:41], ("channel",), SampleSpec(), min_per_stratum=10)
    assert sorted(s.label for s in one.strata) == ["channel=big", "channel=rare0"]  # one alone keeps its name
    few = sample_suite("s.jsonl", rows(9, ["a", "b", "c"]), ("channel",), SampleSpec(), min_per_stratum=10)
    assert len(few.strata) == 3  # a few small strata of a small suite are kept


TICKETS = ["My card was charged twice", "The app crashes on start", "My parcel never arrived"]
CONFIG = """version: 1
model: sim:triage-v1
samples: 2
prompts:
  - files: "*.txt"
    suite: data/s.jsonl
"""


def test_unused_columns_warn_and_examples_carry_only_used_columns(tmp_path, run_cli):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "s.jsonl").write_text(
        "".join(
            json.dumps({"id": f"r{i}", "ticket": TICKETS[i % 3], "email": f"p{i}@example.com"}) + "\n"
            for i in range(6)
        )  # fmt: skip
    )
    (tmp_path / "promptreview.yml").write_text(CONFIG)
    (tmp_path / "a.txt").write_text("Write a reply to the customer.\n")
    (tmp_path / "b.txt").write_text("Write a reply to the customer. Only answer questions about billing.\n")
    result = run_cli(["compare", "a.txt", "b.txt", "--format", "json"], tmp_path)
    report = result.json()
    prompt = report["prompts"][0]
    assert prompt["output_mode"] == "text"
    assert any("uses none of the columns" in w for w in prompt["warnings"])

    def chat(system: str) -> str:
        return json.dumps([{"role": "system", "content": system}, {"role": "user", "content": "{{ticket}}"}])

    (tmp_path / "a.json").write_text(chat("Write a reply to the customer."))
    (tmp_path / "b.json").write_text(
        chat("Write a reply to the customer. Only answer questions about billing.")
    )
    (tmp_path / "promptreview.yml").write_text(CONFIG.replace('"*.txt"', '"*.json"'))
    result = run_cli(["compare", "a.json", "b.json", "--format", "json"], tmp_path)
    text = json.dumps(result.json())
    assert "example.com" not in text
    prompt = result.json()["prompts"][0]
    assert prompt["rates"]["refusal"]["head"] > prompt["rates"]["refusal"]["base"]
    assert prompt["examples"] and all(
        set(json.loads(e["input_text"])) == {"ticket"} for e in prompt["examples"]
    )


def test_compare_outside_a_repository_reads_any_local_suite(tmp_path, run_cli):
    work, data = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    data.mkdir()
    (data / "s.jsonl").write_text("".join(json.dumps({"q": f"question {i}"}) + "\n" for i in range(4)))
    (work / "a.txt").write_text("Answer: {{q}}\n")
    (work / "b.txt").write_text("Answer briefly: {{q}}\n")
    result = run_cli(
        ["compare", "a.txt", "b.txt", "--suite", str(data / "s.jsonl"), "--format", "json"], work
    )
    assert result.code == 0, result.err
    assert result.json()["prompts"][0]["n_inputs"] == 4
    relative = run_cli(
        ["compare", "a.txt", "b.txt", "--suite", "../elsewhere/s.jsonl", "--format", "json"], work
    )
    assert relative.code == 0, relative.err


def test_text_mode_report_shows_not_applicable_never_a_rate(tmp_path, run_cli):
    (tmp_path / "s.jsonl").write_text("".join(json.dumps({"ticket": t}) + "\n" for t in TICKETS * 2))
    (tmp_path / "a.txt").write_text("Reply to: {{ticket}}\n")
    (tmp_path / "b.txt").write_text("Reply briefly to: {{ticket}}\n")
    for fmt, line in (("markdown", "| parse failure | n/a | n/a |"), ("text", "schema violation     ")):
        result = run_cli(["compare", "a.txt", "b.txt", "--suite", "s.jsonl", "--format", fmt], tmp_path)
        assert result.code == 0, result.err
        rows = [r for r in result.out.splitlines() if line in r]
        assert rows and all("n/a" in r and "%" not in r for r in rows)


def test_compare_uses_the_files_own_inputs_without_a_config(tmp_path, run_cli):
    prompty = "---\nname: x\nsample:\n  - {q: first}\n  - {q: second}\n  - {q: third}\n---\nsystem:\nBe {{tone}}.\nuser:\n{{q}}\n"
    (tmp_path / "a.prompty").write_text(
        prompty.replace("name: x", "name: x\ninputs: {tone: {default: kind}}")
    )
    (tmp_path / "b.prompty").write_text(
        prompty.replace("name: x", "name: x\ninputs: {tone: {default: terse}}")
    )
    result = run_cli(["compare", "a.prompty", "b.prompty", "--format", "json"], tmp_path)
    assert result.code == 0, result.err
    prompt = result.json()["prompts"][0]
    assert prompt["n_inputs"] == 3 and any("sample" in n and "small" in n for n in prompt["notes"])


def test_promptfoo_multi_prompt_file_is_reviewed_as_named_prompts(git_repo, run_cli):
    repo = git_repo
    repo.write("promptreview.yml", CONFIG.replace('"*.txt"', '"prompts/*.txt"'))
    repo.write(
        "data/s.jsonl",
        "".join(json.dumps({"id": f"r{i}", "ticket": t}) + "\n" for i, t in enumerate(TICKETS * 2)),
    )
    repo.write("prompts/p.txt", "Reply to: {{ticket}}\n---\nSummarise: {{ticket}}\n")
    repo.commit("base")
    repo.write(
        "prompts/p.txt",
        "Reply to: {{ticket}}\n---\nSummarise briefly: {{ticket}}\n---\nTranslate: {{ticket}}\n",
    )
    repo.commit("edit")
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"], repo.root)
    assert result.code == 0, result.err
    changes = {p["path"]: p["change"] for p in result.json()["prompts"]}
    assert changes == {  # #1 did not change: not reviewed
        "prompts/p.txt#2": "modified",
        "prompts/p.txt#3": "added",
    }


@pytest.mark.parametrize("removal", ["review", "allow"])
def test_a_part_removed_from_a_multi_prompt_file_needs_the_accept_label(git_repo, run_cli, removal):
    repo = git_repo
    repo.write("promptreview.yml", CONFIG.replace('"*.txt"', '"prompts/*.txt"') + f"removal: {removal}\n")
    repo.write(
        "data/s.jsonl",
        "".join(json.dumps({"id": f"r{i}", "ticket": t}) + "\n" for i, t in enumerate(TICKETS * 2)),
    )
    repo.write("prompts/p.txt", "Reply to: {{ticket}}\n---\nSummarise: {{ticket}}\n")
    repo.commit("base")
    repo.write("prompts/p.txt", "Reply to: {{ticket}}\n")
    repo.commit("drop the summary prompt")
    result = run_cli(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"], repo.root)
    removed = next(p for p in result.json()["prompts"] if p["path"] == "prompts/p.txt#2")
    assert removed["change"] == "removed"
    if removal == "review":
        assert result.code == 1 and removed["verdict"] == "fail"
        assert any("accept label" in w for w in removed["warnings"])
    else:
        assert result.code == 0 and removed["verdict"] == "pass"
