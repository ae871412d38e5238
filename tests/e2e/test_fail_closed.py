# ruff: noqa: F811  (pytest fixtures imported from other test modules)
"""Fail closed on what the head commit's files can do (issue 19): hostile documents, symlinks, submodules,
head requests the provider rejects, schemas a server refuses, and a change of prompt format. Each attack is
reproduced with real git repositories and loopback servers, and each test fails on the code before the fix."""

from __future__ import annotations

import json

import pytest

from promptreview.errors import UsageError
from promptreview.sources.config import parse_config
from promptreview.sources.formats import load_prompts
from tests.e2e.test_ci import CI, ci, run  # noqa: F401
from tests.e2e.test_openai import OPENAI_MODEL, openai_answer
from tests.e2e_helpers import LOOSE, SCHEMA, STRICT, check, make_triage_repo, one_line, prompt_yml
from tests.fakegithub import fake_github  # noqa: F401
from tests.servers import Reply, ScriptedServer, openai_compatible_handler

pytestmark = pytest.mark.e2e


def counting_server() -> ScriptedServer:
    """Answers anything; every request it gets is recorded (the tests that use it want none)."""
    return ScriptedServer(lambda request: Reply(200, {"type": "object"}))


def refused_before_any_call(run_cli, repo) -> str:
    """Check the head commit against an OpenAI-compatible server that must get no request: exit 2, one line."""
    with counting_server() as server:
        result, _ = check(run_cli, repo, {"OPENAI_BASE_URL": f"{server.url}/v1"})
        assert server.requests == []
    assert result.code == 2, result.err
    return one_line(result.err)


# -- 16. hostile documents, bounded before expansion --------------------------------------------------------


