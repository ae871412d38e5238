"""The closed sets are types (`vocabulary.py`): their words are the JSON report's and the config's, and a value
from outside is narrowed to its set where it comes in."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, get_args

import pytest

from promptreview import vocabulary
from promptreview.engine.execution.cache import _response
from promptreview.errors import UsageError
from promptreview.providers import parse_model_spec
from promptreview.sources.config import parse_config
from promptreview.sources.formats.reading import chat_messages


def _schema(package: str, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(resources.files(package).joinpath(name).read_text("utf-8"))
    return schema


REPORT = _schema("promptreview.report", "report.schema.json")
CONFIG = _schema("promptreview.sources", "config.schema.json")


def _at(schema: dict[str, Any], path: str) -> Any:
    node: Any = schema
    for part in path.split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


@pytest.mark.parametrize(
    ("schema", "path", "words"),
    [
        (REPORT, "$defs/prompt/properties/change/enum", vocabulary.ChangeKind),
        (REPORT, "$defs/prompt/properties/output_mode/enum", vocabulary.OutputMode),
        (
            REPORT,
            "$defs/prompt/properties/distribution_shift/items/properties/kind/enum",
            vocabulary.ShiftKind,
        ),
        (REPORT, "$defs/prompt/properties/sequential/properties/reason/enum", vocabulary.SequentialReason),
        (REPORT, "$defs/evaluator/properties/kind/enum", vocabulary.CheckKind),
        (REPORT, "$defs/evaluator/properties/units/enum", vocabulary.CheckUnits),
        (CONFIG, "properties/prompts/items/properties/output/enum", vocabulary.ConfiguredOutputMode),
        (
            CONFIG,
            "properties/prompts/items/properties/sample/properties/allocation/enum",
            vocabulary.Allocation,
        ),
        (
            CONFIG,
            "properties/prompts/items/properties/expect/additionalProperties/oneOf/1/properties/match/enum",
            vocabulary.ExpectMatch,
        ),
        (CONFIG, "properties/removal/enum", vocabulary.Removal),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_each_closed_set_has_the_words_of_its_schema(schema: dict[str, Any], path: str, words: Any) -> None:
    assert sorted(_at(schema, path)) == sorted(get_args(words))


def test_the_rate_names_are_the_rates_the_report_schema_requires() -> None:
    assert vocabulary.JSON_RATES == tuple(REPORT["$defs"]["rates"]["required"])
    assert set(REPORT["$defs"]["text_rates"]["required"]) < set(get_args(vocabulary.RateName))
    # the gated outcomes, `error`, text mode's features and the tool calls' faults, each once
    assert sorted(get_args(vocabulary.RateName)) == sorted(
        {*vocabulary.RATE_OUTCOMES, "error", *vocabulary.TEXT_FEATURES, *vocabulary.TOOL_RATES}
    )
    # every rate with a gate has its gate in the config schema
    assert set(vocabulary.GATED_RATES) <= set(_at(CONFIG, "properties/gates/properties"))


def test_sample_batching_takes_yaml_booleans_as_its_words() -> None:
    words = [w for w in _at(CONFIG, "properties/sample_batching/enum") if isinstance(w, str)]
    assert sorted(words) == sorted(vocabulary.SAMPLE_BATCHINGS)


def test_one_of_gives_the_word_or_none() -> None:
    assert vocabulary.one_of("head", vocabulary.SIDES) == "head"
    assert vocabulary.one_of("HEAD", vocabulary.SIDES) is None
    assert vocabulary.one_of(None, vocabulary.SIDES) is None
    assert vocabulary.one_of(["head"], vocabulary.SIDES) is None  # unhashable: compared, never hashed


CONFIG_TEXT = """\
version: 1
removal: allow
sample_batching: off
prompts:
  - files: "prompts/*.prompt.yml"
    suite: suites/a.jsonl
    output: text
    sample: {size: 10, allocation: equal}
"""


def test_the_config_narrows_its_words_where_it_is_read() -> None:
    config = parse_config(CONFIG_TEXT)
    assert (config.removal, config.sample_batching) == ("allow", "off")  # `off` is YAML's false
    entry = config.prompts[0]
    assert (entry.output, entry.sample.allocation) == ("text", "equal")


def test_a_word_outside_its_set_is_refused_where_it_comes_in() -> None:
    with pytest.raises(UsageError, match="removal: must be one of review, allow"):
        parse_config(CONFIG_TEXT.replace("removal: allow", "removal: sometimes"))
    with pytest.raises(UsageError, match=r"messages\[0\].role must be one of system, user, assistant"):
        chat_messages("p.json", [{"role": "narrator", "content": "hi"}])
    with pytest.raises(UsageError, match="unknown model provider 'nope'"):
        parse_model_spec("nope:model")
    assert parse_model_spec(" OpenAI : gpt-4o-2024-08-06").provider == "openai"


@pytest.mark.parametrize(
    ("stored", "read"), [("stop", "stop"), ("length", "length"), ("eos", "other"), (None, None), ("", None)]
)
def test_a_cached_finish_reason_is_narrowed_as_a_providers_is(stored: str | None, read: str | None) -> None:
    response = _response(json.dumps({"text": "{}", "finish_reason": stored}))
    assert response.finish_reason == read
