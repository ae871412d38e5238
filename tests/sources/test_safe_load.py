"""The bounded YAML and JSON loader: every hostile document is refused with a reason, before it is built."""

from __future__ import annotations

import pytest

from promptreview.sources.safe_load import MAX_DEPTH, Unparsable, json_depth_ok, load_json, load_yaml


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (billion_laughs(), "once its aliases are expanded"),
        ("[" * 20_000 + "]" * 20_000, f"nested more than {MAX_DEPTH} levels deep"),
        ("a:\n" + "".join("  " * i + "- \n" for i in range(1, 150)), f"more than {MAX_DEPTH} levels"),
        ("&a [*a]", "contains it"),
        ("n: " + "9" * 4301, "too many digits"),
        ("messages: [a]\nmessages: [b]\n", "the key 'messages' appears twice"),
        ("x: 1\nx: 2\n", "the key 'x' appears twice"),
        ("a: [\n", "expected"),
    ],
)
def test_hostile_yaml_is_refused_with_a_reason(text, why):
    with pytest.raises(Unparsable) as info:
        load_yaml(text)
    assert why in info.value.message


def test_a_duplicate_key_names_its_line():
    with pytest.raises(Unparsable) as info:
        load_yaml("name: t\nmessages:\n  - {role: user, content: a}\nmessages: []\n")
    assert info.value.line == 4


def test_ordinary_yaml_reads_as_the_safe_loader_reads_it():
    text = "a: &x {b: 1}\nc: *x\nd: {<<: *x, e: 2}\nf: 0x1f\ng: [1, 2.5, yes, null]\nh: 2026-01-01\n"
    import yaml

    assert load_yaml(text) == yaml.safe_load(text)
    assert load_yaml("") is None
    assert load_yaml(billion_laughs(3)) == yaml.safe_load(billion_laughs(3))  # a few aliases are fine


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[" * 5000 + "]" * 5000, "levels deep"),
        ('{"a":' * 5000 + "1" + "}" * 5000, "levels deep"),
        ("9" * 4301, "more digits"),
        ('{"a": ', "Expecting value"),
    ],
)
def test_hostile_json_is_refused_with_a_reason(text, why):
    with pytest.raises(Unparsable) as info:
        load_json(text)
    assert why in info.value.message


def test_brackets_inside_strings_do_not_count_as_depth():
    text = '{"a": "' + "[" * 500 + '", "b": ["\\"["]}'
    assert json_depth_ok(text) and load_json(text)["b"] == ['"[']
    assert load_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


def test_a_duplicate_key_in_a_json_file_is_refused_but_an_answer_keeps_the_parsers_rule():
    text = '{"messages": [{"role": "user", "content": "a"}], "messages": []}'
    with pytest.raises(Unparsable) as info:
        load_json(text, unique_keys=True)
    assert "the key 'messages' appears twice" in info.value.message
    assert load_json(text) == {"messages": []}


def test_a_large_document_without_aliases_is_never_refused_for_its_size(monkeypatch):
    from promptreview.sources import safe_load

    monkeypatch.setattr(safe_load, "MAX_NODES", 10)  # what aliases may add: a document's own values are free
    rows = "".join(f"  - {{id: r{i}, ticket: 't {i}', channel: email, n: {i}}}\n" for i in range(300))
    assert len(load_yaml("testData:\n" + rows)["testData"]) == 300
    with pytest.raises(Unparsable):
        load_yaml(billion_laughs(4))  # 9^4 values from a few lines
