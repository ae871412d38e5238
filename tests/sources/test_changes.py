import pytest

from promptreview.errors import UsageError
from promptreview.sources import git


def test_modified_added_removed_renamed(git_repo):
    git_repo.write("prompts/keep.txt", "same\n")
    git_repo.write("prompts/edit.txt", "old text\n")
    git_repo.write("prompts/gone.txt", "bye\n")
    git_repo.write("prompts/move.txt", "a long enough body so that git detects the rename\n" * 5)
    base = git_repo.commit("base")
    git_repo.write("prompts/edit.txt", "new text\n")
    (git_repo.root / "prompts/gone.txt").unlink()
    git_repo.git("mv", "prompts/move.txt", "prompts/moved.txt")
    git_repo.write("prompts/new.txt", "hello\n")
    head = git_repo.commit("head")
    found = {(c.change, c.old_path, c.new_path) for c in git.changed_files(git_repo.root, base, head)}
    assert found == {
        ("modified", "prompts/edit.txt", "prompts/edit.txt"),
        ("removed", "prompts/gone.txt", None),
        ("renamed", "prompts/move.txt", "prompts/moved.txt"),
        ("added", None, "prompts/new.txt"),
    }
    assert git.read_at(git_repo.root, base, "prompts/edit.txt") == b"old text\n"
    assert git.read_at(git_repo.root, head, "prompts/gone.txt") is None


def test_working_tree_includes_untracked_files(git_repo):
    git_repo.write("a.txt", "1\n")
    base = git_repo.commit()
    git_repo.write("a.txt", "2\n")
    git_repo.write("b.txt", "new\n")
    found = {(c.change, c.new_path) for c in git.changed_files(git_repo.root, base, None)}
    assert found == {("modified", "a.txt"), ("added", "b.txt")}


def test_merge_base_of_a_branch(git_repo):
    git_repo.write("a.txt", "1\n")
    fork = git_repo.commit("fork point")
    git_repo.git("checkout", "-q", "-b", "feature")
    git_repo.write("a.txt", "feature\n")
    git_repo.commit("feature work")
    git_repo.git("checkout", "-q", "main")
    git_repo.write("b.txt", "main moved on\n")
    git_repo.commit("main work")
    assert git.merge_base(git_repo.root, "main", "feature") == fork
    assert git.default_base(git_repo.root) == "main"


def test_unknown_revision_names_the_fix(git_repo):
    git_repo.write("a.txt", "1\n")
    git_repo.commit()
    with pytest.raises(UsageError, match="fetch-depth"):
        git.resolve_rev(git_repo.root, "deadbeef")


def test_not_a_repository(tmp_path):
    with pytest.raises(UsageError, match="not inside a git repository"):
        git.repo_root(tmp_path)


def test_git_is_asked_once_per_need(git_repo, monkeypatch):
    """A file at a commit and a commit found by its SHA are immutable: asked once, answered from memory after.
    What was not found is asked again (a shallow clone may fetch it meanwhile); a branch name is always asked."""
    git_repo.write("schema.json", "{}\n")
    base = git_repo.commit("base")
    asked: list[tuple[str, ...]] = []
    real = git._git

    def counting(root, *args, **kwargs):
        asked.append(args)
        return real(root, *args, **kwargs)

    monkeypatch.setattr(git, "_git", counting)
    assert git.read_at(git_repo.root, base, "schema.json") == b"{}\n"
    assert git.read_at(git_repo.root, base, "schema.json") == b"{}\n"
    assert git.read_at(git_repo.root, base, "missing.json") is None
    assert git.read_at(git_repo.root, base, "missing.json") is None
    assert git.find_commit(git_repo.root, "HEAD") == base
    assert git.resolve_rev(git_repo.root, base) == base
    assert git.find_commit(git_repo.root, "HEAD") == base
    shows = [a for a in asked if a[0] == "show"]
    parses = [a for a in asked if a[0] == "rev-parse"]
    assert len(shows) == 3  # the file once, the missing file twice
    assert len(parses) == 2  # HEAD twice (a name can move), its SHA never


