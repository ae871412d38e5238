import json
import os

import pytest

from promptreview.engine.planning.plan import config_schema
from promptreview.errors import MissingFile, UsageError
from promptreview.sources.paths import matches_any, reaches_inside, read_inside, repo_relative


def test_relative_paths_are_normalised(tmp_path):
    assert repo_relative(tmp_path, "./a/b.jsonl", "suite") == "a/b.jsonl"


@pytest.mark.parametrize("raw", ["../secrets.txt", "a/../../b", "/etc/passwd", "C:\\x"])
def test_paths_leaving_the_repo_are_refused(tmp_path, raw):
    with pytest.raises(UsageError, match="suite"):
        repo_relative(tmp_path, raw, "suite")


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
