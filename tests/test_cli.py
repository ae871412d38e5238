from pathlib import Path

import pytest

from tests.conftest import run_installed

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_help_lists_every_command_and_readme_documents_them(tmp_path):
    result = run_installed(["--help"], tmp_path)
    assert result.code == 0
    for command in ("check", "compare", "ci", "init"):
        assert command in result.out
        assert f"promptreview {command}" in README


def test_shared_options_are_documented():
    result = run_installed(["check", "--help"], Path.cwd())
    for option in (
        "--config",
        "--model",
        "--samples",
        "--seed",
        "--concurrency",
        "--format",
        "--output",
        "--no-cache",
        "--plan",
        "--base",
        "--head",
    ):
        assert option in result.out
        assert option in README


def test_check_outside_git_is_a_usage_error(tmp_path):
    result = run_installed(["check"], tmp_path)
    assert result.code == 2
    assert (
        result.err.strip().startswith("promptreview: error:") and "not inside a git repository" in result.err
    )
    assert "Traceback" not in result.err


def test_compare_without_suite_or_config(tmp_path):
    (tmp_path / "a.txt").write_text("hi {{x}}")
    (tmp_path / "b.txt").write_text("hello {{x}}")
    result = run_installed(["compare", "a.txt", "b.txt"], tmp_path)
    assert result.code == 2 and "--suite" in result.err and len(result.err.strip().splitlines()) == 1


@pytest.mark.e2e
def test_compare_with_flags_only(tmp_path):
    (tmp_path / "a.txt").write_text("Reply in JSON only: {{x}}")
    (tmp_path / "b.txt").write_text("Reply in JSON: {{x}}")
    (tmp_path / "s.csv").write_text("x,group\n" + "".join(f"item {i},{'ab'[i % 2]}\n" for i in range(10)))
    result = run_installed(
        [
            "compare",
            "a.txt",
            "b.txt",
            "--suite",
            "s.csv",
            "--strata",
            "group",
            "--samples",
            "1",
            "--format",
            "json",
        ],
        tmp_path,
        env={"XDG_CACHE_HOME": str(tmp_path / "cache")},
    )
    assert result.code == 0, result.err  # the deterministic answers give a pass: no gate fails
    assert '"n_inputs": 10' in result.out and '"verdict": "pass"' in result.out


def test_compare_reads_the_config_like_check_does(tmp_path, run_cli):
    (tmp_path / "a.txt").write_text("hi {{x}}")
    (tmp_path / "b.txt").write_text("hello {{x}}")
    (tmp_path / "promptreview.yml").write_bytes(b"version: 1\nmodel: \xff\xfe\n")
    result = run_cli(["compare", "a.txt", "b.txt"], tmp_path)
    assert result.code == 2 and result.err.startswith(
        "promptreview: error: promptreview.yml: not valid UTF-8"
    )
    assert len(result.err.strip().splitlines()) == 1


def test_compare_refuses_per_stratum_with_size(tmp_path, run_cli):
    (tmp_path / "a.txt").write_text("hi {{x}}")
    (tmp_path / "b.txt").write_text("hello {{x}}")
    (tmp_path / "s.csv").write_text("x\n1\n")
    args = ["compare", "a.txt", "b.txt", "--suite", "s.csv", "--per-stratum", "2", "--size", "4"]
    result = run_cli(args, tmp_path)
    assert result.code == 2 and "either --per-stratum or --size" in result.err


@pytest.mark.parametrize(
    ("fmt", "output", "expected"),
    [
        (None, "report.html", "html"),
        (None, "out/REPORT.JSON", "json"),
        (None, "comment.md", "markdown"),
        (None, "report.txt", "text"),
        (None, None, "text"),
        ("json", "report.html", "json"),  # an explicit --format wins
    ],
)
def test_the_output_files_extension_names_the_format_unless_format_is_given(fmt, output, expected):
    from promptreview.cli.output import report_format

    assert report_format(fmt, output) == expected
