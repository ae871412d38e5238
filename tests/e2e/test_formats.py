"""`promptreview check` on a repository whose prompts are a Prompty file, a Dotprompt file, a LangChain JSON,
a gh-models `*_prompt.yml` carrying its own testData, and a prose `.txt`: what reaches the model (roles, order,
rendered text, parameters, schema) is what each file says, and each prompt gets a sensible review."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_installed
from tests.reports import assert_valid_report
from tests.servers import ScriptedServer, openai_compatible_handler

pytestmark = pytest.mark.e2e

MODEL = "gpt-4o-mini-2024-07-18"

PROMPTY = """---
name: Support answer
model:
  api: chat
  configuration:
    type: openai
    name: gpt-4o-mini-2024-07-18
  parameters:
    temperature: 0.2
    max_tokens: 150
inputs:
  ticket:
    type: string
  tone:
    type: string
    default: friendly
---
system:
You are a {{tone}} support agent for Lumen.

user:
{{ticket}}
"""

DOTPROMPT = """---
model: googleai/gemini-2.0-flash-001
config:
  temperature: 0.3
  maxOutputTokens: 200
input:
  schema:
    ticket: string
    product?: string
  default:
    product: Lumen
output:
  format: json
  schema:
    category(enum): [billing, technical, other]
    summary: string, one sentence
---
{{role "system"}}
You classify tickets for {{product}}.
{{role "user"}}
Ticket: {{ticket}}
"""

LANGCHAIN = {
    "lc": 1,
    "type": "constructor",
    "id": ["langchain", "prompts", "chat", "ChatPromptTemplate"],
    "kwargs": {
        "input_variables": ["ticket"],
        "messages": [
            {
                "lc": 1,
                "type": "constructor",
                "id": ["langchain", "prompts", "chat", "SystemMessagePromptTemplate"],
                "kwargs": {
                    "prompt": {
                        "lc": 1,
                        "type": "constructor",
                        "id": ["langchain", "prompts", "prompt", "PromptTemplate"],
                        "kwargs": {
                            "input_variables": [],
                            "template": "You write short, polite replies. Use {{braces}} literally.",
                            "template_format": "f-string",
                        },
                    }
                },
            },
            {
                "lc": 1,
                "type": "constructor",
                "id": ["langchain", "prompts", "chat", "HumanMessagePromptTemplate"],
                "kwargs": {
                    "prompt": {
                        "lc": 1,
                        "type": "constructor",
                        "id": ["langchain", "prompts", "prompt", "PromptTemplate"],
                        "kwargs": {
                            "input_variables": ["ticket"],
                            "template": "Customer wrote: {ticket}",
                            "template_format": "f-string",
                        },
                    }
                },
            },
        ],
    },
}

TICKETS = ["My card was charged twice", "The app crashes on start", "Where is my parcel?",
           "I forgot my password", "Refund please", "Invoice is wrong"]  # fmt: skip

GH_MODELS = (
    "name: Triage\nmodel: openai/gpt-4.1\nmodelParameters:\n  maxCompletionTokens: 120\n  temperature: 0.5\n"
    "  seed: 7\n  frequencyPenalty: 0.1\n  reasoningEffort: low\n"
    "messages:\n  - role: system\n    content: Classify the ticket.\n  - role: user\n    content: '{{input}}'\n"
    "responseFormat: json_schema\n"
    'jsonSchema: \'{"name": "triage", "strict": true, "schema": {"type": "object", "properties": '
    '{"category": {"type": "string"}}, "required": ["category"], "additionalProperties": false}}\'\n'
    "testData:\n" + "".join(f"  - input: {t}\n" for t in TICKETS)
)

PROSE = "Write a helpful reply to this customer ticket:\n\n{{ticket}}\n"

CONFIG = f"""version: 1
model: openai:{MODEL}
samples: 2
concurrency: 4
prompts:
  - files: prompts/answer.prompty
    suite: data/tickets.jsonl
  - files: prompts/classify.prompt
    suite: data/tickets.jsonl
  - files: prompts/reply.json
    suite: data/tickets.jsonl
  - files: prompts/triage_prompt.yml
  - files: prompts/answer.txt
    suite: data/tickets.jsonl