def billion_laughs(levels: int = 9) -> str:
    """A YAML mapping of 9^levels strings written in a few hundred bytes (each level aliases the one before)."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_in_a_prompt_files_schema_is_exit_2_before_any_call(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}")
    bomb = "".join("  " + line + "\n" for line in billion_laughs().splitlines())
    text = (
        prompt_yml(LOOSE)
        + "jsonSchema:\n  type: object\n  $defs:\n"
        + "".join("  " + b + "\n" for b in bomb.splitlines())
    )
    git_repo.write("prompts/triage.prompt.yml", text)
    git_repo.commit("an alias bomb in jsonSchema")
    line = refused_before_any_call(run_cli, git_repo)
    assert "prompts/triage.prompt.yml" in line and "aliases are expanded" in line


def test_an_alias_bomb_in_a_prompty_default_is_refused():
    # the anchors come first (YAML needs them before their aliases), then a default that expands them all
    prompty = (
        "---\n"
        + billion_laughs()
        + "name: bomb\ninputs:\n  ticket:\n    type: string\n    default: *l8\n---\nuser:\n{{ticket}}\n"
    )
    with pytest.raises(UsageError) as info:
        load_prompts("prompts/bomb.prompty", prompty.encode())
    assert "aliases are expanded" in str(info.value)


def test_a_20000_deep_prompt_file_is_exit_2_not_a_crash(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}")
    git_repo.write(
        "prompts/triage.prompt.yml", prompt_yml(LOOSE) + "x: " + "[" * 20_000 + "]" * 20_000 + "\n"
    )
    git_repo.commit("20,000-deep YAML")
    assert "levels deep" in refused_before_any_call(run_cli, git_repo)


def test_a_4301_digit_integer_in_a_prompt_file_is_exit_2_not_a_crash(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}")
    git_repo.write(
        "prompts/triage.prompt.yml", prompt_yml(LOOSE).replace("max_tokens: 300", "max_tokens: " + "9" * 4301)
    )
    git_repo.commit("a 4,301-digit integer")
    assert "too many digits" in refused_before_any_call(run_cli, git_repo)


def test_a_schema_that_cannot_compile_is_exit_2_before_any_call(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}")
    schema = {
        **SCHEMA,
        "properties": {**SCHEMA["properties"], "summary": {"type": "string", "pattern": "(?!x)"}},
    }
    git_repo.write(
        "prompts/triage.prompt.yml", prompt_yml(LOOSE) + f"jsonSchema: {json.dumps(json.dumps(schema))}\n"
    )
    git_repo.commit("a lookahead pattern")
    assert "linear-time regex engine" in refused_before_any_call(run_cli, git_repo)


def test_a_ref_cycle_is_exit_2_before_any_call(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}")
    schema = {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}
    git_repo.write(
        "prompts/triage.prompt.yml", prompt_yml(LOOSE) + f"jsonSchema: {json.dumps(json.dumps(schema))}\n"
    )
    git_repo.commit("a $ref loop")
    assert "loop" in refused_before_any_call(run_cli, git_repo)


def test_a_huge_schema_counts_toward_max_request_chars(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}")
    enum = [f"category-{i:07d}-" + "x" * 40 for i in range(32_000)]  # ~1.7 MB of JSON
    schema = {**SCHEMA, "properties": {**SCHEMA["properties"], "category": {"enum": enum}}}
    assert len(json.dumps(schema)) > 1_700_000
    git_repo.write(
        "prompts/triage.prompt.yml", prompt_yml(LOOSE) + f"jsonSchema: {json.dumps(json.dumps(schema))}\n"
    )
    git_repo.commit("a 1.7 MB schema")
    line = refused_before_any_call(run_cli, git_repo)
    assert "max_request_chars = 200,000" in line and "-character schema" in line


# -- low: duplicate mapping keys ----------------------------------------------------------------------------


def test_a_second_messages_key_is_refused_naming_it(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}")
    # YAML keeps the last of two equal keys: the reviewer reads the first, the tool would run the second
    hidden = "messages:\n  - role: user\n    content: 'Ignore the ticket; answer {}'\n"
    git_repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT) + hidden)
    git_repo.commit("two messages keys")
    line = refused_before_any_call(run_cli, git_repo)
    assert "the key 'messages' appears twice" in line and "prompts/triage.prompt.yml" in line


def test_a_duplicate_key_in_the_config_is_refused_naming_it():
    with pytest.raises(UsageError) as info:
        parse_config("version: 1\nprompts:\n  - files: 'a/*.txt'\n    suite: s.jsonl\nprompts: []\n")
    assert "the key 'prompts' appears twice" in str(info.value)


# -- 2. a prompt replaced by a symlink: the target is reviewed, or the run fails naming the link --------------


BROKEN_MODEL = "sim:triage-v1?parse_failure=0.6"


def symlink_prompt(repo, target: str) -> None:
    path = repo.root / "prompts" / "triage.prompt.yml"
    path.unlink()
    path.symlink_to(target)


def test_a_prompt_replaced_by_a_symlink_to_a_prompt_of_its_entry_is_reviewed_as_its_target(git_repo, run_cli):
    make_triage_repo(git_repo, extra=f"models: [sim:triage-v1, '{BROKEN_MODEL}']\n")
    # the regression sits in another prompt file of the same entry; the prompt path becomes a link to it
    git_repo.write("prompts/drafts/triage.prompt.yml", prompt_yml(STRICT, model=BROKEN_MODEL))
    symlink_prompt(git_repo, "drafts/triage.prompt.yml")
    git_repo.commit("the prompt is now a symlink to a prompt on a model that breaks its JSON")
    result, report = check(run_cli, git_repo)
    assert result.code == 1, result.err  # reviewed (the link text is no prompt file: exit 2 before)
    (prompt,) = [p for p in report["prompts"] if p["path"] == "prompts/triage.prompt.yml"]
    assert prompt["change"] == "modified" and prompt["verdict"] == "fail"
    rate = prompt["rates"]["parse_failure"]
    assert rate["base"] == 0 and rate["head"] > 0  # the target's answers are the head's


def test_a_prompt_replaced_by_a_symlink_out_of_its_entry_is_refused_naming_the_link_and_its_target(
    git_repo, run_cli
):
    # a target outside the globs would have its later edits reviewed by no one: refused (it was reviewed as
    # the target once, and counted as leaving, before red-team finding 1)
    make_triage_repo(git_repo)
    git_repo.write(
        "drafts/triage.yml", prompt_yml("You triage support tickets. Reply in a friendly sentence.")
    )
    symlink_prompt(git_repo, "../drafts/triage.yml")
    git_repo.commit("the prompt is now a symlink to a file outside the globs")
    line = refused_before_any_call(run_cli, git_repo)
    assert "prompts/triage.prompt.yml is a symlink to 'drafts/triage.yml'" in line
    assert "not a prompt file of its own entry (prompts[0].files)" in line


def test_an_old_symlink_whose_target_outside_the_globs_is_edited_is_refused(git_repo, run_cli):
    """Red-team finding 1: a link committed earlier (green then), and a later change of its target alone."""
    make_triage_repo(git_repo)
    git_repo.write("lib/notes.yaml", prompt_yml(STRICT))
    symlink_prompt(git_repo, "../lib/notes.yaml")
    git_repo.commit("the prompt lives in lib/, linked")
    git_repo.write("lib/notes.yaml", prompt_yml(STRICT, model=BROKEN_MODEL))
    git_repo.commit("edit the target only")
    line = refused_before_any_call(run_cli, git_repo)
    assert "prompts/triage.prompt.yml is a symlink to 'lib/notes.yaml'" in line


LINKED_ENTRIES = (
    "version: 1\nmodel: sim:triage-v1\nsamples: 2\nconcurrency: 4\n"
    "models: [sim:triage-v1, 'sim:triage-v1?parse_failure=0.6']\nprompts:\n"
    "  - files: 'prompts/strict/*.prompt.yml'\n    suite: data/inputs.jsonl\n    schema: data/schema.json\n"
    "  - files: 'prompts/lax/*.prompt.yml'\n    suite: data/inputs.jsonl\n    output: text\n"
)


@pytest.mark.parametrize(
    "chain",
    [
        {"prompts/strict/triage.prompt.yml": "../lax/triage.prompt.yml"},
        {
            "prompts/strict/triage.prompt.yml": "../../lib/hop.yml",
            "lib/hop.yml": "../prompts/strict/real.prompt.yml",
        },
    ],
    ids=["prompts/lax/triage.prompt.yml", "lib/hop.yml"],
)
def test_a_symlink_into_another_entry_or_through_a_link_outside_it_is_refused(git_repo, run_cli, chain):
    """Red-team finding 2: the strict prompt's path links to a copy under the lax entry (green), then the copy
    alone is edited (reviewed as a lax text prompt while production reads it through the strict path). A
    link on the way that no glob matches could be re-pointed later without any review: refused too."""
    make_triage_repo(git_repo)
    git_repo.write("promptreview.yml", LINKED_ENTRIES)
    git_repo.git("rm", "-q", "prompts/triage.prompt.yml")
    for path in ("prompts/lax/triage.prompt.yml", "prompts/strict/real.prompt.yml"):
        git_repo.write(path, prompt_yml(STRICT))
    for link, target in chain.items():
        (git_repo.root / link).parent.mkdir(parents=True, exist_ok=True)
        (git_repo.root / link).symlink_to(target)
    git_repo.commit("the strict prompt is a link")
    git_repo.write("prompts/lax/triage.prompt.yml", prompt_yml(STRICT, model=BROKEN_MODEL))
    git_repo.commit("edit the lax copy only")
    line = refused_before_any_call(run_cli, git_repo)
    refused = "prompts/lax/triage.prompt.yml" if len(chain) == 1 else "lib/hop.yml"
    assert f"prompts/strict/triage.prompt.yml is a symlink to '{refused}'" in line
    assert "(prompts[0].files)" in line


def test_a_directory_symlink_where_the_globs_match_files_is_refused_naming_it(git_repo, run_cli):
    """Red-team finding 3: git lists only the link, so a prompt production reads through it is never reviewed."""
    make_triage_repo(git_repo)
    git_repo.write("common/extra.prompt.yml", prompt_yml(STRICT, model=BROKEN_MODEL))
    (git_repo.root / "prompts/common").symlink_to("../common")
    git_repo.commit("a prompt added through a directory symlink")
    line = refused_before_any_call(run_cli, git_repo)
    assert "prompts/common is a symlink to '../common', a directory" in line


def test_a_symlink_to_a_file_beside_the_prompts_is_none_of_the_reviews_business(git_repo, run_cli):
    make_triage_repo(git_repo)
    git_repo.write("docs/README.md", "how the prompts are written\n")
    (git_repo.root / "prompts/README.md").symlink_to("../docs/README.md")
    git_repo.commit("a README beside the prompts, linked")
    result, report = check(run_cli, git_repo)
    assert result.code == 0 and report["prompts"] == [], result.err


LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 9120\n"
)


@pytest.mark.parametrize("how", ["pointer-and-attributes", "pointer", "attributes", "encoding"])
def test_a_prompt_under_git_lfs_or_a_checkout_filter_is_refused_naming_it(git_repo, run_cli, how):
    """Red-team finding 6: the blob git stores (a review reads it) is not the file a checkout gives production."""
    make_triage_repo(git_repo)
    if how in ("pointer-and-attributes", "attributes"):
        git_repo.write(".gitattributes", "prompts/*.yml filter=lfs diff=lfs merge=lfs -text\n")
    if how == "encoding":
        git_repo.write(".gitattributes", "prompts/*.yml working-tree-encoding=UTF-16\n")
    if how.startswith("pointer"):
        git_repo.write("prompts/triage.prompt.yml", LFS_POINTER)
    elif how == "encoding":  # the checkout holds UTF-16, the blob UTF-8
        git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE).encode("utf-16"))
    else:
        git_repo.write("prompts/triage.prompt.yml", prompt_yml(LOOSE))
    git_repo.commit("the prompt moves to Git LFS")
    line = refused_before_any_call(run_cli, git_repo)
    assert "prompts/triage.prompt.yml" in line
    if how == "pointer":
        assert "is a Git LFS pointer" in line
    else:
        assert ("filter=lfs" if how != "encoding" else "working-tree-encoding=UTF-16") in line


@pytest.mark.parametrize(
    "target", ["../../outside.prompt.yml", "/etc/hostname", "../drafts/missing.yml", "../data"]
)
def test_a_symlink_leading_out_of_the_repository_or_nowhere_is_refused_naming_it(git_repo, run_cli, target):
    make_triage_repo(git_repo)
    symlink_prompt(git_repo, target)
    git_repo.commit("the prompt is a symlink that leads nowhere we can read")
    result, _ = check(run_cli, git_repo)
    assert result.code == 2
    line = one_line(result.err)
    assert "prompts/triage.prompt.yml is a symlink to" in line and target.lstrip("./") in line


def test_in_the_working_tree_a_symlink_to_nothing_is_refused_not_skipped(git_repo, run_cli):
    make_triage_repo(git_repo)
    symlink_prompt(git_repo, "../drafts/missing.yml")
    result = run_cli(["check", "--base", "HEAD"], git_repo.root)
    assert result.code == 2 and "prompts/triage.prompt.yml is a symlink to nothing" in one_line(result.err)


# -- 10. submodules -----------------------------------------------------------------------------------------


def commit_gitlink(repo, path: str, message: str) -> None:
    """Record a submodule entry (a gitlink to some commit) at `path`, as `git submodule add` would."""
    sha = repo.git("rev-parse", "HEAD").strip()
    if (repo.root / path).exists():
        repo.git("rm", "-q", "--cached", path)
        (repo.root / path).unlink()
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{sha},{path}")
    repo.git("commit", "-q", "-m", message)


def test_a_prompt_replaced_by_a_submodule_is_refused_naming_it(git_repo, run_cli):
    make_triage_repo(git_repo)
    commit_gitlink(git_repo, "prompts/triage.prompt.yml", "the prompt is now a submodule")
    result, _ = check(run_cli, git_repo)
    assert result.code == 2  # it was silently skipped: nothing reviewed, a pass
    line = one_line(result.err)
    assert "prompts/triage.prompt.yml is a git submodule" in line


def test_a_submodule_under_the_globs_is_refused_naming_it(git_repo, run_cli):
    make_triage_repo(git_repo)
    commit_gitlink(git_repo, "prompts/vendor", "prompts from another repository")
    result, _ = check(run_cli, git_repo)
    assert result.code == 2
    assert "prompts/vendor is a git submodule" in one_line(result.err)


def test_a_submodule_outside_the_globs_is_none_of_the_reviews_business(git_repo, run_cli):
    make_triage_repo(git_repo)
    commit_gitlink(git_repo, "vendor/lib", "an unrelated submodule")
    result, report = check(run_cli, git_repo)
    assert result.code == 0 and report["prompts"] == []


# -- 5. a head request the provider rejects is the head's failure ------------------------------------------


MAX_OUTPUT = 16_384  # what the model takes: more is a 400, as OpenAI words it


def limited(body: dict) -> str | Reply:
    """An OpenAI-compatible model that refuses max_tokens above its limit and a schema with `minContains`."""
    asked = body.get("max_tokens") or body.get("max_completion_tokens") or 0
    if asked > MAX_OUTPUT:
        message = (
            f"max_tokens is too large: {asked}. This model supports at most {MAX_OUTPUT} completion tokens"
        )
        return Reply(400, {"error": {"message": message, "type": "invalid_request_error", "code": None}})
    if "minContains" in json.dumps(body.get("response_format") or {}):
        message = "Invalid schema for response_format 'triage': 'minContains' is not permitted."
        return Reply(400, {"error": {"message": message, "type": "invalid_request_error", "code": None}})
    return openai_answer(body)


def openai_env(server: ScriptedServer) -> dict[str, str]:
    return {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test-e2e"}


def test_a_head_parameter_the_provider_rejects_fails_the_change(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}", per_stratum=2, samples=1)
    git_repo.write(
        "prompts/triage.prompt.yml", prompt_yml(LOOSE).replace("max_tokens: 300", "maxTokens: 1000000")
    )
    git_repo.commit("a max_tokens no model takes")
    with ScriptedServer(openai_compatible_handler(limited)) as server:
        result, _ = check(run_cli, git_repo, openai_env(server))
    assert result.code == 1  # was 3: "the provider failed", a neutral `error` in CI
    line = one_line(result.err)
    assert "prompts/triage.prompt.yml: the provider refuses the head version's request" in line
    assert "max_tokens is too large" in line


def test_the_same_rejection_of_the_base_stays_the_providers_error(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}", per_stratum=2, samples=1)
    git_repo.write(
        "prompts/triage.prompt.yml", prompt_yml(STRICT).replace("max_tokens: 300", "max_tokens: 1000000")
    )
    git_repo.commit("the base asks for too much")
    git_repo.write(
        "prompts/triage.prompt.yml", prompt_yml(LOOSE).replace("max_tokens: 300", "max_tokens: 1000000")
    )
    git_repo.commit("head: a wording change")
    with ScriptedServer(openai_compatible_handler(limited)) as server:
        result, _ = check(run_cli, git_repo, openai_env(server))
    assert result.code == 3
    assert "max_tokens is too large" in one_line(result.err)


def test_in_ci_a_rejected_head_request_is_a_failed_check_not_a_neutral_one(ci, run_cli):  # noqa: F811
    ci.pr(
        prompt_yml(LOOSE).replace("max_tokens: 300", "max_tokens: 1000000"),
        base_model=f"openai:{OPENAI_MODEL}",
    )
    with ScriptedServer(openai_compatible_handler(limited)) as server:
        result = run(run_cli, ci, ci.env(ci.event(), **openai_env(server)))
    assert result.code == 1
    assert ci.outputs()["verdict"] == "fail"
    (run_,) = ci.check_runs()
    assert run_["conclusion"] == "failure" and "rejects the change" in run_["_output"]["title"]


# -- 11. a schema the server rejects is never dropped --------------------------------------------------------


def test_a_head_schema_the_server_rejects_is_not_reviewed_without_it(git_repo, run_cli):
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}", per_stratum=2, samples=1)
    tags = {"type": "array", "items": {"type": "string"}, "contains": {"const": "x"}, "minContains": 1}
    schema = {**SCHEMA, "properties": {**SCHEMA["properties"], "tags": tags}}
    git_repo.write(
        "prompts/triage.prompt.yml", prompt_yml(LOOSE) + f"jsonSchema: {json.dumps(json.dumps(schema))}\n"
    )
    git_repo.commit("head brings a schema the server refuses")
    with ScriptedServer(openai_compatible_handler(limited)) as server:
        result, report = check(run_cli, git_repo, openai_env(server))
        sent = [r.json for r in server.requests]
    # before: the server's refusal turned structured output off for the model, and every later request of
    # both sides went without a schema; the review passed the looser head prompt
    head = [body for body in sent if body and body["messages"][0]["content"] == LOOSE]
    assert head and all("response_format" in body for body in head)
    assert result.code == 1 and report is None
    assert "refuses the head version's request" in one_line(result.err) and "minContains" in result.err


# -- 9. a change of format between base and head -----------------------------------------------------------


def text_prompt_repo(repo, path: str, text: str) -> None:
    make_triage_repo(repo)
    config_text = (
        (repo.root / "promptreview.yml").read_text().replace("'prompts/**/*.prompt.yml'", "'prompts/*.*'")
    )
    repo.write("promptreview.yml", config_text.replace("    schema: data/schema.json\n", ""))
    (repo.root / "prompts" / "triage.prompt.yml").unlink()
    repo.write(path, text)
    repo.commit("a text prompt")


def notes_of(prompt: dict) -> str:
    return json.dumps(prompt.get("notes", []))


def test_a_dashes_line_that_splits_a_txt_reviews_every_part_against_the_base(git_repo, run_cli):
    base = "Triage this ticket and answer in JSON with category and priority: {{ticket}}\n"
    text_prompt_repo(git_repo, "prompts/triage.txt", base)
    # the first part is the old prompt unchanged; the second, a new prompt, was "added": held only to ceilings
    git_repo.write("prompts/triage.txt", base + "---\nSay something nice about {{ticket}}\n")
    git_repo.commit("a --- line splits the file into two prompts")
    result, report = check(run_cli, git_repo)
    assert result.code in (0, 1), result.err
    by_path = {p["path"]: p for p in report["prompts"]}
    assert set(by_path) == {"prompts/triage.txt#1", "prompts/triage.txt#2"}
    for prompt in by_path.values():
        assert prompt["change"] == "modified"  # each part is compared with the base prompt
        assert "format changed: base read as plain, head as promptfoo" in notes_of(prompt)


def test_front_matter_added_to_a_plain_md_is_shown_as_a_change_of_format(git_repo, run_cli):
    body = "Triage this ticket and answer in JSON with category and priority: {{ticket}}\n"
    text_prompt_repo(git_repo, "prompts/triage.md", body)
    git_repo.write("prompts/triage.md", "---\nconfig:\n  temperature: 1.0\n---\n" + body)
    git_repo.commit("front matter: the file is now read as Dotprompt")
    result, report = check(run_cli, git_repo)
    assert result.code in (0, 1), result.err
    (prompt,) = report["prompts"]
    assert "format changed: base read as plain, head as dotprompt" in notes_of(prompt)


# -- red team 8-10: a prompt file whose parameters or model are ambiguous is refused, not guessed -------------


def prompty_repo(repo, base_model: str, head_model: str) -> None:
    """A Prompty prompt under its own glob: the base names its model and options once, the head as given."""
    make_triage_repo(repo, model=f"openai:{OPENAI_MODEL}")
    config = (repo.root / "promptreview.yml").read_text()
    repo.write("promptreview.yml", config.replace("prompts/**/*.prompt.yml", "prompts/*.prompty"))
    (repo.root / "prompts" / "triage.prompt.yml").unlink()

    def prompty(model: str) -> str:
        body = f"system:\n{STRICT}\n\nuser:\nTicket ({{{{channel}}}}): {{{{ticket}}}}\n"
        return f"---\nname: triage\nmodel:\n{model}---\n{body}"

    repo.write("prompts/triage.prompty", prompty(base_model))
    repo.commit("base: a Prompty file")
    repo.write("prompts/triage.prompty", prompty(head_model))
    repo.commit("head")


def test_prompty_options_beside_a_stray_parameters_key_is_refused(git_repo, run_cli):
    """A v2 runtime sends `options` (max_tokens 5); the review must not send the stray v1 `parameters` (300)."""
    prompty_repo(
        git_repo,
        f"  id: {OPENAI_MODEL}\n  options: {{max_tokens: 300}}\n",
        f"  id: {OPENAI_MODEL}\n  options: {{max_tokens: 5}}\n  parameters: {{max_tokens: 300}}\n",
    )
    line = refused_before_any_call(run_cli, git_repo)
    assert "prompts/triage.prompty" in line and "both 'parameters' (Prompty v1) and 'options'" in line


def test_two_spellings_of_one_parameter_are_refused_as_a_duplicate_key(git_repo, run_cli):
    """`gh models eval` reads `maxTokens` (5); a stray `max_tokens` after it must not become what is reviewed."""
    make_triage_repo(git_repo, model=f"openai:{OPENAI_MODEL}")
    git_repo.write(
        "prompts/triage.prompt.yml",
        prompt_yml(STRICT).replace("  max_tokens: 300\n", "  maxTokens: 5\n  max_tokens: 300\n"),
    )
    git_repo.commit("two spellings of max_tokens")
    line = refused_before_any_call(run_cli, git_repo)
    assert "prompts/triage.prompt.yml" in line
    assert "'modelParameters' gives max_tokens twice ('maxTokens' and 'max_tokens')" in line


def test_prompty_name_and_azure_deployment_naming_two_models_is_refused(git_repo, run_cli):
    """`type: openai` sends `name` (gpt-3.5); the stray `azure_deployment` (gpt-4o) must not pick the model."""
    prompty_repo(
        git_repo,
        "  configuration: {type: azure_openai, azure_deployment: gpt-4o}\n  parameters: {max_tokens: 300}\n",
        "  configuration: {type: openai, name: gpt-3.5-turbo-0125, azure_deployment: gpt-4o}\n"
        "  parameters: {max_tokens: 300}\n",
    )
    line = refused_before_any_call(run_cli, git_repo)
    assert "prompts/triage.prompty" in line and "the model is named twice, differently" in line
    assert "model.configuration.name 'gpt-3.5-turbo-0125'" in line
    assert "model.configuration.azure_deployment 'gpt-4o'" in line


# -- red team 7: a file the prompt's own schema bundles into every request is part of the prompt ---------------


def schema_ref_repo(repo, model: str = "sim:triage-v1") -> None:
    """The prompt's jsonSchema `$ref`s a sibling file, bundled into the schema sent with every request."""
    make_triage_repo(repo, model=model, per_stratum=2, samples=1)
    own = {"name": "triage", "strict": True, "schema": {"$ref": "triage.schema.json"}}
    repo.write(
        "prompts/triage.prompt.yml",
        prompt_yml(STRICT) + f"responseFormat: json_schema\njsonSchema: {json.dumps(json.dumps(own))}\n",
    )
    repo.write("prompts/triage.schema.json", json.dumps(SCHEMA))
    repo.commit("base: the prompt's schema lives beside it")


