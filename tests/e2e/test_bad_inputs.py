"""A corpus of bad inputs (config, prompt, suite, schema, refs, templates, parameters): every one is exit 2 with
exactly one line on stderr, and not one request reaches the (counting) model server."""

from __future__ import annotations

import json

import pytest

from tests.e2e_helpers import LOOSE, SCHEMA, STRICT, config_yml, prompt_yml, suite_rows
from tests.servers import Reply, ScriptedServer

pytestmark = pytest.mark.e2e

MODEL = "openai:gpt-4o-mini-2024-07-18"
BASE_CONFIG = config_yml(MODEL)
PROMPT = "prompts/triage.prompt.yml"


def cfg(old: str, new: str) -> dict[str, str | bytes]:
    assert old in BASE_CONFIG, old
    return {"promptreview.yml": BASE_CONFIG.replace(old, new)}


def extra(text: str) -> dict[str, str | bytes]:
    return {"promptreview.yml": BASE_CONFIG + text}


def prompt(text: str | bytes) -> dict[str, str | bytes]:
    return {PROMPT: text}


def params(line: str) -> dict[str, str | bytes]:
    return prompt(prompt_yml(STRICT).replace("  temperature: 0.7\n  max_tokens: 300\n", f"  {line}\n"))


def user(template: str) -> dict[str, str | bytes]:
    """A Jinja template: a plain `.j2` prompt (a `.prompt.yml` is no template language; gh-models fills only
    `{{name}}` and sends the rest as written, and so does promptreview)."""
    return {
        "promptreview.yml": BASE_CONFIG.replace("'prompts/**/*.prompt.yml'", "'prompts/**/*'"),
        "prompts/triage.j2": template,
    }


def schema_file(schema: object) -> dict[str, str | bytes]:
    return {"data/schema.json": json.dumps(schema)}


def with_ref(ref: str) -> dict[str, str | bytes]:
    return schema_file({**SCHEMA, "properties": {**SCHEMA["properties"], "category": {"$ref": ref}}})


def prompt_schema(schema: object) -> dict[str, str | bytes]:
    return prompt(prompt_yml(STRICT) + f"jsonSchema: {json.dumps(json.dumps(schema))}\n")


def suite(text: str | bytes) -> dict[str, str | bytes]:
    return {"data/inputs.jsonl": text}


ROWS = [json.dumps(r) for r in suite_rows()]

