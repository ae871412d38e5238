"""The prompt file's own model and parameters are what a review sends (issue 20, item 1): the config's `model`
and `params` fill only what a file leaves out; a file's model runs on the provider that serves it (GitHub
Models, Gemini through its OpenAI-compatible endpoint); `models_map` says what stands in for one that cannot be
reached, and the report says so; a model change in a file is reviewed old model against new. Real HTTP to one
loopback server that answers for OpenAI (`/v1`), GitHub Models (`/inference`) and Gemini (`/gemini`)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.conftest import run_installed
from tests.reports import assert_valid_report
from tests.servers import ScriptedServer, openai_compatible_handler

pytestmark = pytest.mark.e2e

TICKETS = ["My card was charged twice", "The app crashes on start", "Where is my parcel?",
           "I forgot my password", "Refund please", "Invoice is wrong"]  # fmt: skip

# what `promptreview init` writes today: a model and parameters for every file that names none
INIT_CONFIG = """version: 1
model: openai:gpt-4o-mini-2024-07-18
params: {temperature: 0.7, max_tokens: 400}
samples: 2
models: [github:openai/gpt-4o, github:openai/gpt-4.1]
prompts:
  - files: "prompts/**/*.prompt.yml"
"""

GH_FILE = (
    "name: Triage\nmodel: openai/gpt-4o\nmodelParameters:\n  temperature: 0.2\n"
    "messages:\n  - role: system\n    content: Answer the customer briefly.\n  - role: user\n    content: '{{input}}'\n"
    "testData:\n" + "".join(f"  - input: {t}\n" for t in TICKETS)
)

KEYS = {"OPENAI_API_KEY": "sk-test", "GITHUB_TOKEN": "ghs_test", "GEMINI_API_KEY": "AIza-test"}


def env_for(server: ScriptedServer) -> dict[str, str]:
    return {
        "OPENAI_BASE_URL": f"{server.url}/v1",
        "GITHUB_MODELS_BASE_URL": f"{server.url}/inference",
        "GEMINI_BASE_URL": f"{server.url}/gemini",
        **KEYS,
    }


def review(repo, *extra: str):
    out = repo.root / "report.json"
    with ScriptedServer(openai_compatible_handler(lambda body: "Thanks, we are on it.")) as server:
        result = run_installed(["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "--output",
                                str(out), *extra], repo.root, env=env_for(server))  # fmt: skip
        requests = list(server.requests)
    assert "Traceback" not in result.err, result.err
    report = json.loads(out.read_text()) if out.exists() else None
    if report is not None:
        assert_valid_report(report)
    return result, requests, report


def test_a_model_migration_in_the_file_runs_old_on_old_and_new_on_new_with_the_files_parameters(git_repo):
    """The issue's case: under init's config, `openai/gpt-4o` -> `openai/gpt-4.1` ran both sides on the config's
    gpt-4o-mini with identical requests, and passed. Now each side runs on its own file's model, on GitHub
    Models, with the file's temperature; the config's max_tokens fills only what the file leaves out."""
    repo = git_repo
    repo.write("promptreview.yml", INIT_CONFIG)
    repo.write("prompts/triage.prompt.yml", GH_FILE)
    repo.commit("base")
    repo.write(
        "prompts/triage.prompt.yml", GH_FILE.replace("model: openai/gpt-4o\n", "model: openai/gpt-4.1\n")
    )
    repo.commit("move the prompt to gpt-4.1")

    result, requests, report = review(repo)
    assert result.code in (0, 1), result.err
    assert {r.path for r in requests} == {
        "/inference/chat/completions"
    }  # GitHub Models, never the config's OpenAI
    models = Counter(r.json["model"] for r in requests)
    assert (
        set(models) == {"openai/gpt-4o", "openai/gpt-4.1"}
        and models["openai/gpt-4o"] == models["openai/gpt-4.1"]
    )
    assert {(r.json["temperature"], r.json["max_tokens"]) for r in requests} == {(0.2, 400)}
    prompt = report["prompts"][0]
    assert (
        prompt["model"]["base"] == "github:openai/gpt-4o"
        and prompt["model"]["head"] == "github:openai/gpt-4.1"
    )
    assert (
        "model migration from github:openai/gpt-4o to github:openai/gpt-4.1: the base side runs on the old "
        "model, the head side on the new one" in prompt["notes"]
    )
    # a pull request that only moves prompts to another model reads as a model migration (issue 23, item 2)
    assert report["migration"] == {"from": "github:openai/gpt-4o", "to": "github:openai/gpt-4.1"}


DOTPROMPT = """---
model: {model}
config:
  temperature: 0.3
input:
  schema:
    ticket: string