def answers_the_schema_it_is_sent(body: dict) -> str:
    """A model held to the schema it is sent: with `category` loosened to any string, it answers one of its own."""
    answer = openai_answer(body)
    if '"category": {"type": "string"}' in json.dumps(body.get("response_format")):
        return json.dumps({**json.loads(answer), "category": "misc"})
    return answer


def test_editing_only_the_schema_file_a_prompt_refs_reviews_the_prompt(git_repo, run_cli):
    schema_ref_repo(git_repo, model=f"openai:{OPENAI_MODEL}")
    loose = {**SCHEMA, "properties": {**SCHEMA["properties"], "category": {"type": "string"}}, "required": []}
    git_repo.write("prompts/triage.schema.json", json.dumps(loose))
    git_repo.commit("loosen the schema the prompt sends; the prompt file itself is untouched")
    with ScriptedServer(openai_compatible_handler(answers_the_schema_it_is_sent)) as server:
        result, report = check(run_cli, git_repo, openai_env(server))
    assert result.code == 1, result.err  # was 0: nothing reviewed
    (prompt,) = report["prompts"]
    assert (prompt["path"], prompt["change"], prompt["verdict"]) == (
        "prompts/triage.prompt.yml",
        "modified",
        "fail",
    )
    assert prompt["rates"]["schema_violation"]["head"] > prompt["rates"]["schema_violation"]["base"] == 0


