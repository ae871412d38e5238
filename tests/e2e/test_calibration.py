"""The calibration benchmark runs: a few repetitions of every scenario through the real engine.

`benchmarks/calibration.py` is how docs/statistics.md's end-to-end figures are reproduced; it once crashed
(`KeyError: 'parse_failure'`) when the engine started scoring prompts that ask for no JSON in words as prose,
and nothing noticed. A short run here keeps it working: one repetition of every scenario, every printed figure,
no rate target judged (a handful of repetitions cannot judge them), but no stop may contradict its verdict
and no failing gate may have an interval that includes zero.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.e2e  # runs whole reviews; `pytest -m "not e2e"` skips them

ROOT = Path(__file__).resolve().parents[2]


def _benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "calibration_benchmark", ROOT / "benchmarks" / "calibration.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the worker processes find run_one by its module
    spec.loader.exec_module(module)
    return module


def test_a_quick_calibration_run_reviews_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    calibration = _benchmark()
    code = calibration.main(["--reps", "1", "--jobs", "1", "--scenarios", "documented", "--no-targets"])
    out = capsys.readouterr().out
    assert code == 0, out
    for key, scenario in calibration.SCENARIOS.items():
        assert f"({key}) {scenario.title}" in out
    assert "review(s) ended in verdict 'error'" not in out
    assert "contradicts the verdict" not in out
    for figure in ("sequential runs:", "failing gates whose 95 % interval includes zero: 0"):
        assert figure in out
