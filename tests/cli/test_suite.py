"""`promptreview suite import`'s summary line: what was written and what was left out, counted, so a stratum key
the log never holds is seen at once rather than as a column of `unknown` later."""

from __future__ import annotations

import shutil

from tests.fixtures_path import FIXTURES

BATCH = FIXTURES / "traces" / "openai" / "nightly_support_qa_batch.jsonl"


def test_a_stratum_the_log_never_holds_is_counted_in_the_summary(tmp_path, run_cli):
    shutil.copy(BATCH, tmp_path / "log.jsonl")
    made = run_cli(["suite", "import", "log.jsonl", "-o", "s.jsonl", "--strata", "metadata.chanel"], tmp_path)
    assert made.code == 0, made.err
    (line, _provenance) = made.out.splitlines()
    assert line.startswith("s.jsonl: 10 rows from 10 model calls (openai; 10 records read);")
    assert line.endswith("; 10 stratum values missing, written as unknown")


def test_without_strata_the_summary_says_nothing_of_them_and_one_row_is_singular(tmp_path, run_cli):
    (tmp_path / "log.jsonl").write_text(BATCH.read_text().splitlines()[0] + "\n")
    made = run_cli(["suite", "import", "log.jsonl", "-o", "s.jsonl"], tmp_path)
    assert made.code == 0, made.err
    line = made.out.splitlines()[0]
    assert line.startswith("s.jsonl: 1 row from 1 model call (openai; 1 record read);")
    assert "stratum" not in line