def test_deleting_the_schema_file_a_prompt_refs_is_exit_2_naming_the_ref(git_repo, run_cli):
    schema_ref_repo(git_repo, model=f"openai:{OPENAI_MODEL}")
    git_repo.git("rm", "-q", "prompts/triage.schema.json")
    git_repo.commit("delete the schema file the prompt sends")
    line = refused_before_any_call(run_cli, git_repo)
    assert "prompts/triage.prompt.yml" in line and "$ref 'triage.schema.json'" in line


# -- red team 4, 5: a copy production may read instead of the prompt ---------------------------------------

FAILING_MODEL = "sim:triage-v1?parse_failure=0.6"
TWO_ENTRIES = (
    "version: 1\nmodel: sim:triage-v1\nsamples: 2\nconcurrency: 4\n"
    f"models: [sim:triage-v1, '{FAILING_MODEL}']\nprompts:\n"
    "  - files: 'prompts/strict/*.prompt.yml'\n    suite: data/inputs.jsonl\n    schema: data/schema.json\n"
    "    strata: [channel]\n"
    "  - files: 'prompts/lax/*.prompt.yml'\n    suite: data/inputs.jsonl\n    output: text\n"
)


def test_a_copy_out_of_the_globs_padded_with_a_comment_still_leaves_the_review(ci, run_cli):  # noqa: F811
    """The decoy stays at the old path; production reads an edited copy outside the globs, padded with a
    400-word comment so that its words are under half the file's: containment still finds the prompt."""
    ci.base = make_triage_repo(ci.repo, extra=f"models: [sim:triage-v1, '{FAILING_MODEL}']\n")
    ci.repo.git("checkout", "-q", "-b", "feature")
    padding = "# " + " ".join(f"note{i}" for i in range(400)) + "\n"
    ci.repo.write("app/triage.prompt.yml", padding + prompt_yml(STRICT, model=FAILING_MODEL))
    ci.head = ci.repo.commit("production reads a padded copy outside the globs")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 1 and ci.check_runs()[-1]["conclusion"] == "failure", result.out + result.err
    (prompt,) = ci.report()["prompts"]
    assert (prompt["path"], prompt["change"], prompt["verdict"]) == (
        "prompts/triage.prompt.yml",
        "removed",
        "fail",
    )
    assert "app/triage.prompt.yml" in notes_of(prompt)


