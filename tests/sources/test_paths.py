import os

import pytest

from promptreview.errors import UsageError
from promptreview.sources.paths import matches_any, read_inside, repo_relative


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
    with pytest.raises(UsageError, match="does not exist"):
        read_inside(tmp_path, None, "nope.jsonl", "suite")


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
