"""`auto` output mode against 219 real prompt files labelled by hand (tests/fixtures/output_mode/): it agrees with
the labels on at least 97 % of them, and the corpus stays what its README says it is."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

import pytest

from promptreview.engine.planning.output_mode import asks_for_json_text
from tests.fixtures_path import FIXTURES

CORPUS = FIXTURES / "output_mode"
LICENCES = {"MIT", "Apache-2.0"}  # what the corpus may hold (licenses/ has both texts)


@dataclass(frozen=True)
class Labelled:
    file: str
    repo: str
    label: str
    licence: str
    text: str
    held_out: bool  # labelled after the rule was written, before it ran on it


def corpus() -> list[Labelled]:
    rows = [json.loads(line) for line in (CORPUS / "manifest.jsonl").read_text().splitlines() if line.strip()]
    return [
        Labelled(
            r["file"],
            r["repo"],
            r["label"],
            r["licence"],
            (CORPUS / r["file"]).read_text(encoding="utf-8"),
            r.get("set") == "held-out",
        )
        for r in rows
    ]


def confusion(items: list[Labelled]) -> Counter[tuple[str, str]]:
    """(label, detected) -> count."""
    return Counter((item.label, "json" if asks_for_json_text(item.text) else "text") for item in items)


def test_the_corpus_is_large_varied_and_licensed() -> None:
    items = corpus()
    assert len(items) >= 200
    assert len({i.file for i in items}) == len(items)
    assert {i.label for i in items} == {"json", "text"}
    assert {i.licence for i in items} <= LICENCES
    assert {p.name for p in (CORPUS / "licenses").iterdir()} == {f"{name}.txt" for name in LICENCES}
    by_repo = Counter(i.repo for i in items)
    assert len(by_repo) >= 15 and max(by_repo.values()) <= len(items) // 5  # not 200 files from one repo
    # enough of each kind for the agreement to mean something
    assert sum(i.label == "json" for i in items) >= 40


def test_auto_agrees_with_the_hand_labels_on_at_least_97_percent(capsys: pytest.CaptureFixture[str]) -> None:
    items = corpus()
    matrix = confusion(items)
    agreement = (matrix["json", "json"] + matrix["text", "text"]) / len(items)
    wrong = sorted(i.file for i in items if ("json" if asks_for_json_text(i.text) else "text") != i.label)
    held_out = [i for i in items if i.held_out]
    held_out_agreed = sum(i.file not in wrong for i in held_out)
    with capsys.disabled():  # the numbers docs/formats.md quotes, shown with -s or on failure
        print(f"\noutput-mode corpus: {len(items)} prompts, agreement {agreement:.1%}")
        print(f"  held out: {held_out_agreed}/{len(held_out)}")
        print(f"  labelled json: detected json {matrix['json', 'json']}, text {matrix['json', 'text']}")
        print(f"  labelled text: detected json {matrix['text', 'json']}, text {matrix['text', 'text']}")
    assert agreement >= 0.97, f"{agreement:.1%} agreement; disagreements: {wrong}"
