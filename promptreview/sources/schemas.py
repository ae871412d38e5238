"""JSON Schemas that outputs are validated against: read from a file the config names (at a revision), or
declared in a prompt file, and checked to be valid schemas before any model call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.protocols import Validator

from promptreview.errors import UsageError
from promptreview.sources import paths


def make_validator(schema: dict[str, Any] | None, where: str) -> Validator | None:
    """A validator for `schema` (its own `$schema` draft, else 2020-12) with format checks; None for no schema."""
    if schema is None:
        return None
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise UsageError(f"{where}: not a valid JSON Schema at {path}: {exc.message}") from None
    validator: Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validator


def load_schema(root: Path, rev: str | None, raw: str, what: str = "schema") -> dict[str, Any]:
    """The schema file `raw` (a config path) at revision `rev`, parsed and checked."""
    rel, data = paths.read_inside(root, rev, raw, what)
    try:
        schema = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{rel}: the schema is not valid JSON ({exc})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{rel}: the schema is not valid JSON ({exc.msg})") from None
    if not isinstance(schema, dict):
        raise UsageError(f"{rel}: a JSON Schema must be an object")
    make_validator(schema, rel)
    return schema
