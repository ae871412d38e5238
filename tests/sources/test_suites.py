import json
from collections import Counter
from pathlib import Path

import pytest

from promptreview.errors import UsageError
from promptreview.notes import note
from promptreview.report.notes import words
from promptreview.sources.config import SampleSpec
from promptreview.sources.suites import load_rows, sample_suite


def rows_with(sizes: dict[str, int]) -> list[dict]:
    rows = []
    for channel, n in sizes.items():
        rows += [{"id": f"{channel}-{i}", "channel": channel, "text": f"t{i}"} for i in range(n)]
    return rows


def test_jsonl_and_csv_load():
    jsonl = "\n".join(json.dumps(r) for r in rows_with({"a": 2})).encode()
    assert len(load_rows("s.jsonl", jsonl)) == 2
    csv_rows = load_rows("s.csv", b'id,channel,text\n1,email,"hello, world"\n2,chat,hi\n')
    assert csv_rows[0] == {"id": "1", "channel": "email", "text": "hello, world"}


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("s.jsonl", b'{"a": 1}\n{oops\n', "s.jsonl:2: not valid JSON"),
        ("s.jsonl", b"[1, 2]\n", "must be a JSON object"),
        ("s.jsonl", b"\n", "no rows"),
        ("s.txt", b"x", "must be .jsonl or .csv"),
        ("s.csv", b"a\n1,2\n", "more fields than the header"),
    ],
)
def test_bad_suites(name, data, message):
    with pytest.raises(UsageError, match=message):
        load_rows(name, data)


def test_per_stratum_takes_all_of_a_small_stratum_and_says_so():
    sample = sample_suite(
        "s.jsonl",
        rows_with({"email": 50, "chat": 30, "phone": 5}),
        ("channel",),
        SampleSpec(per_stratum=10, seed=1),
    )
    counts = Counter(r.stratum for r in sample.rows)
    assert counts == {"channel=email": 10, "channel=chat": 10, "channel=phone": 5}
    assert note("stratum_short", "channel=phone", rows=5, quota=10) in sample.notes
    assert not sample.proportional


def test_sampling_is_reproducible_and_seed_dependent():
    rows = rows_with({"email": 100, "chat": 100})
    a = sample_suite("s", rows, ("channel",), SampleSpec(per_stratum=10, seed=7))
    b = sample_suite("s", rows, ("channel",), SampleSpec(per_stratum=10, seed=7))
    c = sample_suite("s", rows, ("channel",), SampleSpec(per_stratum=10, seed=8))
    assert [r.input_id for r in a.rows] == [r.input_id for r in b.rows]
    assert [r.input_id for r in a.rows] != [r.input_id for r in c.rows]


def test_proportional_allocation_sums_exactly():
    sample = sample_suite(
        "s",
        rows_with({"a": 61, "b": 29, "c": 10}),
        ("channel",),
        SampleSpec(size=33, allocation="proportional"),
    )
    counts = Counter(r.stratum for r in sample.rows)
    assert sum(counts.values()) == 33
    assert counts == {"channel=a": 20, "channel=b": 10, "channel=c": 3}


def test_equal_allocation():
    sample = sample_suite(
        "s", rows_with({"a": 60, "b": 30, "c": 10}), ("channel",), SampleSpec(size=30, allocation="equal")
    )
    assert Counter(r.stratum for r in sample.rows) == {"channel=a": 10, "channel=b": 10, "channel=c": 10}


def test_all_rows_when_no_sample_and_proportional():
    sample = sample_suite("s", rows_with({"a": 6, "b": 3}), ("channel",), SampleSpec())
    assert len(sample.rows) == 9 and sample.proportional


def test_multi_column_strata_and_missing_column():
    rows = [
        {"channel": c, "lang": lang} for c in ("email", "chat") for lang in ("en", "de") for _ in range(3)
    ]
    sample = sample_suite("s", rows, ("channel", "lang"), SampleSpec(per_stratum=2))
    assert {r.stratum for r in sample.rows} == {
        "channel=chat,lang=de",
        "channel=chat,lang=en",
        "channel=email,lang=de",
        "channel=email,lang=en",
    }
    with pytest.raises(UsageError, match="strata column 'tier'"):
        sample_suite("s", rows, ("tier",), SampleSpec())


def test_duplicate_ids_are_refused():
    with pytest.raises(UsageError, match="duplicate id"):
        sample_suite("s", [{"id": 1}, {"id": 1}], (), SampleSpec())


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


def test_a_row_repeating_an_earlier_one_but_for_its_id_is_counted_once_and_said():
    rows = rows_with({"a": 3, "b": 2})
    rows += [{**rows[0], "id": "again-1"}, {**rows[3], "id": "again-2"}, {**rows[0], "id": "again-3"}]
    rows.append({**rows[1], "id": "not-again", "text": "t1 but different"})
    sample = sample_suite("s.jsonl", rows, ("channel",), SampleSpec())
    assert [r.input_id for r in sample.rows] == ["a-0", "a-1", "a-2", "not-again", "b-0", "b-1"]
    assert sample.population == 6 and {s.label: s.population for s in sample.strata} == {
        "channel=a": 4,
        "channel=b": 2,
    }
    said = note("duplicate_inputs", "s.jsonl", count=3, rows=9,
                examples=(("again-1", "a-0"), ("again-2", "b-0"), ("again-3", "a-0")))  # fmt: skip
    assert said in sample.notes
    assert words(said) == (
        "s.jsonl: 3 of 9 rows repeat an earlier row (every column but the id) and are counted once: the same "
        "input again adds no evidence (again-1 = a-0, again-2 = b-0, again-3 = a-0)"
    )


def test_without_an_id_column_identical_rows_are_one_input():
    sample = sample_suite("s.jsonl", [{"q": "x"}, {"q": "y"}, {"q": "x"}], (), SampleSpec())
    assert [r.input_id for r in sample.rows] == ["row1", "row2"]
    assert any(n.kind == "duplicate_inputs" and n.data["count"] == 1 for n in sample.notes)


def test_the_packaged_suites_have_no_repeated_input():
    for suite in sorted(
        (Path(__file__).resolve().parents[2] / "promptreview" / "sample_suites").glob("*/*.jsonl")
    ):
        rows = load_rows(suite.name, suite.read_bytes())
        sample = sample_suite(suite.name, rows, (), SampleSpec())
        assert [n for n in sample.notes if n.kind == "duplicate_inputs"] == [], suite