---
{{{{role "system"}}}}
You answer tickets for {name}.
{{{{role "user"}}}}
{{{{ticket}}}}
"""

MAP_CONFIG = """version: 1
model: openai:gpt-4o-mini-2024-07-18
samples: 2
models_map:
  "mistral/mistral-large-2411": openai:gpt-4o-2024-11-20
  "github:openai/gpt-4o": openai:gpt-4o-2024-08-06
prompts:
  - files: "prompts/*.prompt"
    suite: data/tickets.jsonl
  - files: "prompts/*.prompt.yml"
"""


def test_each_file_runs_on_its_own_provider_or_on_what_models_map_stands_in(git_repo):
    repo = git_repo
    repo.write("promptreview.yml", MAP_CONFIG)
    repo.write("data/tickets.jsonl", "".join(json.dumps({"id": f"t{i}", "ticket": t}) + "\n"
                                             for i, t in enumerate(TICKETS)))  # fmt: skip
    files = {
        "prompts/gemini.prompt": DOTPROMPT.format(model="googleai/gemini-2.0-flash-001", name="Gemini"),
        "prompts/mapped.prompt": DOTPROMPT.format(model="mistral/mistral-large-2411", name="Mapped"),
        "prompts/unmapped.prompt": DOTPROMPT.format(model="cohere/command-r", name="Unmapped"),
        "prompts/gh.prompt.yml": GH_FILE.replace("Answer the customer", "GH answer the customer"),
    }
    for path, text in files.items():
        repo.write(path, text)
    repo.commit("base")
    for path, text in files.items():
        repo.write(path, text.replace("answer", "kindly answer").replace("You answer", "You kindly answer"))
    repo.commit("edit every prompt")

    result, requests, report = review(repo)
    assert result.code in (0, 1), result.err

    def sent(marker: str) -> set[tuple[str, str]]:
        return {(r.path, r.json["model"]) for r in requests if marker in json.dumps(r.json["messages"])}

    # Dotprompt's googleai/ model on Gemini, with the key as bearer and the file's temperature
    assert sent("tickets for Gemini") == {("/gemini/chat/completions", "gemini-2.0-flash-001")}
    gemini = [r for r in requests if r.path.startswith("/gemini/")]
    assert {r.headers["authorization"] for r in gemini} == {"Bearer AIza-test"}
    assert {r.json["temperature"] for r in gemini} == {0.3}
    # a model no provider of ours serves: its stand-in from models_map, else the config's model
    assert sent("tickets for Mapped") == {("/v1/chat/completions", "gpt-4o-2024-11-20")}
    assert sent("tickets for Unmapped") == {("/v1/chat/completions", "gpt-4o-mini-2024-07-18")}
    # a reachable model mapped by its spec (no GitHub Models in this run, say)
    assert sent("GH answer") == {("/v1/chat/completions", "gpt-4o-2024-08-06")}

    by_path = {p["path"]: p for p in report["prompts"]}
    gemini_model = by_path["prompts/gemini.prompt"]["model"]
    assert gemini_model["base"] == gemini_model["head"] == "gemini:gemini-2.0-flash-001"
    assert (
        "prompts/mapped.prompt: the file names model 'mistral/mistral-large-2411'; openai:gpt-4o-2024-11-20 "
        "stood in for it (models_map in the config)"
    ) in by_path["prompts/mapped.prompt"]["notes"]
    assert (
        "prompts/unmapped.prompt: the file names model 'cohere/command-r', which promptreview cannot reach; the "
        "config's openai:gpt-4o-mini-2024-07-18 stood in for it (say which model stands in under models_map: in "
        "the config)"
    ) in by_path["prompts/unmapped.prompt"]["warnings"]
    assert any(
        "'openai/gpt-4o'" in n and "models_map" in n for n in by_path["prompts/gh.prompt.yml"]["notes"]
    )


PROMPTY = """---
name: Answer
model:
  api: chat
  configuration:
    type: azure_openai
    azure_deployment: {deployment}
  parameters:
    max_tokens: 120
sample:
  ticket: My card was charged twice
---
system:
You answer tickets.