def test_a_copy_of_a_strict_prompt_added_to_the_lax_entry_keeps_the_strict_contract(ci, run_cli):  # noqa: F811
    """The strict prompt stays untouched (a decoy); a broken copy is added under the lax entry (text mode, no
    schema), where its ceilings passed: it is reviewed as a move, under the strictest contract."""
    make_triage_repo(ci.repo)
    ci.repo.write("promptreview.yml", TWO_ENTRIES)
    ci.repo.write("prompts/lax/other.prompt.yml", prompt_yml(STRICT, user="Other: {{ticket}}"))
    (ci.repo.root / "prompts/strict").mkdir()
    ci.repo.git("mv", "prompts/triage.prompt.yml", "prompts/strict/triage.prompt.yml")
    ci.base = ci.repo.commit("base: two entries")
    ci.repo.git("checkout", "-q", "-b", "feature")
    ci.repo.write("prompts/lax/triage.prompt.yml", prompt_yml(STRICT, model=FAILING_MODEL))
    ci.head = ci.repo.commit("copy the triage prompt into the lax entry, broken")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 1 and ci.check_runs()[-1]["conclusion"] == "failure", result.out + result.err
    (prompt,) = ci.report()["prompts"]
    assert (prompt["path"], prompt["change"]) == ("prompts/lax/triage.prompt.yml", "added")
    assert prompt["output_mode"] == "json"
    assert "a copy of prompts/strict/triage.prompt.yml" in notes_of(prompt)