def test_list_files_and_read_many(git_repo):
    git_repo.write("prompts/a.txt", "alpha\n")
    git_repo.write("prompts/b.txt", "beta\n")
    base = git_repo.commit()
    assert git.list_files(git_repo.root, base) == ["prompts/a.txt", "prompts/b.txt"]
    found = git.read_many(git_repo.root, base, ["prompts/b.txt", "missing.txt", "prompts", "prompts/a.txt"])
    assert found == {"prompts/a.txt": b"alpha\n", "prompts/b.txt": b"beta\n"}
    git_repo.write("new.txt", "untracked\n")
    assert "new.txt" in git.list_files(git_repo.root, None)


def test_an_edited_copy_of_a_one_line_prompt_is_similar():
    from promptreview.sources.changes import similar

    prompt = b"system: " + b" ".join(b"word%d" % i for i in range(60)) + b"\n"
    edited = prompt.replace(b"word3 ", b"").replace(b"word40", b"changed")
    assert similar(prompt, edited)  # git's line chunks would call these strangers
    assert not similar(prompt, b"something else entirely, a module of code\n")


def test_a_prompt_moved_to_a_laxer_entry_keeps_the_strictest_contract(git_repo):
    from promptreview.sources.changes import changed_prompts
    from promptreview.sources.config import parse_config

    config = parse_config(
        "version: 1\nprompts:\n"
        "  - files: 'strict/*.txt'\n    suite: s.jsonl\n    schema: schema.json\n"
        "    expect: {category: label}\n"
        "  - files: 'lax/*.txt'\n    suite: t.jsonl\n    output: text\n    expect: {summary: text}\n"
    )
    git_repo.write("strict/p.txt", "a long enough prompt body so that git detects the rename {{q}}\n" * 5)
    git_repo.write("lax/other.txt", "other {{q}}\n")
    base = git_repo.commit("base")
    git_repo.git("mv", "strict/p.txt", "lax/p.txt")
    head = git_repo.commit("head")
    (change,) = changed_prompts(git_repo.root, config, base, head).prompts
    assert (change.change, change.path, change.base_path) == ("renamed", "lax/p.txt", "strict/p.txt")
    entry = change.entry
    assert (entry.suite, entry.schema, entry.output) == ("s.jsonl", "schema.json", "auto")
    assert [e.field for e in entry.expect] == ["category", "summary"]  # the new entry's checks are added


def test_a_prompt_reading_a_changed_partial_is_a_change_in_the_working_tree_too(git_repo):
    from promptreview.sources.changes import changed_prompts
    from promptreview.sources.config import load_config

    git_repo.write(
        "promptreview.yml", "version: 1\nprompts:\n  - files: 'p/**/*.prompt'\n    suite: s.jsonl\n"
    )
    git_repo.write("p/_tone.prompt", "Be kind.")
    git_repo.write("p/a.prompt", '{{role "user"}}{{> tone}} {{q}}')
    git_repo.write("p/b.prompt", '{{role "user"}}{{q}}')
    base = git_repo.commit("base")
    git_repo.write("p/_tone.prompt", "Be brief.")  # not committed: the working tree
    git_repo.write("p/c.prompt", '{{role "user"}}{{> tone}}!')  # untracked, and new: an added prompt
    config = load_config(git_repo.root, "promptreview.yml", None)
    found = changed_prompts(git_repo.root, config, base, None)
    assert {(c.path, c.change) for c in found.prompts} == {
        ("p/a.prompt", "modified"),
        ("p/c.prompt", "added"),
    }


