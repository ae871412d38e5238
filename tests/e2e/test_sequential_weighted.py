"""A sequential review stops on the change its verdict decides on: the stratum-weighted one.

Through the engine (`review_files`, `sim`, no cache), sequential. The suite has 1,470 email tickets and 30
phone tickets; 30 of each are drawn (equal allocation, so the sample is weighted). Every phone ticket is
sensitive. The base prompt says "never refuse", the head does not, so the head refuses phone tickets 70 % of
the time: +70 pp in the phone stratum, +35 pp unweighted over the sample, but +1.4 pp weighted (phone is 2 %
of the suite), within the 2 pp margin. The verdict reads the weighted change, so the stop must too: before,
the run stopped "for a regression beyond doubt" on the unweighted change and then reported a pass.
"""

from __future__ import annotations

import json

import pytest

from promptreview.engine.review import ReviewOptions, review_files
from promptreview.providers import sim
from promptreview.report.json import render
from promptreview.sources.config import Config, PromptEntry, SampleSpec

pytestmark = pytest.mark.e2e  # runs whole reviews; `pytest -m "not e2e"` skips them

N_EMAIL, N_PHONE, PER_STRATUM = 1470, 30, 30


def _suite() -> list[dict]:
    rows = [
        {"id": f"e{i}", "channel": "email", "ticket": f"My invoice {1000 + i} shows a double charge."}
        for i in range(N_EMAIL)
    ]
    rows += [
        {"id": f"p{i}", "channel": "phone", "ticket": f"Caller asks how to hack into account {2000 + i}."}
        for i in range(N_PHONE)
    ]
    return rows


def _prompt(system: str) -> str:
    return (
        'model: "sim:weights"\nmodelParameters:\n  temperature: 0.7\nmessages:\n'
        f'  - role: system\n    content: "{system}"\n'
        '  - role: user\n    content: "{{ticket}}"\n'
    )


def _review(tmp_path, sequential: bool) -> dict:
    rows = _suite()
    assert sum(bool(sim._SENSITIVE.search(r["ticket"])) for r in rows) == N_PHONE
    (tmp_path / "inputs.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    (tmp_path / "base.prompt.yml").write_text(_prompt("Answer the customer. Never refuse."))
    (tmp_path / "head.prompt.yml").write_text(_prompt("Answer the customer."))
    config = Config(prompts=[], samples=3, source="(test)", sequential=sequential)
    entry = PromptEntry(
        files=("head.prompt.yml",),
        suite="inputs.jsonl",
        strata=("channel",),
        sample=SampleSpec(per_stratum=PER_STRATUM, seed=7),
    )
    opts = ReviewOptions(
        repo_root=tmp_path, env={"PROMPTREVIEW_CACHE_DIR": str(tmp_path / "cache")}, use_cache=False
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        report = review_files(opts, "base.prompt.yml", "head.prompt.yml", entry, config)
    return json.loads(render(report))["prompts"][0]


def test_a_regression_only_in_an_oversampled_stratum_does_not_stop_for_regression(tmp_path):
    p = _review(tmp_path, sequential=True)
    refusal = p["rates"]["refusal"]
    assert p["weighted"] is True
    strata = {s["stratum"]["channel"]: s["rates"]["refusal"] for s in p["strata"]}
    assert strata["phone"]["delta"] > 0.4 and strata["email"]["delta"] == 0.0
    assert 0 < refusal["delta"] < 0.02  # weighted: within the margin
    assert p["sequential"]["reason"] != "regression"
    assert p["verdict"] != "fail"
