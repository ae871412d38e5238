"""Real prompt files from public repositories (tests/fixtures/prompts/, each with its licence and source) read
by promptreview and by the file's own framework: the request body promptreview sends is checked against the
reference implementation's rendering (prompty, dotpromptz, langchain-core, run here), or, for the tools whose
renderer is not a Python package (gh-models, Semantic Kernel, VS Code, promptfoo), against their documented
behaviour. Every body is also checked against OpenAI's own API description."""

from __future__ import annotations

import asyncio
import json
import re
import warnings
from typing import Any

import pytest

from promptreview.errors import UsageError
from promptreview.providers.openai import OpenAIProvider
from promptreview.records import CompletionRequest, ModelSpec
from promptreview.sources.formats import load_prompts
from promptreview.sources.template import PromptTemplate
from promptreview.sources.tools import function_tools
from tests.fixtures_path import FIXTURES
from tests.servers import assert_openai_valid

PROMPTS = FIXTURES / "prompts"


def _files(path: str) -> bytes | None:
    file = PROMPTS / path
    return file.read_bytes() if file.is_file() else None


def read(rel: str) -> tuple[PromptTemplate, ...]:
    return load_prompts(rel, (PROMPTS / rel).read_bytes(), _files)


def body(template: PromptTemplate, row: dict[str, Any], model: str = "gpt-4") -> dict[str, Any]:
    """The Chat Completions body promptreview sends for one row (its OpenAI provider's own `build_body`)."""
    request = CompletionRequest(
        model=ModelSpec("openai", model),
        messages=template.render(row, "row 1"),
        params=tuple(sorted((k, v) for k, v in template.params.items() if k != "tools")),
        response_schema=template.schema,
        schema_name=template.schema_name,
        json_object=template.json_object,
        tools=function_tools(template.path, template.params.get("tools")),  # as planning makes them
    )
    sent = OpenAIProvider(api_key="sk-test").build_body(request)
    assert_openai_valid("CreateChatCompletionRequest", sent)
    return sent


def _tokens(args: dict[str, Any]) -> Any:
    return args.get("max_completion_tokens", args.get("max_tokens"))


# -- Prompty: microsoft/prompty's own loader, renderer, parser and OpenAI executor ----------------------


@pytest.mark.parametrize(
    ("name", "inputs"),
    [("basic", {"question": "Why?"}), ("tools_function", {"question": "Weather in Oslo?"}), ("file_ref", {})],
)
def test_prompty_files_send_what_prompty_sends(name, inputs, monkeypatch):
    prompty = pytest.importorskip("prompty")
    from prompty.providers.openai.executor import OpenAIExecutor

    # the connection's `${env:...}` are prompty's to resolve; promptreview never sends a connection
    for var in ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.setenv(var, "https://example.invalid")
    agent = prompty.load(str(PROMPTS / "prompty" / f"{name}.prompty"))
    reference = OpenAIExecutor()._build_chat_args(agent, prompty.prepare(agent, inputs))
    template = read(f"prompty/{name}.prompty")[0]
    sent = body(template, inputs)
    assert sent["messages"] == reference["messages"]
    assert sent.get("tools") == reference.get("tools")
    assert sent.get("temperature") == reference.get("temperature")
    assert _tokens(sent) == _tokens(reference)


def test_prompty_env_outside_the_connection_is_refused(tmp_path):
    text = (
        (PROMPTS / "prompty" / "basic.prompty")
        .read_text()
        .replace("default: Jane", "default: ${env:USER_NAME}")
    )
    with pytest.raises(UsageError, match=r"inputs\[0\]\.default: \$\{env:USER_NAME\} is refused"):
        load_prompts("p/basic.prompty", text.encode())
    # in the model's connection it is credentials and endpoints, which a review never sends: not read at all
    assert read("prompty/env_test.prompty")[0].render({}, "r")[0].content == "Hello world."


# -- Dotprompt: Google's dotpromptz --------------------------------------------------------------------


