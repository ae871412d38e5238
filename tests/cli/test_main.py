import sys

import pytest

from tests.conftest import REPO, run_installed

README = (REPO / "README.md").read_text()


def test_help_lists_every_command_and_readme_documents_them(tmp_path, run_cli):
    result = run_cli(["--help"], tmp_path)
    assert result.code == 0
    for command in ("check", "compare", "ci", "init", "demo", "migrate", "drift", "verify", "suite"):
        assert command in result.out
        assert f"promptreview {command}" in README


def test_shared_options_are_documented(tmp_path, run_cli):
    result = run_cli(["check", "--help"], tmp_path)
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
        "--cache-only",
        "--batch",
    ):
        assert option in result.out
        assert option in README


def test_check_outside_git_is_a_usage_error(tmp_path, run_cli):
    result = run_cli(["check"], tmp_path)
    assert result.code == 2
    assert (
        result.err.strip().startswith("promptreview: error:") and "not inside a git repository" in result.err
    )
    assert "Traceback" not in result.err


def test_compare_without_suite_or_config(tmp_path, run_cli):
    (tmp_path / "a.txt").write_text("hi {{x}}")
    (tmp_path / "b.txt").write_text("hello {{x}}")
    result = run_cli(["compare", "a.txt", "b.txt"], tmp_path)
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


@pytest.mark.e2e
def test_compares_reproduce_line_repeats_its_suite_options_and_runs_the_same_review(tmp_path, run_cli):
    """`compare`'s own options (--suite, --strata, ...) are part of the review: the printed line repeats them,
    and no `--config (flags)` for a review without a config file."""
    import re
    import shlex

    (tmp_path / "a.txt").write_text("Reply in JSON only: {{x}}")
    (tmp_path / "b.txt").write_text("Reply in JSON: {{x}}")
    (tmp_path / "s.csv").write_text("x,group\n" + "".join(f"item {i},{'ab'[i % 2]}\n" for i in range(10)))
    args = ["compare", "a.txt", "b.txt", "--suite", "s.csv", "--strata", "group", "--size", "6"]
    first = run_cli([*args, "--samples", "1", "--seed", "7", "--format", "markdown"], tmp_path)
    assert first.code == 0, first.err
    words = shlex.split(re.search(r"Reproduce locally:\n\n```sh\n(.*?)\n```", first.out).group(1))
    assert "--config" not in words
    assert words[1:] == ["compare", "a.txt", "b.txt", "--samples", "1", "--seed", "7", *args[3:]]
    again = run_cli([*words[1:], "--format", "json"], tmp_path)
    assert again.code == 0 and '"n_inputs": 6' in again.out


def test_compare_with_a_config_that_does_not_exist_is_a_usage_error(tmp_path, run_cli):
    (tmp_path / "a.txt").write_text("hi {{x}}")
    (tmp_path / "b.txt").write_text("hello {{x}}")
    result = run_cli(["compare", "a.txt", "b.txt", "--config", "nosuch.yml"], tmp_path)
    assert result.code == 2 and "nosuch.yml: no such file" in result.err


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


@pytest.mark.e2e
@pytest.mark.parametrize("closed", [(1,), (2,), (1, 2)])
def test_closed_standard_streams_keep_the_exit_code(tmp_path, closed):
    """`>&-` / `2>&-`: Python has None for a closed stream. Nothing may crash on it (the progress bar, the colour
    check, the final flush), and the exit code stays the review's: the report file says which."""
    import json
    import os
    import shutil

    source = REPO / "promptreview" / "sample_suites" / "support_triage"
    for name in ("inputs.jsonl", "schema.json"):
        shutil.copy(source / name, tmp_path / name)
    (tmp_path / "prompts").mkdir()
    for name in ("triage.prompt.yml", "triage.edited.prompt.yml"):
        shutil.copy(source / "prompts" / name, tmp_path / "prompts" / name)
    (tmp_path / "promptreview.yml").write_text(
        "version: 1\nmodel: sim:triage-v1\nsamples: 2\nprompts:\n  - files: 'prompts/*.prompt.yml'\n"
        "    suite: inputs.jsonl\n    schema: schema.json\n    sample: {size: 30, seed: 1}\n"
    )
    env = {"PROMPTREVIEW_CACHE_DIR": str(tmp_path / "cache")}

    def run(*args: str) -> int:
        def close() -> None:
            for fd in closed:
                os.close(fd)

        return run_installed(list(args), tmp_path, env, preexec_fn=close).code

    old, new = "prompts/triage.prompt.yml", "prompts/triage.edited.prompt.yml"
    code = run("compare", old, new, "--output", "report.json")
    verdict = json.loads((tmp_path / "report.json").read_text())["verdict"]
    assert code == {"pass": 0, "fail": 1}[verdict]
    assert run("compare", old, new, "--plan") == 0  # the text report to a closed stdout
    assert run("compare", old, "missing.prompt.yml") == 2


def test_bare_promptreview_prints_its_help_and_exits_0(tmp_path, run_cli):
    result = run_cli([], tmp_path)
    assert result.code == 0, result.err
    assert result.out.startswith("Usage: promptreview") and "init" in result.out
    assert result.err == ""


@pytest.mark.e2e
def test_compare_does_not_lend_another_entrys_suite_to_files_it_does_not_cover(tmp_path, run_cli):
    """A config whose only entry covers other files (with a suite that is not there): the two files bring
    their own testData, which is what they are reviewed on."""
    rows = "".join(f"  - q: question {i}\n" for i in range(4))
    (tmp_path / "a.prompt.yml").write_text(
        f"messages:\n  - role: user\n    content: '{{{{q}}}}'\ntestData:\n{rows}"
    )
    (tmp_path / "b.prompt.yml").write_text(
        f"messages:\n  - role: user\n    content: 'Q: {{{{q}}}}'\ntestData:\n{rows}"
    )
    (tmp_path / "promptreview.yml").write_text(
        "version: 1\nprompts:\n  - files: 'x/*.txt'\n    suite: none.jsonl\n"
    )
    result = run_cli(
        ["compare", "a.prompt.yml", "b.prompt.yml", "--model", "sim:x", "--format", "json"], tmp_path
    )
    assert result.code in (0, 1), result.err
    assert '"n_inputs": 4' in result.out


@pytest.mark.parametrize("flag", [["--strata", "group"], ["--per-stratum", "5"], ["--size", "3"]])
def test_compares_sampling_options_without_a_suite_are_refused_not_ignored(tmp_path, run_cli, flag):
    (tmp_path / "a.txt").write_text("hi {{x}}")
    (tmp_path / "b.txt").write_text("hello {{x}}")
    result = run_cli(["compare", "a.txt", "b.txt", *flag], tmp_path)
    assert result.code == 2 and "need --suite" in result.err


def test_ctrl_c_during_a_review_says_the_answers_are_cached_and_how_to_resume(git_repo, run_cli, monkeypatch):
    """click turns Ctrl-C into `Abort`, the interrupt as its cause: the user still gets the resume line, exit 130."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    # `promptreview.cli.check` is the click command by that name; the module is in sys.modules
    monkeypatch.setattr(sys.modules["promptreview.cli.check"], "review_changes", interrupted)
    result = run_cli(["check"], git_repo.root)
    assert result.code == 130
    assert "interrupted; completed calls are cached, re-run to resume" in result.err
    assert "aborted" not in result.err