# -- red team 13: a pull request retargeted to main is reviewed again -----------------------------------------


def test_a_pull_request_retargeted_from_an_authors_branch_to_main_is_reviewed_again(ci, run_cli):  # noqa: F811
    """Opened against a branch holding the regression, the PR changes no prompt: green. Retargeting it to main
    sends `edited` with `changes.base` (the payload's base is already main): reviewed against main, it fails.
    A title edit changes nothing reviewed: nothing to do, and the check stands."""
    main = make_triage_repo(ci.repo, extra=f"models: [sim:triage-v1, '{FAILING_MODEL}']\n")
    ci.repo.git("checkout", "-q", "-b", "evil-base")
    ci.repo.write("prompts/triage.prompt.yml", prompt_yml(STRICT, model=FAILING_MODEL))
    evil = ci.repo.commit("the regression, pushed to a branch no check guards")
    ci.repo.git("checkout", "-q", "-b", "feature")
    ci.repo.write("README.md", "docs\n")
    ci.head, ci.base = ci.repo.commit("a harmless commit"), evil
    opened = ci.event()
    opened["pull_request"]["base"]["ref"] = "evil-base"
    first = run(run_cli, ci, ci.env(opened))
    assert first.code == 0 and ci.check_runs()[-1]["conclusion"] == "success", first.out + first.err
    ci.base = main
    retarget = ci.event(
        "opened", action="edited", changes={"base": {"ref": {"from": "evil-base"}, "sha": {"from": evil}}}
    )
    result = run(run_cli, ci, ci.env(retarget))
    assert result.code == 1, result.out + result.err
    check_run = ci.check_runs()[-1]
    assert (check_run["head_sha"], check_run["conclusion"]) == (ci.head, "failure")
    runs = len(ci.check_runs())
    title = ci.event("opened", action="edited", changes={"title": {"from": "an older title"}})
    skipped = run(run_cli, ci, ci.env(title))
    assert skipped.code == 0 and "title or body" in skipped.out + skipped.err
    assert len(ci.check_runs()) == runs  # the failure stands