"""


def answer(body: dict) -> str:
    """JSON when asked for a schema, else prose: a longer one when the prompt asks for detail."""
    fmt = body.get("response_format") or {}
    user = body["messages"][-1]["content"]
    if fmt.get("type") == "json_schema":
        props = fmt["json_schema"]["schema"].get("properties", {})
        value = {"category": "billing" if "charge" in user or "Refund" in user else "other"}
        if "summary" in props:
            value["summary"] = user[:40]
        return json.dumps(value)
    system = " ".join(m["content"] for m in body["messages"] if m["role"] == "system")
    if "in detail" in system or "in detail" in user:
        return (
            "## Answer\n\nThank you for writing.\n\n- Step one\n- Step two\n\nSee https://help.example.com."
        )
    return "Thanks for reaching out, we are on it."


def test_check_reviews_every_format_and_sends_what_the_files_say(git_repo):
    repo = git_repo
    repo.write("promptreview.yml", CONFIG)
    repo.write("data/tickets.jsonl", "".join(json.dumps({"id": f"t{i}", "ticket": t, "email": "x@example.com"}) + "\n"
                                             for i, t in enumerate(TICKETS * 2)))  # fmt: skip
    repo.write("prompts/answer.prompty", PROMPTY)
    repo.write("prompts/classify.prompt", DOTPROMPT)
    repo.write("prompts/reply.json", json.dumps(LANGCHAIN))
    repo.write("prompts/triage_prompt.yml", GH_MODELS)
    repo.write("prompts/answer.txt", PROSE)
    repo.commit("base")
    repo.write(
        "prompts/answer.prompty",
        PROMPTY.replace("support agent for Lumen.", "support agent for Lumen. Answer in detail."),
    )
    repo.write("prompts/classify.prompt", DOTPROMPT.replace("You classify", "You carefully classify"))
    repo.write("prompts/reply.json", json.dumps(LANGCHAIN).replace("short, polite", "short, warm"))
    repo.write(
        "prompts/triage_prompt.yml",
        GH_MODELS.replace("Classify the ticket.", "Classify the ticket carefully."),
    )
    repo.write("prompts/answer.txt", PROSE.replace("helpful reply", "helpful reply, in detail,"))
    repo.commit("edit every prompt")

    out = repo.root / "report.json"
    with ScriptedServer(openai_compatible_handler(answer)) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test",
               "GEMINI_BASE_URL": f"{server.url}/gemini", "GEMINI_API_KEY": "AIza-test",
               "GITHUB_MODELS_BASE_URL": f"{server.url}/inference", "GITHUB_TOKEN": "ghs_test"}  # fmt: skip
        result = run_installed(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "--output",
                                str(out)], repo.root, env=env)  # fmt: skip
        bodies = [r.json for r in server.requests]
        where = {json.dumps(r.json["messages"]): r.path for r in server.requests}
    assert "Traceback" not in result.err, result.err
    assert result.code in (0, 1), result.err
    report = json.loads(out.read_text())
    assert_valid_report(report)
    by_path = {p["path"]: p for p in report["prompts"]}
    assert set(by_path) == {"prompts/answer.prompty", "prompts/classify.prompt", "prompts/reply.json",
                            "prompts/triage_prompt.yml", "prompts/answer.txt"}  # fmt: skip
    assert {p: by_path[p]["output_mode"] for p in by_path} == {
        "prompts/answer.prompty": "text",
        "prompts/classify.prompt": "json",
        "prompts/reply.json": "text",
        "prompts/triage_prompt.yml": "json",
        "prompts/answer.txt": "text",
    }

    def sent(marker: str, path: str = "/v1/chat/completions") -> list[dict]:
        """The bodies whose messages hold `marker`, each checked to have gone to `path` (its provider)."""
        found = [b for b in bodies if marker in json.dumps(b["messages"])]
        assert {where[json.dumps(b["messages"])] for b in found} == {path}
        return found

    # Prompty: role markers split the rendered body; the input default applies; model.parameters are sent
    prompty = sent("support agent for Lumen")
    assert prompty and all(b["model"] == MODEL for b in prompty)
    first = prompty[0]
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert first["messages"][0]["content"].startswith("You are a friendly support agent for Lumen.")
    assert first["messages"][1]["content"] in TICKETS
    assert first["temperature"] == 0.2 and first["max_tokens"] == 150
    # Dotprompt: Handlebars with the default, role helpers, config, and the Picoschema as the schema sent
    # (on Gemini: the file's `googleai/` model, not the config's)
    dot = sent("classify tickets for Lumen", "/gemini/chat/completions")
    assert all(b["model"] == "gemini-2.0-flash-001" for b in dot)
    assert dot and [m["role"] for m in dot[0]["messages"]] == ["system", "user"]
    assert dot[0]["messages"][0]["content"] in (
        "You classify tickets for Lumen.",
        "You carefully classify tickets for Lumen.",
    )
    assert dot[0]["messages"][1]["content"].startswith("Ticket: ")
    assert dot[0]["temperature"] == 0.3 and dot[0]["max_tokens"] == 200
    schema = dot[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["category"] == {"enum": ["billing", "technical", "other"]}
    assert schema["required"] == ["category", "summary"]
    # LangChain: f-string with a literal {{ }} brace pair
    lc = sent("Customer wrote:")
    assert lc[0]["messages"][0] == {"role": "system", "content": lc[0]["messages"][0]["content"]}
    assert lc[0]["messages"][0]["content"].endswith("Use {braces} literally.")
    assert lc[0]["messages"][1]["content"].startswith("Customer wrote: ")
    # gh-models *_prompt.yml: its testData is the suite, every known parameter is sent, the schema kept
    gh = sent("Classify the ticket", "/inference/chat/completions")
    assert {b["messages"][1]["content"] for b in gh} == set(TICKETS)
    assert all(b["model"] == "openai/gpt-4.1" for b in gh)  # the file's model, on GitHub Models
    assert gh[0]["max_completion_tokens"] == 120 and gh[0]["seed"] == 7 and gh[0]["frequency_penalty"] == 0.1
    assert "reasoningEffort" not in gh[0]
    assert gh[0]["response_format"]["json_schema"]["name"] == "triage"
    triage = by_path["prompts/triage_prompt.yml"]
    assert triage["n_inputs"] == len(TICKETS)
    assert any("testData" in n for n in triage["notes"])
    assert any("reasoningEffort" in w for w in triage["warnings"])
    # text mode: no parse failures or schema violations, text features measured instead
    prose = by_path["prompts/answer.txt"]
    assert "parse_failure" not in prose["rates"] and "schema_violation" not in prose["rates"]
    assert prose["rates"]["heading"]["base"] == 0 and prose["rates"]["heading"]["head"] == 1
    assert prose["rates"]["link"]["head"] == 1
    fields = {s["field"] for s in prose["distribution_shift"]}
    assert "(answer length, characters)" in fields
    # examples carry only the columns the template uses: never the e-mail address
    assert "x@example.com" not in out.read_text()


GH_ONLY = """version: 1
samples: 2
prompts:
  - files: "prompts/*_prompt.yml"