def test_attributes_are_read_from_the_commits_own_gitattributes(git_repo):
    git_repo.write(".gitattributes", "prompts/*.txt filter=lfs -text\n")
    git_repo.write("prompts/a.txt", "hello\n")
    git_repo.write("b.txt", "plain\n")
    rev = git_repo.commit("under lfs")
    (git_repo.root / ".gitattributes").unlink()  # the working tree no longer says so: the commit still does
    names = ("filter", "working-tree-encoding")
    assert git.attributes(git_repo.root, rev, ["prompts/a.txt", "b.txt"], names) == {
        "prompts/a.txt": {"filter": "lfs"}
    }


def test_symlinks_and_what_they_name(git_repo):
    git_repo.write("a.txt", "1\n")
    (git_repo.root / "link.txt").symlink_to("a.txt")
    rev = git_repo.commit("a link")
    assert git.symlinks(git_repo.root, rev) == ["link.txt"] == git.symlinks(git_repo.root, None)
    assert (
        git.link_text(git_repo.root, rev, "link.txt")
        == "a.txt"
        == git.link_text(git_repo.root, None, "link.txt")
    )
    assert git.mode_at(git_repo.root, rev, "link.txt") == git.SYMLINK


def _schema_ref_repo(git_repo, ref_key: str = '"$ref"'):
    """A prompt whose jsonSchema `$ref`s a sibling file, which `$ref`s another; an unrelated prompt beside it."""
    from promptreview.sources.config import parse_config

    config = parse_config("version: 1\nprompts:\n  - files: 'p/*.prompt.yml'\n    suite: s.jsonl\n")
    messages = "messages:\n  - role: user\n    content: '{{q}}'\n"
    git_repo.write("p/a.prompt.yml", f"{messages}jsonSchema:\n  {ref_key}: schemas/a.json\n")
    git_repo.write("p/b.prompt.yml", messages)
    git_repo.write("p/schemas/a.json", '{"type": "object", "properties": {"x": {"$ref": "x.json"}}}')
    git_repo.write("p/schemas/x.json", '{"type": "string"}')
    return config, git_repo.commit("base")


# YAML can spell `$ref` so that no search of the text finds it
@pytest.mark.parametrize("ref_key", ['"$ref"', '"\\u0024ref"'])
def test_a_prompt_whose_schema_refs_a_changed_file_is_a_change(git_repo, ref_key):
    from promptreview.sources.changes import changed_prompts

    config, base = _schema_ref_repo(git_repo, ref_key)
    git_repo.write("p/schemas/x.json", '{"type": "integer"}')  # a file the sibling refs: sent too
    head = git_repo.commit("edit only a schema file the prompt's schema bundles")
    (change,) = changed_prompts(git_repo.root, config, base, head).prompts
    assert (change.path, change.change, change.base == change.head) == ("p/a.prompt.yml", "modified", True)


def test_a_prompt_whose_schema_file_is_deleted_is_reviewed_and_then_refused(git_repo):
    from promptreview.sources.changes import changed_prompts
    from promptreview.sources.schemas import resolve_refs

    config, base = _schema_ref_repo(git_repo)
    git_repo.git("rm", "-q", "p/schemas/a.json")
    head = git_repo.commit("delete the schema file")
    (change,) = changed_prompts(git_repo.root, config, base, head).prompts
    assert change.path == "p/a.prompt.yml"
    with pytest.raises(UsageError, match="does not resolve"):  # what the review then says, before any call
        resolve_refs({"$ref": "schemas/a.json"}, change.path, git_repo.root, head, change.path)


def test_a_changed_prompt_that_reads_a_changed_partial_is_one_change(git_repo):
    from promptreview.sources.changes import changed_prompts
    from promptreview.sources.config import parse_config

    config = parse_config("version: 1\nprompts:\n  - files: 'p/*.prompt'\n    suite: s.jsonl\n")
    git_repo.write("p/_tone.prompt", "Be kind.")
    git_repo.write("p/a.prompt", '{{role "user"}}{{> tone}} {{q}}')
    base = git_repo.commit("base")
    git_repo.write("p/_tone.prompt", "Be brief.")
    git_repo.write("p/a.prompt", '{{role "user"}}{{> tone}} Now: {{q}}')
    head = git_repo.commit("edit both")
    assert [c.path for c in changed_prompts(git_repo.root, config, base, head).prompts] == ["p/a.prompt"]


