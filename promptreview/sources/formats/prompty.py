"""Prompty (`.prompty`): YAML front matter, then a Jinja body split into messages by role markers.

Read as the `prompty` package reads it: the body is rendered first (Jinja; Mustache when
`template.format` says so) and then split at lines such as `system:` / `user:` / `assistant:`
(optionally `# user:` or `user[name="x"]:`); text before the first marker is a system message.
Front matter, in both the v1 spelling and the v2 one: `model` (`configuration` / `id`, `parameters` /
`options`; a file that gives either twice, differently, is refused), `inputs` (their `default`s apply),
`sample` (the prompt's own inputs, usable as a suite).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from promptreview.errors import UsageError
from promptreview.notes import Note
from promptreview.sources.formats import mustache, reading
from promptreview.sources.formats.base import Files, no_files
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
    name = _named(path, raw)
    if kind.startswith("azure") and not raw.get("id"):
        # an Azure deployment name says nothing about the model behind it: the config's model runs it
        name = None
    if "parameters" in raw and "options" in raw:
        # v1 runtimes send `parameters`, v2 runtimes `options`: which one production sends is not the file's
        raise UsageError(
            f"{path}: 'model' has both 'parameters' (Prompty v1) and 'options' (Prompty v2); a Prompty runtime "
            "sends only its own version's, so the review cannot tell which one production sends: keep one"
        )
    where = "model.parameters" if "parameters" in raw else "model.options"
    raw_params = raw.get("parameters") if "parameters" in raw else raw.get("options")
    fmt = None
    if isinstance(raw_params, dict) and "response_format" in raw_params:
        raw_params = dict(raw_params)
        fmt = raw_params.pop("response_format")
    params, warnings = reading.params(path, raw_params, where)
    return (str(name) if name else None), params, warnings, fmt


_REFERENCE = re.compile(r"^\$\{(\w+):(.*)\}$", re.DOTALL)
_UNREVIEWED = ("connection", "configuration")  # where a model's credentials and endpoint are: never sent


def _references(path: str, value: Any, files: Files, where: str) -> Any:
    """The front matter with Prompty's `${file:...}` and `${env:...}` values resolved as prompty's loader
    resolves them (a whole string value, anywhere in a mapping): a file is read inside the repository at the
    same revision (JSON and YAML parsed, anything else text); an environment variable is refused, but in
    the model's connection (credentials, endpoints), which a review does not send."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            at = f"{where}.{key}" if where else str(key)
            if at in (f"model.{u}" for u in _UNREVIEWED):
                out[key] = _drop_env(_no_file(path, item, at))
            else:
                out[key] = _references(path, item, files, at)
        return out
    if isinstance(value, list):
        return [_references(path, item, files, f"{where}[{i}]") for i, item in enumerate(value)]
    match = _REFERENCE.match(value) if isinstance(value, str) else None
    if match is None:
        return value
    protocol, ref = match.group(1).lower(), match.group(2)
    if protocol == "env":
        raise UsageError(
            f"{path}: {where}: ${{env:{ref}}} is refused: a review reads no environment variable into a prompt "
            "(in CI it would carry the runner's environment into the request and the report); write the value "
            "in the file or the suite"
        )
    if protocol != "file":
        return value
    found, data = reading.beside(path, files, ref, f"{where}: ${{file:...}}")
    if data is None:
        raise UsageError(f"{path}: {where}: ${{file:{ref}}} names {found}, which does not exist")
    text = reading.decode(found, data)
    if found.lower().endswith(".json"):
        return reading.safe_json(found, text)
    if found.lower().endswith((".yml", ".yaml")):
        return reading.safe_yaml(found, text)
    return text


