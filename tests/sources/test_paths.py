import json
import os

import pytest

from promptreview.engine.planning.contract import config_schema
from promptreview.errors import MissingFile, RefusedFile, UsageError
from promptreview.sources.formats.reading import beside
from promptreview.sources.paths import (
    check_globs,
    matches_any,
    reaches_inside,
    read_inside,
    reader,
    repo_relative,
)


def test_relative_paths_are_normalised(tmp_path):
    assert repo_relative(tmp_path, "./a/b.jsonl", "suite") == "a/b.jsonl"


@pytest.mark.parametrize("raw", ["../secrets.txt", "a/../../b", "/etc/passwd", "C:\\x"])
def test_paths_leaving_the_repo_are_refused(tmp_path, raw):
    with pytest.raises(UsageError, match="suite"):
        repo_relative(tmp_path, raw, "suite")


@pytest.mark.parametrize("glob", ["../**", "/etc/*.yml", "prompts/../../?.yml"])
def test_a_glob_leaving_the_repo_is_refused_quoting_it_as_written(tmp_path, glob):
    # the check stands a letter in for each wildcard; the message must not show that stand-in
    with pytest.raises(UsageError) as raised:
        check_globs(tmp_path, ("prompts/*.yml", glob), "--prompts")
    assert str(raised.value).startswith(f"--prompts: {glob!r} ")


def test_symlink_leaving_the_repo_is_refused(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    repo = tmp_path / "repo"
    repo.mkdir()
    os.symlink(outside, repo / "link.jsonl")
    with pytest.raises(UsageError, match="symlink"):
        read_inside(repo, None, "link.jsonl", "suite")


def test_symlink_inside_the_repo_is_fine(tmp_path):
    (tmp_path / "real.jsonl").write_text("{}")
    os.symlink(tmp_path / "real.jsonl", tmp_path / "link.jsonl")
    assert read_inside(tmp_path, None, "link.jsonl", "suite") == ("link.jsonl", b"{}")


def test_missing_file(tmp_path):
    with pytest.raises(MissingFile, match="does not exist") as info:
        read_inside(tmp_path, None, "nope.jsonl", "suite")
    assert (info.value.path, info.value.rev) == ("nope.jsonl", None)


SCHEMA = '{"type": "object", "required": ["label"]}'


def test_a_schema_file_new_at_head_is_read_at_head(git_repo):
    git_repo.write("README.md", "base")
    base = git_repo.commit("base")
    git_repo.write("schemas/new.json", SCHEMA)
    head = git_repo.commit("head")
    assert config_schema(git_repo.root, base, "schemas/new.json", head) == json.loads(SCHEMA)


@pytest.mark.parametrize("name", ["schemas/bad.json", "schemas/does not exist.json"])
def test_a_broken_schema_file_at_the_base_is_not_replaced_by_the_heads(git_repo, name):
    # only a missing file falls back: a broken one at the base stops the review, whatever its name says
    git_repo.write(name, "{not json")
    base = git_repo.commit("base")
    git_repo.write(name, SCHEMA)
    head = git_repo.commit("head fixes it")
    with pytest.raises(UsageError, match="not valid JSON") as info:
        config_schema(git_repo.root, base, name, head)
    assert not isinstance(info.value, MissingFile)


@pytest.mark.parametrize(
    ("path", "glob", "expected"),
    [
        ("prompts/a.prompt.yml", "prompts/**/*.prompt.yml", True),
        ("prompts/x/y/a.prompt.yml", "prompts/**/*.prompt.yml", True),
        ("prompts/x/a.prompt.yml", "prompts/*.prompt.yml", False),
        ("other/a.prompt.yml", "prompts/**/*.prompt.yml", False),
        ("a.txt", "*.txt", True),
        ("a/b.txt", "*.txt", False),
        ("a1.md", "a?.md", True),
        ("prompts/a.prompt.yml", "./prompts/*.prompt.yml", True),
        (".prompts/a.prompt.yml", "./.prompts/*.prompt.yml", True),  # only the leading "./" goes
        ("prompts/a.prompt.yml", "./.prompts/*.prompt.yml", False),
    ],
)
def test_globs(path, glob, expected):
    assert matches_any(path, (glob,)) is expected


@pytest.mark.parametrize(
    ("directory", "glob", "inside"),
    [
        ("prompts/common", "prompts/**/*.prompt.yml", True),
        ("prompts/common", "prompts/*.prompt.yml", False),  # `*` stays in one segment
        ("prompts", "prompts/*.prompt.yml", True),
        ("a", "a/b/*.txt", True),  # a literal segment below the directory (missed by probing with `x`)
        ("vendor/lib", "prompts/**/*.prompt.yml", False),
        ("anything/deep", "**/*.txt", True),
        ("prompts/a.prompt.yml", "prompts/*.prompt.yml", False),  # the glob ends at the file itself
    ],
)
def test_whether_a_glob_could_match_files_inside_a_directory(directory, glob, inside):
    assert reaches_inside(directory, (glob,)) is inside


@pytest.mark.parametrize("at", ["commit", "working tree"])
@pytest.mark.parametrize("name", ["prompts/d/params.json", "prompts/params.json"])
def test_a_file_a_prompt_reads_through_a_symlink_is_refused_naming_it(git_repo, at, name):
    """Red team 2, findings 2-3: production's loader follows the link; the review read the link's text (or,
    through a symlinked folder, nothing at a commit and the target in the working tree)."""
    git_repo.write("lib/params.json", '{"max_tokens": 5}')
    if name == "prompts/d/params.json":
        git_repo.write("prompts/README", "x\n")
        (git_repo.root / "prompts/d").symlink_to("../lib")
    else:
        (git_repo.root / "prompts").mkdir()
        (git_repo.root / name).symlink_to("../lib/params.json")
    sha = git_repo.commit("a file beside the prompt, through a link")
    with pytest.raises(RefusedFile, match=f"'{name}' is (a symlink|reached through the symlink 'prompts/d')"):
        reader(git_repo.root, sha if at == "commit" else None)(name)


def test_a_file_ref_into_a_folder_and_back_out_is_refused():
    """Red team 2, finding 2: `d/../params.json` tidies to the prompt's folder; prompty's loader enters `d`."""
    with pytest.raises(RefusedFile, match="'d/../params.json' goes into a folder and back out"):
        beside("prompts/x.prompty", lambda _: b"{}", "d/../params.json", "${file:...}")
    assert beside("prompts/app/x.prompty", lambda _: b"{}", "../params.json", "f") == (
        "prompts/params.json",
        b"{}",
    )