"""


def test_github_models_file_as_found_is_planned_and_reviewed_unpinned(git_repo):
    """`model: openai/gpt-4.1`, no config model, no suite: --plan and the review both run, with the note."""
    repo = git_repo
    repo.write("promptreview.yml", GH_ONLY)
    repo.write("prompts/triage_prompt.yml", GH_MODELS)
    repo.commit("base")
    repo.write("prompts/triage_prompt.yml", GH_MODELS.replace("Classify the ticket.", "Classify it."))
    repo.commit("edit")
    plan = run_installed(["check", "--base", "HEAD~1", "--head", "HEAD", "--plan"], repo.root)
    assert plan.code == 0, plan.err
    assert "github:openai/gpt-4.1" in plan.out
    out = repo.root / "report.json"
    served = "openai/gpt-4.1-2025-04-14"
    with ScriptedServer(openai_compatible_handler(answer, served_model=served)) as server:
        env = {"GITHUB_MODELS_BASE_URL": f"{server.url}/inference", "GITHUB_TOKEN": "ghs_test"}
        result = run_installed(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "--output",
                                str(out)], repo.root, env=env)  # fmt: skip
        models = {r.json["model"] for r in server.requests}
    assert result.code in (0, 1), result.err
    assert models == {"openai/gpt-4.1"}
    prompt = json.loads(out.read_text())["prompts"][0]
    assert any(
        n == f"unpinned: both sides ran in the same job minutes apart; the served id was {served}"
        for n in prompt["notes"]
    )