def _dotpromptz_messages(source: str, data: dict[str, Any], partials: dict[str, str] | None = None):
    dotpromptz = pytest.importorskip("dotpromptz")
    from dotpromptz.typing import DataArgument

    rendered = asyncio.run(dotpromptz.Dotprompt(partials=partials).render(source, DataArgument(input=data)))
    out = []
    for message in rendered.messages:
        role = {"model": "assistant"}.get(message.role.value, message.role.value)
        text = "".join(part.text for part in message.content if getattr(part, "text", None))
        out.append({"role": role, "content": text.strip()})
    return out, rendered.config


def test_dotprompt_file_sends_what_dotpromptz_renders():
    source = (PROMPTS / "dotprompt" / "01-basic.prompt").read_text()
    row = {"question": "Why is the sky blue?", "context": None}  # a null is a value: `{{#if}}` is false
    reference, _ = _dotpromptz_messages(source, row)
    assert body(read("dotprompt/01-basic.prompt")[0], row)["messages"] == reference


def test_dotprompt_partials_optional_inputs_and_config_as_dotpromptz(tmp_path):
    source = (
        "---\nconfig:\n  temperature: 0.3\ninput:\n  schema:\n    topic: string\n    tone?: string\n---\n"
        '{{role "system"}}{{> house_style signature="The team"}}\n'
        '{{role "user"}}Write about {{topic}}.{{#if tone}} Tone: {{tone}}.{{/if}}\n'
    )
    partial = "You write for Acme.{{#if tone}} Keep it {{tone}}.{{/if}} Sign as {{signature}}."
    files = {"prompts/_house_style.prompt": partial.encode()}
    template = load_prompts("prompts/blog/post.prompt", source.encode(), files.get)[0]
    assert template.variables() - template.optional == {"topic"}  # `tone?` needs no column
    for row in ({"topic": "owls"}, {"topic": "owls", "tone": "dry"}):
        reference, config = _dotpromptz_messages(source, row, {"house_style": partial})
        sent = body(template, row)
        assert sent["messages"] == reference
        assert sent["temperature"] == config["temperature"]


def test_dotprompt_files_dotpromptz_refuses_are_refused():
    # `string[]` is not Picoschema, and `"formal" | "casual"` is not YAML: dotpromptz refuses both too
    for name in ("valid-blog-generator", "02-schema-and-config"):
        with pytest.raises(UsageError):
            read(f"dotprompt/{name}.prompt")
    # `{{#role}}...{{/role}}` blocks render no message in dotpromptz: nothing would be sent
    with pytest.raises(UsageError, match="renders to no message"):
        read("dotprompt/valid-customer-support.prompt")[0].render(
            {"name": "Ann", "email": "a@example.com", "company": "Acme"}, "row 1"
        )


# -- LangChain: langchain-core's load_prompt and its serialised form ----------------------------------


def _langchain_messages(prompt: Any, row: dict[str, Any]) -> list[dict[str, str]]:
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    if hasattr(prompt, "format_messages"):
        return [{"role": roles[m.type], "content": m.content} for m in prompt.format_messages(**row)]
    return [{"role": "user", "content": prompt.format(**row)}]