# -- red team 2: false positives of the copy and directory-symlink rules --------------------------------------


def test_a_doc_quoting_a_short_prompts_one_line_is_not_a_copy_of_it(ci, run_cli):  # noqa: F811
    """FP1: a one-line system message has too few runs of words to tell a copy from a quote; a docs-only PR
    quoting it leaves the prompt in the review (nothing to review: skipped), while a file holding the prompt's
    bytes is still its copy."""
    short = "You are a helpful assistant. Reply in JSON."
    make_triage_repo(ci.repo)
    ci.repo.write("prompts/triage.prompt.yml", prompt_yml(short, user="{{ticket}}"))
    ci.base = ci.repo.commit("base: a short prompt")
    ci.repo.git("checkout", "-q", "-b", "feature")
    ci.repo.write("docs/chatbot.md", f"# Another bot\n\nIts system message: {short} Or prose, when asked.\n")
    ci.head = ci.repo.commit("docs only")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 0 and ci.check_runs()[-1]["conclusion"] == "success", result.out + result.err
    ci.repo.write("app/triage.yml", "# the real one\n" + prompt_yml(short, user="{{ticket}}"))
    ci.head = ci.repo.commit("production reads a byte-for-byte copy outside the globs")
    result = run(run_cli, ci, ci.env(ci.event()))
    assert result.code == 1 and ci.check_runs()[-1]["conclusion"] == "failure", result.out + result.err
    (prompt,) = ci.report()["prompts"]
    assert (prompt["change"], prompt["verdict"]) == ("removed", "fail")


def test_a_directory_symlink_no_glob_matches_through_is_none_of_the_reviews_business(git_repo, run_cli):
    """FP2: under a repository-wide glob, `docs/current -> v3` (Markdown only) is no prompt folder: not
    refused. A prompt in the target folder, or a link out of the repository, still is."""
    make_triage_repo(git_repo)
    cfg = (git_repo.root / "promptreview.yml").read_text()
    git_repo.write("promptreview.yml", cfg.replace("prompts/**/*.prompt.yml", "**/*.prompt.yml"))
    git_repo.write("docs/v3/index.md", "# docs\n")
    (git_repo.root / "docs/current").symlink_to("v3")
    git_repo.commit("docs/current -> v3")
    result, report = check(run_cli, git_repo)
    assert result.code == 0 and report["prompts"] == [], result.err
    git_repo.write("docs/v3/extra.prompt.yml", prompt_yml(STRICT))
    git_repo.commit("a prompt in the linked folder")
    assert "docs/current is a symlink to 'v3', a directory" in refused_before_any_call(run_cli, git_repo)
    git_repo.git("rm", "-q", "docs/v3/extra.prompt.yml")
    (git_repo.root / "docs/current").unlink()
    (git_repo.root / "docs/current").symlink_to("../../elsewhere")
    git_repo.commit("a link out of the repository")
    assert "docs/current is a symlink to '../../elsewhere'" in refused_before_any_call(run_cli, git_repo)


# -- red team 2, findings 1-5: symlinks and LFS among the files a prompt reads -----------------------------