user:
{{{{ticket}}}}
"""


def test_a_model_change_between_models_that_cannot_be_reached_is_refused_until_mapped(git_repo):
    """Two Azure deployments would both run on the config's one model: the change would go unreviewed."""
    repo = git_repo
    config = (
        "version: 1\nmodel: openai:gpt-4o-mini-2024-07-18\nsamples: 2\nprompts:\n  - files: '*.prompty'\n"
    )
    repo.write("promptreview.yml", config)
    repo.write("answer.prompty", PROMPTY.format(deployment="prod-gpt4"))
    repo.commit("base")
    repo.write("answer.prompty", PROMPTY.format(deployment="prod-gpt4o"))
    repo.commit("move the deployment")

    result, requests, _ = review(repo)
    assert result.code == 2 and requests == []
    assert result.err.strip().splitlines() == [
        "promptreview: error: answer.prompty: the prompt file moves from model 'prod-gpt4' to 'prod-gpt4o', but "
        "both would run on openai:gpt-4o-mini-2024-07-18 and the change would go unreviewed; say what stands in "
        "for each under models_map: in promptreview.yml"
    ]

    # mapped (in the base config), each side runs on its own stand-in
    repo.git("checkout", "-q", "HEAD~1")
    repo.write("promptreview.yml", config + (
        "models: [openai:gpt-4-turbo-2024-04-09, openai:gpt-4o-2024-08-06]\n"
        "models_map: {prod-gpt4: openai:gpt-4-turbo-2024-04-09, prod-gpt4o: openai:gpt-4o-2024-08-06}\n"
    ))  # fmt: skip
    repo.commit("map the deployments")
    repo.write("answer.prompty", PROMPTY.format(deployment="prod-gpt4o"))
    repo.commit("move the deployment")
    result, requests, report = review(repo)
    assert result.code in (0, 1), result.err
    assert Counter(r.json["model"] for r in requests) == {"gpt-4-turbo-2024-04-09": 2, "gpt-4o-2024-08-06": 2}
    assert {r.json["max_tokens"] for r in requests} == {120}
    model = report["prompts"][0]["model"]
    assert (model["base"], model["head"]) == ("openai:gpt-4-turbo-2024-04-09", "openai:gpt-4o-2024-08-06")


def test_a_bad_stand_in_is_one_line_naming_the_key(git_repo):
    repo = git_repo
    repo.write(
        "promptreview.yml", "version: 1\nmodels_map: {prod-gpt4: gpt-4o}\nprompts:\n  - files: '*.prompty'\n"
    )
    repo.write("answer.prompty", PROMPTY.format(deployment="prod-gpt4"))
    repo.commit("base")
    repo.write("answer.prompty", PROMPTY.format(deployment="prod-gpt4") + "Be brief.\n")
    repo.commit("edit")
    result, requests, _ = review(repo)
    assert result.code == 2 and requests == []
    assert result.err.strip() == (
        "promptreview: error: promptreview.yml: models_map.prod-gpt4: must be a model spec 'provider:model-id', "
        "not 'gpt-4o'"
    )


def test_a_new_spelling_of_the_same_model_is_no_model_change(git_repo):
    repo = git_repo
    repo.write("promptreview.yml", INIT_CONFIG)
    repo.write("prompts/triage.prompt.yml", GH_FILE)
    repo.commit("base")
    edited = GH_FILE.replace("model: openai/gpt-4o\n", "model: github:openai/gpt-4o\n").replace(
        "briefly", "kindly"
    )
    repo.write("prompts/triage.prompt.yml", edited)
    repo.commit("spell the model our way")
    result, requests, report = review(repo)
    assert result.code in (0, 1), result.err
    assert {(r.path, r.json["model"]) for r in requests} == {("/inference/chat/completions", "openai/gpt-4o")}
    assert not any(n.startswith("model migration") for n in report["prompts"][0]["notes"])


def test_in_ci_a_file_model_nobody_maps_is_refused_not_replaced(git_repo):
    """At a desk the config's model stands in with a warning; in CI that review would turn a required check
    green for a model production does not use, so it is one line naming models_map, before any call."""
    repo = git_repo
    repo.write("promptreview.yml", MAP_CONFIG.split('  - files: "prompts/*.prompt.yml"')[0])
    repo.write("data/tickets.jsonl", "".join(json.dumps({"id": f"t{i}", "ticket": t}) + "\n"
                                             for i, t in enumerate(TICKETS)))  # fmt: skip
    repo.write("prompts/unmapped.prompt", DOTPROMPT.format(model="cohere/command-r", name="Unmapped"))
    repo.commit("base")
    repo.write("prompts/unmapped.prompt", DOTPROMPT.format(model="cohere/command-r", name="Unmapped, kindly"))
    repo.commit("edit")
    out = repo.root / "report.json"
    with ScriptedServer(openai_compatible_handler(lambda body: "Thanks.")) as server:
        env = {**env_for(server), "GITHUB_ACTIONS": "true"}
        result = run_installed(
            ["check", "--base", "HEAD~1", "--head", "HEAD", "--output", str(out)], repo.root, env
        )
        assert server.requests == []
    assert result.code == 2, result.err
    (line,) = [x for x in result.err.splitlines() if "cohere/command-r" in x]
    assert "models_map" in line and "prompts/unmapped.prompt" in line
