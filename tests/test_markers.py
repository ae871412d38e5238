"""The e2e marker is on every test that runs a whole review, so `pytest -m "not e2e"` stays the fast tier.

tests/conftest.py enforces it: a test without the marker fails when it reaches a review (every check, compare,
ci and demo, in-process or through the engine) or starts the console script; every test in tests/e2e/ has it.
These tests check the guard itself.
"""

from __future__ import annotations

import pytest

from tests.conftest import E2E_FOLDER, REPO, run_installed


def _compare_files(folder) -> list[str]:
    (folder / "a.txt").write_text("Reply in JSON only: {{x}}")
    (folder / "b.txt").write_text("Reply in JSON: {{x}}")
    (folder / "s.csv").write_text("x\n" + "".join(f"item {i}\n" for i in range(4)))
    return ["compare", "a.txt", "b.txt", "--suite", "s.csv", "--model", "sim:triage-v1", "--format", "json"]


def test_an_unmarked_test_that_runs_a_review_fails(tmp_path, run_cli):
    with pytest.raises(pytest.fail.Exception, match="runs a whole review: mark it @pytest.mark.e2e"):
        run_cli(_compare_files(tmp_path), tmp_path)


def test_an_unmarked_test_that_starts_the_console_script_fails(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="starts the console script: mark it @pytest.mark.e2e"):
        run_installed(["--version"], tmp_path)


@pytest.mark.e2e
def test_a_marked_test_runs_the_same_review(tmp_path, run_cli):
    result = run_cli(_compare_files(tmp_path), tmp_path)
    assert result.code in (0, 1), result.err
    assert result.json()["verdict"] in ("pass", "fail")


def test_every_test_in_the_e2e_folder_is_marked(request):
    in_folder = [item for item in request.session.items if item.path.is_relative_to(E2E_FOLDER)]
    assert all(item.get_closest_marker("e2e") for item in in_folder)


def test_the_console_script_starts_only_through_run_installed():
    # a test that builds the script's path itself would slip past the guard in run_installed
    spelled = 'executable).parent / "promptreview"'
    found = [
        path.relative_to(REPO).as_posix()
        for path in (REPO / "tests").rglob("*.py")
        if spelled in path.read_text("utf-8") and path.name not in ("conftest.py", "test_markers.py")
    ]
    assert found == []
