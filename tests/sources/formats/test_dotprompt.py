"""Dotprompt files, read as the reference tool reads them. (Detection and the rules every format shares:
tests/sources/formats/test_formats.py.)"""

from __future__ import annotations

import pytest

from promptreview.errors import UsageError
from promptreview.notes import note
from promptreview.report.notes import words
from promptreview.sources.formats import load_prompt


def sent(template, **row):
    return [(m.role, m.content) for m in template.render(row, "row 1")]


DOTPROMPT = """---
model: googleai/gemini-1.5-flash
config:
  temperature: 0.9
  maxOutputTokens: 50
  topK: 20
  stopSequences: ["\\n\\n"]
input:
  schema:
    name: string
    items(array): string
  default:
    name: friend
output:
  format: json
  schema:
    greeting: string, the greeting
    mood?(enum): [happy, sad]
    tags(array): string
---
{{role "system"}}
You greet people. {{json items}}
{{#each items}}- {{this}}
{{/each}}
{{role "user"}}
Hello, I am {{name}} <b>!</b>
{{role "model"}}
Hi.
"""


def test_dotprompt_handlebars_roles_config_defaults_and_picoschema():
    t = load_prompt("greet.prompt", DOTPROMPT.encode())
    assert t.format == "dotprompt" and t.engine.name == "handlebars"
    assert dict(t.params) == {"temperature": 0.9, "max_tokens": 50, "top_k": 20, "stop": ["\n\n"]}
    # Genkit's `googleai/` plugin is the Gemini API: the file's model runs there, as in production
    assert t.model_hint == "gemini:gemini-1.5-flash" and t.model_named == "googleai/gemini-1.5-flash"
    assert t.warnings == ()
    assert t.schema == {
        "type": "object",
        "properties": {
            "greeting": {"type": "string", "description": "the greeting"},
            "mood": {"enum": ["happy", "sad", None]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["greeting", "tags"],
        "additionalProperties": False,
    }
    assert t.variables() == {"items", "name"}  # `this` inside #each is the item's
    assert sent(t, items=["a", "b"]) == [
        ("system", 'You greet people. ["a","b"]\n- a\n- b'),
        ("user", "Hello, I am friend <b>!</b>"),  # no HTML escaping, the default applied
        ("assistant", "Hi."),
    ]


def test_dotprompt_models_of_genkit_plugins_we_speak_and_one_we_do_not():
    def model(name: str) -> tuple[str | None, str | None]:
        t = load_prompt("m.prompt", f"---\nmodel: {name}\n---\nHi".encode())
        return t.model_hint, t.model_named

    assert model("vertexai/gemini-2.0-flash-001") == (
        "gemini:gemini-2.0-flash-001",
        "vertexai/gemini-2.0-flash-001",
    )
    assert model("anthropic/claude-sonnet-4-5-20250929") == (
        "anthropic:claude-sonnet-4-5-20250929",
        "anthropic/claude-sonnet-4-5-20250929",
    )
    # no provider of ours: named, for the planner to find a stand-in (models_map, else the config's model)
    assert model("mistral/mistral-large-2411") == (None, "mistral/mistral-large-2411")


def test_dotprompt_without_markers_is_one_user_message_and_prompt_md():
    t = load_prompt("p.prompt.md", b"---\ninput:\n  schema: {q: string}\n---\nAnswer: {{q}}\n")
    assert sent(t, q="why") == [("user", "Answer: why")]
    assert t.output is None and t.schema is None
    json_schema = b"---\noutput:\n  schema: {type: object, properties: {a: {type: string}}}\n---\nx"
    assert load_prompt("p.prompt", json_schema).schema == {
        "type": "object",
        "properties": {"a": {"type": "string"}},
    }


def test_dotprompt_schema_defined_in_code_is_a_warning_and_json_mode():
    t = load_prompt(
        "r.prompt", b"---\nmodel: openai/gpt-4o\noutput:\n  schema: Recipe\n---\nA recipe for {{food}}."
    )
    assert t.schema is None and t.output == "json" and t.json_object
    assert t.model_hint == "openai:gpt-4o" and t.warnings == (
        note("schema_in_code", "r.prompt", schema="Recipe"),
    )
    assert words(t.warnings[0]) == (
        "r.prompt: output.schema 'Recipe' is defined in code, not in the file: outputs are checked as JSON but "
        "not validated"
    )
    assert sent(t, food="soup") == [("user", "A recipe for soup.")]


def test_the_log_helper_renders_nothing_and_writes_nowhere(capsys):
    """Handlebars' `{{log}}` prints to the renderer's console: in CI, the job's log, where a line the pull
    request wrote would be obeyed as a workflow command."""
    source = (
        '---\ninput:\n  schema: {q: string}\n---\nAnswer: {{q}}{{log "::error file=x::smuggled"}}'
        '{{log "##[warning]legacy" level="error"}}{{log q}}\n'
    )
    t = load_prompt("p.prompt", source.encode())
    assert sent(t, q="why") == [("user", "Answer: why")]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_optional_inputs_need_no_column_and_a_null_is_a_value():
    from promptreview.sources.template import check_template

    text = b"---\ninput:\n  schema:\n    q: string\n    tone?: string\n  default:\n    lang: en\n---\n{{q}}{{#if tone}} ({{tone}}){{/if}} [{{lang}}]"
    t = load_prompt("p.prompt", text)
    check_template(t, {"q"}, "the suite")  # neither `tone?` nor the defaulted `lang` needs a column
    assert t.null_is_value
    assert sent(t, q="hi", tone=None) == [("user", "hi [en]")]


def test_partials_come_from_beside_the_prompt_then_the_entrys_partials_folder():
    from promptreview.sources.formats import load_prompts
    from promptreview.sources.formats.base import Beside

    files = {
        "prompts/support/_greet.prompt": b"Hello from beside.",
        "shared/partials/sign.prompt": b"-- Acme",
    }
    text = b'{{role "user"}}{{> greet}} {{q}} {{> sign}}'
    t = load_prompts("prompts/support/reply.prompt", text, Beside(files.get, "shared/partials"))[0]
    assert sent(t, q="Hi") == [("user", "Hello from beside. Hi -- Acme")]
    with pytest.raises(UsageError, match="partial 'sign' not found"):
        load_prompts("prompts/support/reply.prompt", text, files.get)


def test_dotprompt_config_version_which_genkit_sends_as_the_model_is_refused():
    """Red team 2, finding 8: Genkit's Google AI / Vertex AI plugins send `config.version` instead of `model`."""
    text = "---\nmodel: googleai/gemini-1.5-flash\nconfig:\n  version: gemini-1.5-flash-8b\n---\nHi"
    with pytest.raises(UsageError) as info:
        load_prompt("m.prompt", text.encode())
    assert str(info.value).startswith("m.prompt: config.version 'gemini-1.5-flash-8b' is refused")
