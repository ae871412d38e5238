"""Prompty (`.prompty`): YAML front matter, then a Jinja body split into messages by role markers.

Read as the `prompty` package reads it: the body is rendered first (Jinja; Mustache when
`template.format` says so) and then split at lines such as `system:` / `user:` / `assistant:`
(optionally `# user:` or `user[name="x"]:`); text before the first marker is a system message.
Front matter, in both the v1 spelling and the v2 one: `model` (`configuration` / `id`, `parameters` /
`options`), `inputs` (their `default`s apply), `sample` (the prompt's own inputs, usable as a suite).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from promptreview.errors import UsageError
from promptreview.notes import Note
from promptreview.sources.formats import mustache, reading
from promptreview.sources.template import JINJA, ROLES, PromptTemplate
from promptreview.vocabulary import Role

_BOUNDARY = re.compile(
    r"^\s*#?\s*(system|user|assistant|developer)"
    r"(\[(?:\w+\s*=\s*(?:\"[^\"]*\"|[^\",\]]*)\s*,?\s*)+\])?\s*:\s*$",
    re.IGNORECASE,
)


_MARKED: dict[str, Role] = {role: role for role in ROLES}  # the roles `_BOUNDARY` finds


def looks_like(meta: Any, body: str) -> bool:
    if isinstance(meta, dict) and (
        {"inputs", "sample", "authors"} & set(meta)
        or (
            isinstance(meta.get("model"), dict)
            and {"api", "configuration", "parameters", "options"} & set(meta["model"])
        )
    ):
        return True
    return any(_BOUNDARY.match(line) for line in body.splitlines())


def split_roles(text: str) -> Sequence[tuple[Role, str]]:
    """Rendered text → (role, content) at each role marker line, as prompty's chat parser splits it."""
    out: list[tuple[Role, str]] = []
    role: Role = "system"
    lines: list[str] = []
    for line in text.splitlines():
        match = _BOUNDARY.match(line.strip())
        if match:
            if lines:
                out.append((role, "\n".join(lines)))
            role, lines = _MARKED[match.group(1).lower()], []
            continue
        lines.append(line)
    if lines:
        out.append((role, "\n".join(lines)))
    return [(r, c.strip()) for r, c in out if c.strip()]


def _defaults(path: str, raw: Any) -> dict[str, Any]:
    """`inputs`: a mapping name -> {type/kind, default, ...} (or a bare value), or v2's list of {name, default}."""
    out: dict[str, Any] = {}
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict) and "name" in item and "default" in item:
                out[str(item["name"])] = item["default"]
    elif isinstance(raw, dict):
        for name, spec in raw.items():
            if isinstance(spec, dict):
                if "default" in spec:
                    out[str(name)] = spec["default"]
            elif spec is not None and not isinstance(spec, (list, dict)):
                out[str(name)] = spec
    elif raw is not None:
        raise UsageError(f"{path}: 'inputs' must be a mapping or a list")
    return out


def _model(path: str, raw: Any) -> tuple[str | None, dict[str, Any], tuple[Note, ...], Any]:
    """(model hint, parameters, warnings, response_format) from the front matter's `model`."""
    if raw is None:
        return None, {}, (), None
    if isinstance(raw, str):
        return raw, {}, (), None
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: 'model' must be a mapping or a string")
    config = raw.get("configuration") or raw.get("connection") or {}
    kind = str(config.get("type", "")) if isinstance(config, dict) else ""
    if kind.startswith("azure") and not raw.get("id"):
        # an Azure deployment name says nothing about the model behind it: the config's model runs it
        config = {}
    name = raw.get("id") or (
        (config.get("name") or config.get("model") or config.get("azure_deployment"))
        if isinstance(config, dict)
        else None
    )
    raw_params = raw.get("parameters") if raw.get("parameters") is not None else raw.get("options")
    where = "model.parameters" if raw.get("parameters") is not None else "model.options"
    fmt = None
    if isinstance(raw_params, dict) and "response_format" in raw_params:
        raw_params = dict(raw_params)
        fmt = raw_params.pop("response_format")
    params, warnings = reading.params(path, raw_params, where)
    return (str(name) if name else None), params, warnings, fmt


def read(path: str, meta: Any, body: str) -> PromptTemplate:
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise UsageError(f"{path}: the front matter must be a YAML mapping")
    hint, params, warnings, fmt = _model(path, meta.get("model"))
    template = meta.get("template")
    engine_name = template.get("format") if isinstance(template, Mapping) else template
    engine = mustache.MUSTACHE if engine_name == "mustache" else JINJA
    schema, json_object, strict = None, False, None
    if fmt == "json_object" or (isinstance(fmt, dict) and fmt.get("type") == "json_object"):
        json_object = True
    elif isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, dict) else None
        declared = spec.get("strict") if isinstance(spec, dict) else None
        strict = declared if isinstance(declared, bool) else None
    sample = meta.get("sample")
    # as prompty v1 does, a single `sample` fills the inputs a row leaves out; an input's own default wins
    defaults = {**(sample if isinstance(sample, dict) else {}), **_defaults(path, meta.get("inputs"))}
    suite = reading.suite_rows(path, sample, "sample") if isinstance(sample, (dict, list)) else None
    model = meta.get("model")
    # `api: completion` sends the rendered body as one prompt: no role markers
    completion = isinstance(model, dict) and model.get("api") == "completion"
    return PromptTemplate(
        path=path,
        messages=(("user" if completion else "body", body),),
        params=params,
        schema=schema,
        schema_strict=strict,
        json_object=json_object,
        output="json" if schema is not None or json_object else None,
        engine=engine,
        split=None if completion else split_roles,
        defaults=defaults,
        suite=suite,
        suite_source="sample",
        warnings=warnings,
        format="prompty",
        model_hint=_hint(hint),
        model_named=_named(meta.get("model")),
    )


def _named(raw: Any) -> str | None:
    """The model as the file names it: its `id`, or its configuration's name or Azure deployment (which no
    provider of ours reaches: the config's `models_map` says what stands in for it)."""
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, dict):
        return None
    config = raw.get("configuration") or raw.get("connection") or {}
    name = raw.get("id") or (
        (config.get("azure_deployment") or config.get("name") or config.get("model"))
        if isinstance(config, dict)
        else None
    )
    return str(name) if name else None


def _hint(name: str | None) -> str | None:
    """Prompty names a deployment, not a provider: `openai:<name>` is the nearest spec we have."""
    if not name:
        return None
    return name if ":" in name else f"openai:{name}"


# -- the registry's interface (formats.base.PromptFormat) ---------------------------------------------------

NAME = "prompty"
SUFFIXES: tuple[str, ...] = (".prompty",)


def read_named(path: str, text: str) -> tuple[PromptTemplate, ...] | None:
    split = reading.front_matter(path, text)
    if split is None:
        return (read(path, {}, text),)
    return (read(path, *split),)


def read_document(path: str, doc: Any) -> PromptTemplate | None:
    return None


def read_front_matter(path: str, meta: Any, body: str) -> PromptTemplate | None:
    return read(path, meta, body) if looks_like(meta, body) else None
