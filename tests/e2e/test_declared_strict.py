"""A schema's declared `strict` reaches the wire as declared (issue 20, item 2): a base `.prompt.yml` that declares
`strict: true` but leaves a field out of `required` is sent with `strict: true`, as production sends it (and
OpenAI rejects it there); one declaring `strict: false` is sent so; one declaring nothing keeps the rule that
`strict` is true only for a schema strict mode accepts. Real HTTP to a loopback OpenAI-shaped server."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_installed
from tests.servers import ScriptedServer, openai_compatible_handler

pytestmark = pytest.mark.e2e

CLOSED = {"type": "object", "properties": {"label": {"type": "string"}, "note": {"type": "string"}},
          "required": ["label", "note"], "additionalProperties": False}  # fmt: skip
OPEN = {**CLOSED, "required": ["label"]}  # `note` left out of `required`: strict mode rejects it


def prompt(name: str, schema: dict, strict: bool | None) -> str:
    declared = {"name": name, "schema": schema} | ({} if strict is None else {"strict": strict})
    return (
        f"name: {name}\nmodel: openai:gpt-4o-mini-2024-07-18\n"
        f"messages:\n  - role: system\n    content: Label the ticket ({name}).\n"
        "  - role: user\n    content: '{{input}}'\n"
        f"responseFormat: json_schema\njsonSchema: '{json.dumps(declared)}'\n"
        "testData:\n  - input: My card was charged twice\n  - input: The app crashes\n"
    )


FILES = {
    "declared_true": (OPEN, True),  # the case: today recomputed to false
    "declared_false": (CLOSED, False),  # today recomputed to true
    "undeclared_open": (OPEN, None),
    "undeclared_closed": (CLOSED, None),
}


def test_declared_strict_is_sent_as_declared_and_undeclared_keeps_the_rule(git_repo):
    repo = git_repo
    repo.write("promptreview.yml", "version: 1\nsamples: 1\nprompts:\n  - files: 'prompts/*.prompt.yml'\n")
    for name, (schema, strict) in FILES.items():
        repo.write(f"prompts/{name}.prompt.yml", prompt(name, schema, strict))
    repo.commit("base")
    for name, (schema, strict) in FILES.items():
        repo.write(
            f"prompts/{name}.prompt.yml", prompt(name, schema, strict).replace("Label the", "Label this")
        )
    repo.commit("edit")
    answer = openai_compatible_handler(lambda body: '{"label": "billing", "note": "refund"}')
    with ScriptedServer(answer) as server:
        env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test"}
        result = run_installed(["check", "--base", "HEAD~1", "--head", "HEAD"], repo.root, env=env)
        sent: dict[str, set[bool]] = {}
        for request in server.requests:
            fmt = request.json["response_format"]["json_schema"]
            sent.setdefault(fmt["name"], set()).add(fmt["strict"])
    assert result.code in (0, 1), result.err
    assert sent == {
        "declared_true": {True},
        "declared_false": {False},
        "undeclared_open": {False},
        "undeclared_closed": {True},
    }