def test_langchain_file_sends_what_load_prompt_reads():
    pytest.importorskip("langchain_core")
    from langchain_core.prompts import load_prompt

    row = {"adjective": "funny"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # load_prompt is deprecated, and still what these files are read by
        reference = load_prompt(PROMPTS / "langchain" / "simple_prompt.yaml")
    assert body(read("langchain/simple_prompt.yaml")[0], row)["messages"] == _langchain_messages(
        reference, row
    )


def test_langchain_file_load_prompt_refuses_is_refused():
    pytest.importorskip("langchain_core")
    from langchain_core.prompts import load_prompt

    with pytest.raises(ValueError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_prompt(PROMPTS / "langchain" / "prompt_with_output_parser.json")
    with pytest.raises(UsageError, match="output_parser of type 'regex_parser' is refused"):
        read("langchain/prompt_with_output_parser.json")


def test_langchain_config_without_type_and_serialised_chat_as_langchain_reads_them(tmp_path):
    pytest.importorskip("langchain_core")
    from langchain_core.load import dumpd
    from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder, load_prompt

    config = json.loads((PROMPTS / "langchain" / "prompt_with_output_parser.json").read_text())
    del config["_type"], config["output_parser"]  # `load_prompt` defaults `_type` to `prompt`
    path = tmp_path / "no_type.json"
    path.write_text(json.dumps(config))
    row = {"question": "2+2?", "student_answer": "5"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = load_prompt(path)
    assert body(load_prompts("no_type.json", path.read_bytes())[0], row)["messages"] == _langchain_messages(
        reference, row
    )
    chat = ChatPromptTemplate.from_messages(
        [("system", "You are {persona}."), MessagesPlaceholder("history", optional=True), ("human", "{q}")]
    )
    row = {"persona": "a pirate", "q": "Where is the {gold}?"}
    ours = load_prompts("chat.json", json.dumps(dumpd(chat)).encode())[0]
    assert body(ours, row)["messages"] == _langchain_messages(chat, {**row, "history": []})
    # `load_prompt`'s own chat form: the first message's template, one human message
    simple = {"_type": "chat", "input_variables": ["q"], "messages": [{"prompt": {"template": "Q: {q}"}}]}
    path.write_text(json.dumps(simple))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = load_prompt(path)
    ours = load_prompts("simple_chat.json", path.read_bytes())[0]
    assert body(ours, {"q": "hi"})["messages"] == _langchain_messages(reference, {"q": "hi"})


# -- GitHub Models: gh-models' `prompt.TemplateString` (exact `{{key}}` replacement), from its source ------


@pytest.mark.parametrize(
    "name",
    ["sample_prompt", "json_schema_prompt", "json_response_prompt", "template_variables_prompt",
     "advanced_template_prompt"],
)  # fmt: skip
def test_github_models_files_send_what_gh_models_sends(name):
    doc = __import__("yaml").safe_load((PROMPTS / "github-models" / f"{name}.yml").read_text())
    template = read(f"github-models/{name}.yml")[0]
    row = dict.fromkeys(template.variables(), "VALUE")
    if doc.get("testData"):
        row = {**row, **doc["testData"][0]}

    def gh_models(text: str) -> str:  # gh-models' TemplateString: each key of the row, `{{key}}` replaced
        for key, value in row.items():
            text = text.replace("{{" + key + "}}", str(value))
        return text

    expected = [{"role": m["role"], "content": gh_models(m["content"])} for m in doc["messages"]]
    sent = body(template, row)
    assert sent["messages"] == expected
    params = doc.get("modelParameters") or {}
    assert sent.get("temperature") == params.get("temperature")
    assert _tokens(sent) == params.get("maxTokens")
    if doc.get("responseFormat") == "json_object":
        assert sent["response_format"] == {"type": "json_object"}


def test_github_models_spaced_placeholders_are_sent_as_written_and_named():
    text = "messages:\n  - role: user\n    content: 'Hi {{name}}, about {{ topic }}'\n"
    template = load_prompts("p.prompt.yml", text.encode())[0]
    assert template.variables() == {"name"}
    assert body(template, {"name": "Ann", "topic": "owls"})["messages"] == [
        {"role": "user", "content": "Hi Ann, about {{ topic }}"}
    ]
    [warning] = [w for w in template.warnings if w.kind == "placeholder_unfilled"]
    assert warning.data["placeholders"] == "{{ topic }}"


# -- Semantic Kernel: KernelPromptTemplate + ChatHistory.from_rendered_prompt, as documented ---------------


def test_semantic_kernel_prompt_with_its_config_json():
    template = read("semantic-kernel/FunPlugin/Joke/skprompt.txt")[0]
    assert template.format == "semantic-kernel"
    assert template.defaults == {"input": "", "style": ""}  # config.json's input_variables defaults
    sent = body(template, {"input": "cats & <dogs>"})
    source = (PROMPTS / "semantic-kernel/FunPlugin/Joke/skprompt.txt").read_text()
    # one message (no <message> tags): the whole prompt as the user's; the value escaped, then unescaped
    expected = source.replace("{{$style}}", "").replace("{{$input}}", "cats & <dogs>").strip()
    assert sent["messages"] == [{"role": "user", "content": expected}]
    assert (sent["temperature"], sent["top_p"], _tokens(sent)) == (0.9, 0.0, 1000)


@pytest.mark.parametrize("plugin", ["SummarizePlugin/Summarize", "WriterPlugin/Acronym"])
def test_semantic_kernel_sample_prompts_read(plugin):
    template = read(f"semantic-kernel/{plugin}/skprompt.txt")[0]
    sent = body(template, {"input": "Some text."})
    source = (PROMPTS / f"semantic-kernel/{plugin}/skprompt.txt").read_text()
    # Semantic Kernel's documented behaviour: without <message> tags the rendered prompt is one user message
    expected = source.replace("{{$input}}", "Some text.").strip()
    assert sent["messages"] == [{"role": "user", "content": expected}]
    config = json.loads((PROMPTS / f"semantic-kernel/{plugin}/config.json").read_text())
    assert _tokens(sent) == config["execution_settings"]["default"]["max_tokens"]


def test_semantic_kernel_function_calls_are_refused_with_a_line():
    template = read("semantic-kernel/ChatPlugin/ChatGPT/skprompt.txt")[0]
    with pytest.raises(UsageError, match=r"\{\{date\}\} calls a function of the application"):
        template.variables()


def test_semantic_kernel_message_tags_are_chat_messages():
    text = '<message role="system">Be {{$tone}}.</message>\n<message role="user" name="ann">{{$q}}</message>'
    template = load_prompts("sk/Chat/skprompt.txt", text.encode())[0]
    assert body(template, {"tone": "brief", "q": "a < b?"})["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "a < b?"},
    ]


# -- VS Code prompt files (github/awesome-copilot) -----------------------------------------------------


@pytest.mark.parametrize(
    "name", ["create-readme", "csharp-xunit", "arch-linux-triage", "create-architectural-decision-record"]
)
def test_vscode_prompt_files_are_read_as_the_users_message_not_as_dotprompt(name):
    template = read(f"vscode/{name}.prompt.md")[0]
    assert template.format == "vscode"
    row = dict.fromkeys(template.variables(), "VALUE")
    [message] = body(template, row)["messages"]
    body_text = (PROMPTS / "vscode" / f"{name}.prompt.md").read_text().split("---", 2)[2].strip()
    # VS Code's documented behaviour: the body after the front matter is the user's message, each
    # `${input:name}` (or `${input:name:placeholder}`) replaced by what the user typed
    expected = re.sub(r"\$\{input:([A-Za-z0-9_]+)(:[^}]*)?\}", "VALUE", body_text)
    assert message == {"role": "user", "content": expected}
    assert any(w.kind == "editor_prompt" for w in template.warnings)


def test_vscode_inputs_are_suite_columns():
    template = read("vscode/arch-linux-triage.prompt.md")[0]
    assert template.variables() == {"ArchSnapshot", "ProblemSummary", "Constraints"}


# -- promptfoo: a `.txt` of prompts between `---` lines ------------------------------------------------


def test_promptfoo_files_are_one_prompt_per_part():
    parts = read("promptfoo/gpt-3.5-vs-4.prompts.txt")
    assert [p.path for p in parts] == [f"promptfoo/gpt-3.5-vs-4.prompts.txt#{i}" for i in range(1, 6)]
    assert body(parts[3], {})["messages"] == [{"role": "user", "content": "What year is it?"}]
    translations = read("promptfoo/multiple-translations.prompts.txt")
    assert body(translations[1], {"language": "French", "input": "hello"})["messages"] == [
        {"role": "user", "content": "Speak in French: hello"}
    ]


def test_every_fixture_has_a_licence_and_a_source():
    listed = (PROMPTS / "README.md").read_text()
    for folder in sorted(p for p in PROMPTS.iterdir() if p.is_dir()):
        assert (folder / "LICENSE").is_file(), folder.name
        for file in folder.rglob("*"):
            if file.is_file() and file.name != "LICENSE":
                assert str(file.relative_to(PROMPTS)) in listed, f"{file} has no source in README.md"


def test_there_are_at_least_twenty_real_prompt_files():
    kinds = (".yml", ".prompty", ".prompt", ".md", ".txt", ".yaml", ".json")
    prompts = [
        p for p in PROMPTS.rglob("*")
        if p.is_file() and p.suffix in kinds and p.name not in ("README.md", "config.json", "schema.json")
    ]  # fmt: skip
    assert len(prompts) >= 20, len(prompts)