def test_a_renamed_prompt_whose_schema_file_changed_is_reviewed_not_listed(git_repo):
    from promptreview.sources.changes import changed_prompts

    config, base = _schema_ref_repo(git_repo)
    git_repo.git("mv", "p/a.prompt.yml", "p/renamed.prompt.yml")
    git_repo.write("p/schemas/a.json", '{"type": "object"}')
    head = git_repo.commit("rename the prompt, edit its schema file")
    (change,) = changed_prompts(git_repo.root, config, base, head).prompts
    assert (change.path, change.base_path, change.change) == (
        "p/renamed.prompt.yml",
        "p/a.prompt.yml",
        "renamed",
    )
    assert change.listed is None  # not "renamed without a change to its content": what it sends changed


def test_a_copy_padded_with_a_comment_is_still_a_copy():
    """Containment: what the other file adds around the prompt (a 400-word comment) dilutes nothing; the
    prompt's messages alone, without its testData, are a copy too; a file of another text is none."""
    from promptreview.sources.changes import similar
    from tests.e2e_helpers import STRICT, prompt_yml

    prompt = prompt_yml(STRICT).encode()
    padding = ("# " + " ".join(f"note{i}" for i in range(400)) + "\n").encode()
    assert similar(prompt, padding + prompt.replace(b"sim:triage-v1", b"sim:other") + padding * 50)
    assert similar(prompt, b'PROMPT = """' + STRICT.encode() + b'"""\n' + padding * 3, "p.prompt.yml")
    assert not similar(prompt, padding + b"a module of code, something else entirely\n" * 100)


def test_a_copy_is_looked_for_in_a_file_of_any_size_in_one_pass(git_repo):
    """No size past which a new file outside the globs goes unread (it was 1 MB): a prompt copied into the
    middle of 3 MB of padding leaves the review."""
    from promptreview.sources.changes import changed_prompts
    from promptreview.sources.config import parse_config

    config = parse_config("version: 1\nprompts:\n  - files: 'prompts/*.txt'\n    suite: s.jsonl\n")
    body = " ".join(f"step{i} of the triage prompt" for i in range(80)) + " {{q}}\n"
    git_repo.write("prompts/p.txt", body)
    base = git_repo.commit("base")
    pad = "lorem ipsum dolor sit amet\n" * 60_000
    git_repo.write("app/p.txt", pad + body + pad)
    head = git_repo.commit("a copy in 3 MB")
    (change,) = changed_prompts(git_repo.root, config, base, head).prompts
    assert (change.change, change.path) == ("removed", "prompts/p.txt")
    assert change.listed is not None and change.listed.kind == "prompt_copied_out"