def _no_file(path: str, value: Any, where: str) -> Any:
    """A model's configuration (connection) holding a `${file:...}`: refused, since the model or deployment
    that file names is what production runs."""
    if isinstance(value, dict):
        for key, item in value.items():
            _no_file(path, item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _no_file(path, item, f"{where}[{i}]")
    elif isinstance(value, str) and (match := _REFERENCE.match(value)) and match.group(1).lower() == "file":
        raise UsageError(
            f"{path}: {where}: ${{file:{match.group(2)}}} is refused: the model or deployment production runs "
            "would come from that file, which the review does not read there; write the configuration inline"
        )
    return value


def _drop_env(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_env(v) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("${env:"):
        return None
    return value


_KINDS = {"string": "string", "integer": "integer", "float": "number", "number": "number",
          "boolean": "boolean", "array": "array", "object": "object"}  # fmt: skip


def _properties(raw: Any) -> list[dict[str, Any]]:
    """Prompty's property list: a list of `{name, kind, ...}`, or a mapping name -> spec (or example)."""
    if isinstance(raw, dict):
        return [
            {"name": k, **v} if isinstance(v, dict) else {"name": k, "kind": "string"} for k, v in raw.items()
        ]
    return [p for p in raw if isinstance(p, dict)] if isinstance(raw, list) else []


def _property_schema(prop: dict[str, Any], optional: bool, strict: bool) -> dict[str, Any]:
    """One property as JSON Schema, as prompty's OpenAI executor writes it for a function tool."""
    kind = prop.get("kind")
    schema: dict[str, Any] = {"type": _KINDS[kind]} if kind in _KINDS else {}
    if prop.get("description"):
        schema["description"] = prop["description"]
    if prop.get("enumValues"):
        schema["enum"] = prop["enumValues"]
    if kind == "array":
        items = prop.get("items")
        schema["items"] = (
            _property_schema(items, False, strict) if isinstance(items, dict) else {"type": "string"}
        )
    if kind == "object":
        schema.update(_object_schema(_properties(prop.get("properties")), strict))
        schema.pop("type", None)
        schema = {"type": "object", **schema, "additionalProperties": False}
    if prop.get("nullable") or optional:
        if isinstance(schema.get("type"), str):
            schema["type"] = [schema["type"], "null"]
        elif schema:
            schema = {"anyOf": [schema, {"type": "null"}]}
        if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
    return schema


def _object_schema(props: list[dict[str, Any]], strict: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    required: list[str] = []
    for prop in props:
        name = str(prop.get("name"))
        out[name] = _property_schema(prop, strict and not prop.get("required"), strict)
        if strict or prop.get("required"):
            required.append(name)
    return {"type": "object", "properties": out, **({"required": required} if required else {})}


def _tools(path: str, raw: Any) -> list[dict[str, Any]]:
    """Prompty 2's `tools` in Chat Completions' wire format, as its OpenAI executor sends them: function
    tools only (the other kinds run in the host and are not sent as functions)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise UsageError(f"{path}: 'tools' must be a list")
    out = []
    for i, tool in enumerate(raw):
        if not isinstance(tool, dict) or tool.get("kind") != "function":
            continue
        if not isinstance(tool.get("name"), str):
            raise UsageError(f"{path}: tools[{i}] needs a 'name'")
        strict = bool(tool.get("strict"))
        function: dict[str, Any] = {"name": tool["name"]}
        if tool.get("description"):
            function["description"] = tool["description"]
        bound = {b.get("name") for b in tool.get("bindings") or [] if isinstance(b, dict)}
        props = [p for p in _properties(tool.get("parameters")) if p.get("name") not in bound]
        if tool.get("parameters"):
            function["parameters"] = _object_schema(props, strict)
        if strict:
            function["strict"] = True
            if "parameters" in function:
                function["parameters"]["additionalProperties"] = False
        out.append({"type": "function", "function": function})
    return out


def read(path: str, meta: Any, body: str, files: Files = no_files) -> PromptTemplate:
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise UsageError(f"{path}: the front matter must be a YAML mapping")
    meta = _references(path, meta, files, "")
    hint, params, warnings, fmt = _model(path, meta.get("model"))
    tools = _tools(path, meta.get("tools"))
    if tools:
        params = {**params, "tools": tools}
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
        model_named=_named(path, meta.get("model")),
    )


# what a configuration (v1) or a connection (v2) names a model by
_NAMES = ("name", "model", "azure_deployment")


def _named(path: str, raw: Any) -> str | None:
    """The model as the file names it: its `id`, or its configuration's name or Azure deployment (which no
    provider of ours reaches: the config's `models_map` says what stands in for it). Two of them naming
    different models are refused: a Prompty runtime picks one by the configuration's `type` and version, so
    the review could run one model while production runs the other."""
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, dict):
        return None
    named: dict[str, str] = {}
    if raw.get("id"):
        named["model.id"] = str(raw["id"])
    for section in ("configuration", "connection"):
        config = raw.get(section)
        if isinstance(config, dict):
            named.update({f"model.{section}.{k}": str(config[k]) for k in _NAMES if config.get(k)})
    if len(set(named.values())) > 1:
        shown = " and ".join(f"{where} {value!r}" for where, value in named.items())
        raise UsageError(
            f"{path}: the model is named twice, differently ({shown}); a Prompty runtime sends one of them by "
            "the configuration's type and version, so the review cannot tell which one production runs: "
            "keep one"
        )
    return next(iter(named.values()), None)


def _hint(name: str | None) -> str | None:
    """Prompty names a deployment, not a provider: `openai:<name>` is the nearest spec we have."""
    if not name:
        return None
    return name if ":" in name else f"openai:{name}"


# -- the registry's interface (formats.base.PromptFormat) ---------------------------------------------------

NAME = "prompty"
SUFFIXES: tuple[str, ...] = (".prompty",)


def read_named(path: str, text: str, files: Files) -> tuple[PromptTemplate, ...] | None:
    meta, body = reading.front_matter(path, text) or ({}, text)
    return (read(path, meta, body, files),)


def read_document(path: str, doc: Any) -> PromptTemplate | None:
    return None


def read_front_matter(path: str, meta: Any, body: str) -> PromptTemplate | None:
    return read(path, meta, body) if looks_like(meta, body) else None