CORPUS: dict[str, dict[str, str | bytes]] = {
    # config
    "config: not YAML": {"promptreview.yml": "version: 1\nprompts: [\n"},
    "config: not a mapping": {"promptreview.yml": "- a\n- b\n"},
    "config: version 2": cfg("version: 1", "version: 2"),
    "config: unknown key": extra("colour: red\n"),
    "config: samples 0": cfg("samples: 3", "samples: 0"),
    "config: samples a string": cfg("samples: 3", "samples: three"),
    "config: concurrency too high": cfg("concurrency: 4", "concurrency: 1000"),
    "config: temperature 5": extra("params: {temperature: 5}\n"),
    "config: unknown param": extra("params: {warmth: 1}\n"),
    "config: no prompts": {"promptreview.yml": f"version: 1\nmodel: {MODEL}\nprompts: []\n"},
    "config: entry without suite": cfg("    suite: data/inputs.jsonl\n", ""),
    "config: files a number": cfg("  - files: 'prompts/**/*.prompt.yml'", "  - files: 5"),
    "config: per_stratum and size": cfg(
        "    strata: [channel]", "    strata: [channel]\n    sample: {per_stratum: 2, size: 3}"
    ),
    "config: unknown allocation": cfg(
        "    strata: [channel]", "    strata: [channel]\n    sample: {size: 3, allocation: random}"
    ),
    "config: alpha 1.5": cfg("  alpha: 0.05", "  alpha: 1.5"),
    "config: negative margin": cfg(
        "  parse_failure: {max_increase: 0.02}", "  parse_failure: {max_increase: -1}"
    ),
    "config: max_rate 2": cfg("  parse_failure: {max_increase: 0.02}", "  parse_failure: {max_rate: 2}"),
    "config: removal maybe": extra("removal: maybe\n"),
    "config: max_request_chars 0": extra("max_request_chars: 0\n"),
    "config: models not a list": extra("models: sim\n"),
    "config: model without provider": cfg(f"model: {MODEL}", "model: gpt4"),
    "config: unknown provider": cfg(f"model: {MODEL}", "model: foo:bar"),
    "config: floating alias": cfg(f"model: {MODEL}", "model: openai:gpt-4o"),
    "config: absolute suite path": cfg("suite: data/inputs.jsonl", "suite: /etc/passwd"),
    "config: suite leaves the repo": cfg("suite: data/inputs.jsonl", "suite: ../inputs.jsonl"),
    "config: suite missing": cfg("suite: data/inputs.jsonl", "suite: data/none.jsonl"),
    "config: schema missing": cfg("schema: data/schema.json", "schema: data/none.json"),
    "config: over budget": extra("budget: {max_calls: 1}\n"),
    "config: not UTF-8": {"promptreview.yml": BASE_CONFIG.encode() + b"# \xff\xfe\n"},
    "config: retry attempts 0": extra("retry: {max_attempts: 0}\n"),
    "config: strata column missing": cfg("strata: [channel]", "strata: [region]"),
    # prompt files
    "prompt: not YAML": prompt("messages: [\n"),
    "prompt: empty": prompt(""),
    "prompt: no messages": prompt("name: x\n"),
    "prompt: messages not a list": prompt("messages: hello\n"),
    "prompt: unknown role": prompt("messages:\n  - role: wizard\n    content: hi\n"),
    "prompt: content not a string": prompt("messages:\n  - role: user\n    content: [1, 2]\n"),
    "prompt: responseFormat xml": prompt(prompt_yml(STRICT) + "responseFormat: xml\n"),
    "prompt: json_schema without jsonSchema": prompt(prompt_yml(STRICT) + "responseFormat: json_schema\n"),
    "prompt: jsonSchema not JSON": prompt(prompt_yml(STRICT) + "jsonSchema: '{nope'\n"),
    "prompt: jsonSchema not a schema": prompt_schema({"type": 5}),
    "prompt: model not a string": prompt(prompt_yml(STRICT) + "model: 5\n"),
    "prompt: not UTF-8": prompt(prompt_yml(STRICT).encode() + b"# \xff\n"),
    "prompt: model migration": prompt(prompt_yml(STRICT, model="openai:gpt-4.1-2025-04-14")),
    # parameters
    "params: frequencyPenalty 9": params("frequencyPenalty: 9"),
    "params: temperature hot": params("temperature: hot"),
    "params: maxTokens -5": params("maxTokens: -5"),
    "params: temperature .inf": params("temperature: .inf"),
    "params: temperature .nan": params("temperature: .nan"),
    "params: topP 7": params("topP: 7"),
    "params: maxTokens 1.5": params("maxTokens: 1.5"),
    "params: maxTokens true": params("maxTokens: true"),
    "params: seed a string": params("seed: x"),
    "params: stop numbers": params("stop: [1, 2]"),
    "params: five stops": params("stop: [a, b, c, d, e]"),
    # templates
    "template: syntax error": user("{{ ticket "),
    "template: unknown variable": user("{{ nope }}"),
    "template: python internals": user("{{ ticket.__class__.__mro__ }}"),
    "template: string bomb": user("{{ 'x' * 10**8 }}"),
    "template: nested loops": user(
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"
    ),
    "template: loop budget": user(
        "{% for i in range(9000) %}{% for j in range(9000) %}{% endfor %}{% endfor %}"
    ),
    "template: format width": user("{{ '{:>100000000}'.format(1) }}"),
    "template: percent width": user("{{ '%100000000d' % 1 }}"),
    "template: lipsum": user("{{ lipsum(100000) }}"),
    "template: center": user("{{ ticket|center(1000000000) }}"),
    "template: power": user("{{ 10 ** 100000 }}"),
    "template: list bomb": user("{{ [1] * 10**9 }}"),
    "template: over max_request_chars": user(
        "{{ ticket }}{{ 'y' * 99999 }}{{ 'y' * 99999 }}{{ 'y' * 99999 }}"
    ),
    # schemas and refs
    "schema: not JSON": {"data/schema.json": "{nope"},
    "schema: a list": schema_file([1, 2]),
    "schema: invalid keyword value": schema_file({"type": "object", "required": "category"}),
    "ref: http": with_ref("http://127.0.0.1:9/defs.json"),
    "ref: https": with_ref("https://example.com/defs.json#/x"),
    "ref: file": with_ref("file:///etc/passwd"),
    "ref: missing pointer": with_ref("#/$defs/nope"),
    "ref: missing sibling": with_ref("defs.json#/x"),
    "ref: leaves the repo": with_ref("../../../../etc/passwd"),
    "ref: urn": with_ref("urn:example:defs"),
    "ref: in a prompt's jsonSchema": prompt_schema(
        {"type": "object", "properties": {"a": {"$ref": "http://127.0.0.1:9/x"}}}
    ),
    "ref: $id elsewhere": schema_file(
        {"$id": "http://127.0.0.1:9/root.json", "properties": {"a": {"$ref": "other.json"}}}
    ),
    # suites
    "suite: invalid JSON line": suite(ROWS[0] + "\n{nope\n"),
    "suite: a line not an object": suite(ROWS[0] + "\n[1, 2]\n"),
    "suite: not UTF-8": suite(ROWS[0].encode() + b"\n\xff\n"),
    "suite: empty": suite(""),
    "suite: row without the variable": suite(
        "\n".join(ROWS[:5]) + '\n{"id": "hole", "channel": "email", "ticket": null}\n'
    ),
}


@pytest.fixture(scope="module")
def server():
    with ScriptedServer(lambda request: Reply(500, {"error": "no call was expected"})) as srv:
        yield srv


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_bad_input_is_one_line_exit_2_and_no_call(name, git_repo, run_cli, server):
    from tests.e2e_helpers import make_triage_repo

    make_triage_repo(git_repo, model=MODEL)
    changes = {PROMPT: prompt_yml(LOOSE), **CORPUS[name]}  # a prompt change, so there is something to review
    for path, content in changes.items():
        git_repo.write(path, content)
    git_repo.commit(name)
    before = len(server.requests)
    result = run_cli(
        ["check", "--base", "HEAD~1", "--head", "HEAD", "--format", "json"],
        git_repo.root,
        {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-corpus-key-0123456789"},
    )
    assert result.code == 2, (name, result.code, result.err, result.out[:300])
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("promptreview: error:"), (name, result.err)
    assert len(server.requests) == before, name


def test_the_corpus_is_large():
    assert len(CORPUS) >= 60


def test_the_security_page_counts_the_corpus():
    from tests.conftest import REPO

    page = (REPO / "docs" / "security.md").read_text("utf-8")
    assert f"holds {len(CORPUS)} such inputs" in page