def test_a_copy_of_a_stricter_entrys_prompt_added_to_a_laxer_one_is_a_move(git_repo):
    """The original stays untouched (a decoy) while a copy is added under a laxer entry: reviewed under the
    strictest contract, as a move is; a new prompt of its own there, or a copy from the laxer entry into the
    stricter one, keeps its entry's contract."""
    from promptreview.sources.changes import changed_prompts
    from promptreview.sources.config import parse_config

    config = parse_config(
        "version: 1\nprompts:\n"
        "  - files: 'strict/*.txt'\n    suite: s.jsonl\n    schema: schema.json\n"
        "  - files: 'lax/*.txt'\n    suite: t.jsonl\n    output: text\n"
    )
    strict_body = " ".join(f"rule{i} for the category and priority" for i in range(30)) + " {{q}}\n"
    lax_body = " ".join(f"say{i} something kind about the ticket" for i in range(30)) + " {{q}}\n"
    git_repo.write("strict/p.txt", strict_body)
    git_repo.write("lax/other.txt", lax_body)
    base = git_repo.commit("base")
    git_repo.write("lax/p.txt", strict_body.replace("rule3 ", ""))
    git_repo.write("lax/new.txt", "a summary of the ticket in two friendly sentences {{q}}\n")
    git_repo.write("strict/kind.txt", lax_body)
    head = git_repo.commit("head")
    by_path = {c.path: c for c in changed_prompts(git_repo.root, config, base, head).prompts}
    copied = by_path["lax/p.txt"]
    assert copied.copied_from == "strict/p.txt"
    assert (copied.entry.suite, copied.entry.schema, copied.entry.output) == (
        "s.jsonl",
        "schema.json",
        "auto",
    )
    assert by_path["lax/new.txt"].copied_from is None and by_path["lax/new.txt"].entry.output == "text"
    assert by_path["strict/kind.txt"].copied_from is None
    assert by_path["strict/kind.txt"].entry.schema == "schema.json"


def test_a_new_prompt_sharing_only_the_format_and_test_data_with_a_stricter_one_is_no_copy(git_repo):
    """Inside the globs only what a prompt sends counts: the keys of a format and a shared testData are no copy."""
    from promptreview.sources.changes import changed_prompts
    from promptreview.sources.config import parse_config
    from tests.e2e_helpers import STRICT, prompt_yml

    config = parse_config(
        "version: 1\nprompts:\n"
        "  - files: 'strict/*.prompt.yml'\n    schema: schema.json\n"
        "  - files: 'lax/*.prompt.yml'\n    output: text\n"
    )
    rows = "testData:\n" + "".join(
        f"  - ticket: the app crashes on screen {i} of the settings\n" for i in range(60)
    )
    git_repo.write("strict/p.prompt.yml", prompt_yml(STRICT) + rows)
    base = git_repo.commit("base")
    other = prompt_yml("Write a friendly summary of the ticket for the weekly customer newsletter.") + rows
    git_repo.write("lax/summary.prompt.yml", other)
    git_repo.write("lax/copy.prompt.yml", prompt_yml(STRICT, model="sim:other"))
    head = git_repo.commit("head")
    by_path = {c.path: c for c in changed_prompts(git_repo.root, config, base, head).prompts}
    assert by_path["lax/summary.prompt.yml"].copied_from is None
    assert by_path["lax/summary.prompt.yml"].entry.output == "text"
    assert by_path["lax/copy.prompt.yml"].copied_from == "strict/p.prompt.yml"


def test_current_prompts_are_every_covered_file_as_it_is_now(git_repo):
    from promptreview.sources.changes import current_prompts
    from promptreview.sources.config import parse_config

    config = parse_config("version: 1\nprompts:\n  - files: 'prompts/*.txt'\n    suite: s.jsonl\n")
    git_repo.write("prompts/a.txt", "a {{q}}\n")
    git_repo.write("prompts/b.txt", "b {{q}}\n")
    git_repo.write("other/c.txt", "c {{q}}\n")
    git_repo.commit("base")
    git_repo.write("prompts/a.txt", "a, edited {{q}}\n")  # the working tree is what migrates
    found = current_prompts(git_repo.root, config, None)
    assert [(c.path, c.base, c.head) for c in found] == [
        ("prompts/a.txt", b"a, edited {{q}}\n", b"a, edited {{q}}\n"),
        ("prompts/b.txt", b"b {{q}}\n", b"b {{q}}\n"),
    ]
    assert [c.path for c in current_prompts(git_repo.root, config, None, "prompts/b*")] == ["prompts/b.txt"]
    for glob, says in (("other/*.txt", "matches no prompt file"), ("../x/*", "leaves the repository")):
        with pytest.raises(UsageError, match=says):
            current_prompts(git_repo.root, config, None, glob)
