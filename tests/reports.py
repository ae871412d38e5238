"""The JSON report's own schema, for tests: every report promptreview writes must validate against it."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema

REPORT_SCHEMA: dict[str, Any] = json.loads(
    resources.files("promptreview.report").joinpath("report.schema.json").read_text("utf-8")
)
_VALIDATOR = jsonschema.Draft202012Validator(REPORT_SCHEMA)


def assert_valid_report(data: Any) -> None:
    """Fail with the report's first schema error (path and message)."""
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(data))
    assert error is None, (
        f"report.json at {'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
    )
