"""`engine/verify.py` on hand-built reports: the numbers a replay must give, compared exactly (up to float
noise), and a report that is no report refused in one line before anything reads it."""

from __future__ import annotations

import json

import pytest

from promptreview.engine import verify
from promptreview.errors import UsageError


def prompt(**rates: float) -> dict:
    return {
        "path": "p.prompt.yml",
        "verdict": "pass",
        "n_inputs": 10,
        "samples": 2,
        "rates": {
            k: {"base": 0.0, "head": v, "delta": v, "ci95": [0.0, v], "p_value": 0.5}
            for k, v in rates.items()
        },
        "flip_rate": {"head_vs_base": 0.1, "noise_floor": 0.05},
        "distribution_shift": [
            {"field": "category", "kind": "categorical", "statistic": 1.5, "p_value": 0.2}
        ],
        "strata": [
            {"label": "channel=email", "rates": {"refusal": {"base": 0.0, "head": 0.1, "p_value": 0.3}}}
        ],
        "evaluators": [{"name": "expect", "base": 1.0, "head": 0.9, "p_decrease": 0.04, "gate": "pass"}],
    }


def test_numbers_name_every_figure_a_replay_must_give():
    found = verify.numbers(prompt(refusal=0.1))
    assert found["rates.refusal.head"] == 0.1 and found["rates.refusal.ci95"] == [0.0, 0.1]
    assert found["flip_rate.noise_floor"] == 0.05
    assert found["distribution_shift.category (categorical).p_value"] == 0.2
    assert found["strata.channel=email.rates.refusal.head"] == 0.1
    assert found["evaluators.expect.p_decrease"] == 0.04 and found["evaluators.expect.gate"] == "pass"
    assert found["verdict"] == "pass" and found["n_inputs"] == 10


def test_a_replay_that_differs_only_in_float_noise_matches_and_any_other_change_does_not():
    recorded = {"verdict": "pass", "prompts": [prompt(refusal=0.1)]}
    noisy = {"verdict": "pass", "prompts": [prompt(refusal=0.1 + 1e-15)], "calls": {"total": 4, "cached": 4}}
    assert [f.status for f in verify._replayed(recorded, noisy)] == ["ok", "ok", "ok"]
    moved = {"verdict": "pass", "prompts": [prompt(refusal=0.11)], "calls": {"total": 4, "cached": 4}}
    differs = [f for f in verify._replayed(recorded, moved) if f.status == "differs"]
    assert {f.subject for f in differs} == {"p.prompt.yml: rates.refusal.head", "p.prompt.yml: rates.refusal.delta",
                                            "p.prompt.yml: rates.refusal.ci95"}  # fmt: skip
    assert differs[0].detail == "recorded 0.1, replayed 0.11"
    called = {"verdict": "pass", "prompts": [prompt(refusal=0.1)], "calls": {"total": 4, "cached": 3}}
    assert next(verify._replayed(recorded, called)).status == "differs"  # a replay that called is no replay


def test_a_null_is_not_a_zero():
    assert not verify._same(None, 0.0) and not verify._same(0.0, None) and verify._same(None, None)
    assert not verify._same([0.0, 0.1], [0.0]) and verify._same(1, 1.0)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"\xff\xfe", "not valid UTF-8"),
        (b"[" * 500 + b"]" * 500, "not a JSON report (nested more than"),
        (b'{"schema_version": 1, "schema_version": 1}', "appears twice"),
        (b"[]", "a JSON object is expected"),
        (
            b'{"schema_version": 2, "verdict": "pass", "model": {}, "prompts": []}',
            "not a promptreview report: at ",
        ),
    ],
)
def test_a_file_that_is_no_report_is_refused_in_one_line(tmp_path, content, says):
    path = tmp_path / "report.json"
    path.write_bytes(content)
    with pytest.raises(UsageError, match="report.json: ") as refused:
        verify.read_report(path)
    assert says in str(refused.value) and "\n" not in str(refused.value)


def test_a_report_without_a_manifest_is_refused_saying_which_reports_carry_one(tmp_path):
    """A `migrate` report written before verify replayed migrations has no manifest: the line says which
    reports carry one (every review's now, migrate and drift too), not only that the report is old."""
    path = tmp_path / "migration.json"
    path.write_text(
        json.dumps(
            {
                "schema_version": 1,
                "verdict": "pass",
                "model": {"spec": None, "served": [], "pinned": None},
                "prompts": [],
                "migration": {"from": "sim:triage-v1", "to": "sim:triage-v2"},
            }
        )
    )
    with pytest.raises(UsageError) as refused:
        verify.read_report(path)
    said = str(refused.value)
    assert (
        "the report has no manifest; verify checks the JSON report of a review (check, ci, migrate, drift)"
        in said
    )
    assert "a `drift --record` report carries none" in said and "0.2 or later" not in said


@pytest.mark.parametrize(
    ("recorded", "says"),
    [
        ({"lock_sha256": "0" * 64}, ": lock differs"),
        ({"lock_sha256": "0" * 64, "version": "0.0.1"}, ": version, lock differ"),
    ],
)
def test_the_build_line_agrees_in_number(monkeypatch, recorded, says):
    monkeypatch.setattr(verify, "lock_digest", lambda: "1" * 64)
    manifest = {"version": verify.promptreview.__version__, "commit": verify.promptreview.__commit__}
    (info,) = verify._build_info({**manifest, **recorded})
    assert info.detail.endswith(says)


def test_a_report_too_large_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(verify, "MAX_REPORT_BYTES", 10)
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"schema_version": 1}))
    with pytest.raises(UsageError, match="more than a report can be"):
        verify.read_report(path)


def test_a_compare_report_names_the_command_to_run_instead(tmp_path):
    recorded = {"manifest": {"review": {"command": "compare", "base": "old.txt", "head": "new.txt"}}}
    with pytest.raises(UsageError, match="promptreview compare old.txt new.txt --cache-only"):
        verify.replay_options(recorded, tmp_path, {}, None)


@pytest.mark.parametrize(
    ("field", "value"),
    [("base", "--output=/tmp/x"), ("head", "HEAD"), ("config_revision", "a" * 39), ("base", None)],
)
def test_a_revision_the_report_names_is_a_full_sha_or_it_is_refused(tmp_path, field, value):
    """The report is untrusted: what it names as a commit never reaches git as an option or a ref expression."""
    review = {
        "command": "check",
        "base": "a" * 40,
        "head": None,
        "config_revision": None,
        "config_path": "p.yml",
    }
    review[field] = value
    with pytest.raises(UsageError, match=f"manifest.review.{field} is"):
        verify.replay_options({"manifest": {"review": review}}, tmp_path, {}, None)


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("check", "a changed prompt"),
        ("migrate", "a prompt the migration reviews"),
        ("drift", "a prompt the drift watch reviews"),
    ],
)
def test_a_prompt_the_report_lacks_is_worded_by_the_reports_command(command, said):
    """A migration and a drift watch change no prompt: their digest lines do not say "a changed prompt"."""
    manifest = {"config": None, "requests": 0, "requests_sha256": None}
    recorded = {**manifest, "prompts": [{"path": "gone.prompt.yml"}]}
    found = {**manifest, "prompts": [{"path": "new.prompt.yml"}]}
    lines = {f.subject: f.detail for f in verify._digests(recorded, found, None, command)}
    assert lines["gone.prompt.yml"] == f"recorded, but not {said} in the working tree"
    assert lines["new.prompt.yml"] == f"{said} in the working tree the report does not have"
