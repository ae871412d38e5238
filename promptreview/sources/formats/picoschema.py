"""Picoschema (Dotprompt's compact schema language) to JSON Schema, with `dotpromptz`'s semantics:
`name?: type` is optional (and nullable), `name: type, description`, `name(array): item`,
`name(object): {...}`, `name(enum): [A, B]`, `(*): type` for additional properties; a mapping that already
is JSON Schema (a `type` or `properties`) is taken as it is. Named schema references are not supported."""

from __future__ import annotations

import re
from typing import Any

SCALARS = ("any", "boolean", "integer", "null", "number", "string")


def _describe(text: str) -> tuple[str, str | None]:
    if "," not in text:
        return text, None
    match = re.match(r"(.*?), *(.*)$", text)
    return (match.group(1), match.group(2)) if match else (text, None)


def to_json_schema(schema: Any) -> dict[str, Any] | None:
    if not schema:
        return None
    if isinstance(schema, str):
        name, description = _describe(schema)
        if name not in SCALARS:
            raise ValueError(f"named schema {name!r} cannot be resolved (write the schema inline)")
        return {"type": name, **({"description": description} if description else {})}
    if (
        isinstance(schema, dict)
        and isinstance(schema.get("type"), str)
        and schema["type"] in (*SCALARS, "object", "array")
    ):
        return schema
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        return {**schema, "type": "object"}
    return _pico(schema)


def _pico(obj: Any) -> dict[str, Any]:
    if isinstance(obj, str):
        name, description = _describe(obj)
        if name not in SCALARS:
            raise ValueError(f"unsupported type {name!r}")
        out: dict[str, Any] = {} if name == "any" else {"type": name}
        if description:
            out["description"] = description
        return out
    if not isinstance(obj, dict):
        raise ValueError(f"Picoschema consists of mappings and strings, not {obj!r}")
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }
    for key, value in obj.items():
        key = str(key)
        if key == "(*)":
            schema["additionalProperties"] = _pico(value)
            continue
        name, _, rest = key.partition("(")
        type_info = rest[:-1] if rest else None
        optional = name.endswith("?")
        prop_name = name[:-1] if optional else name
        if not optional:
            schema["required"].append(prop_name)
        if not type_info:
            prop = _pico(value)
            if optional and isinstance(prop.get("type"), str):
                prop["type"] = [prop["type"], "null"]
            schema["properties"][prop_name] = prop
            continue
        kind, description = _describe(type_info)
        if kind == "array":
            prop = {"type": ["array", "null"] if optional else "array", "items": _pico(value)}
        elif kind == "object":
            prop = _pico(value)
            if optional:
                prop["type"] = [prop["type"], "null"]
        elif kind == "enum":
            if not isinstance(value, list):
                raise ValueError(f"{prop_name}(enum) must list its values")
            prop = {"enum": list(value) + ([None] if optional and None not in value else [])}
        else:
            raise ValueError(f"parenthetical types must be object, array or enum, not {kind!r}")
        if description:
            prop["description"] = description
        schema["properties"][prop_name] = prop
    if not schema["required"]:
        del schema["required"]
    return schema