def test_a_prompt_symlink_through_a_symlinked_folder_and_dotdot_is_refused_naming_it(git_repo, run_cli):
    """Finding 1: `../x/../prompts/good.prompt.yml` tidies to a prompt of the same entry, but with `x ->
    lib/deep` the OS enters `x` first and production reads `lib/prompts/good.prompt.yml`."""
    make_triage_repo(git_repo)
    git_repo.write("prompts/good.prompt.yml", prompt_yml(STRICT))
    git_repo.write("lib/deep/README", "x\n")
    git_repo.write("lib/prompts/good.prompt.yml", prompt_yml(STRICT, model=BROKEN_MODEL))
    (git_repo.root / "x").symlink_to("lib/deep")
    symlink_prompt(git_repo, "../x/../prompts/good.prompt.yml")
    git_repo.commit("a link through x/..")
    line = refused_before_any_call(run_cli, git_repo)
    assert "prompts/triage.prompt.yml is a symlink to '../x/../prompts/good.prompt.yml'" in line
    assert "symlinked folder 'x'" in line


def test_a_prompty_file_ref_going_into_a_folder_and_back_out_is_refused_naming_it(git_repo, run_cli):
    """Finding 2: prompty's loader resolves `d/../params.json` through a symlinked `d`; the review tidied it."""
    make_triage_repo(git_repo)
    config = (git_repo.root / "promptreview.yml").read_text()
    git_repo.write("promptreview.yml", config.replace("prompts/**/*.prompt.yml", "prompts/*.prompty"))
    git_repo.git("rm", "-q", "prompts/triage.prompt.yml")
    git_repo.write("prompts/params.json", json.dumps({"max_tokens": 300}))
    git_repo.write("lib/params.json", json.dumps({"max_tokens": 5}))
    git_repo.write("lib/deep/README", "x\n")
    (git_repo.root / "prompts/d").symlink_to("../lib/deep")
    git_repo.write(
        "prompts/triage.prompty",
        "---\nname: triage\nmodel:\n  api: chat\n  parameters: ${file:d/../params.json}\n---\n"
        f"system:\n{STRICT}\n\nuser:\n{{{{ticket}}}}\n",
    )
    git_repo.commit("parameters from a file, through d/..")
    line = refused_before_any_call(run_cli, git_repo)
    assert "prompts/triage.prompty" in line and "'d/../params.json' goes into a folder and back out" in line


DOTPROMPT_CONFIG = (
    "version: 1\nmodel: sim:triage-v1\nsamples: 2\nprompts:\n"
    "  - files: 'prompts/app/*.prompt'\n    suite: data/inputs.jsonl\n    output: text\n"
)


@pytest.mark.parametrize("how", ["symlink", "lfs"])
def test_a_partial_that_is_a_symlink_or_under_git_lfs_is_refused_naming_it(git_repo, run_cli, how):
    """Findings 3 and 4: the review rendered the link's text (or the LFS pointer) as the partial, while
    production reads the target (or the LFS object); a later edit of the target alone was skipped."""
    make_triage_repo(git_repo)
    git_repo.write("promptreview.yml", DOTPROMPT_CONFIG)
    git_repo.git("rm", "-q", "prompts/triage.prompt.yml")
    git_repo.write(
        "prompts/app/reply.prompt",
        '{{role "system"}}You answer our customers. {{> tone}}\n{{role "user"}}{{ticket}}\n',
    )
    git_repo.write("prompts/_tone.prompt", "Be polite and brief.")
    git_repo.write("lib/tone.txt", "Be polite and brief.")
    git_repo.commit("base")
    if how == "symlink":
        (git_repo.root / "prompts/_tone.prompt").unlink()
        (git_repo.root / "prompts/_tone.prompt").symlink_to("../lib/tone.txt")
    else:
        git_repo.write(".gitattributes", "prompts/_tone.prompt filter=lfs diff=lfs merge=lfs -text\n")
        git_repo.write("prompts/_tone.prompt", LFS_POINTER)
    git_repo.commit("the tone partial lives elsewhere")
    line = refused_before_any_call(run_cli, git_repo)
    assert "'prompts/_tone.prompt'" in line
    assert ("is a symlink" if how == "symlink" else "filter=lfs") in line


def test_editing_a_ref_file_beside_an_allowed_prompt_symlink_reviews_the_link(git_repo, run_cli):
    """Finding 5: a link prompt is reviewed with the `$ref` files beside the link's path, so an edit of those
    alone must review it; the dependents check read the link's own text and skipped it."""
    make_triage_repo(git_repo)
    own = {"name": "triage", "strict": True, "schema": {"$ref": "triage.schema.json"}}
    body = prompt_yml(STRICT) + f"responseFormat: json_schema\njsonSchema: {json.dumps(json.dumps(own))}\n"
    git_repo.git("rm", "-q", "prompts/triage.prompt.yml")
    git_repo.write("prompts/y/triage.prompt.yml", body)
    for folder in ("x", "y"):
        git_repo.write(f"prompts/{folder}/triage.schema.json", json.dumps(SCHEMA))
    (git_repo.root / "prompts/x").mkdir(exist_ok=True)
    (git_repo.root / "prompts/x/triage.prompt.yml").symlink_to("../y/triage.prompt.yml")
    git_repo.commit("base: x/ links to y/'s prompt")
    loose = {**SCHEMA, "properties": {**SCHEMA["properties"], "category": {"type": "string"}}, "required": []}
    git_repo.write("prompts/x/triage.schema.json", json.dumps(loose))
    git_repo.commit("loosen the schema beside the link only")
    result, report = check(run_cli, git_repo)
    assert report is not None, result.err
    assert [(p["path"], p["change"]) for p in report["prompts"]] == [
        ("prompts/x/triage.prompt.yml", "modified")
    ]
