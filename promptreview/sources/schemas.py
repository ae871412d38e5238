"""JSON Schemas that outputs are validated against: read from a file the config names (at a revision), or
declared in a prompt file, and checked to be valid schemas before any model call.

No lookups, ever: a schema comes from a pull request, and jsonschema's default would fetch any `$ref` it cannot
resolve (`http://…`, `file://…`). Every schema is compiled with an empty `referencing` registry, and every
`$ref` is resolved when the schema is loaded: inside the document, or in a JSON file beside it in the same
commit (read through `paths`, so it stays inside the repository). A sibling file is bundled into the schema
under `$defs` with its own `$id`, so the schema that goes on the wire and into the validator is self-contained;
`bundled_files` names those files, so that editing one reviews the prompt again (`changes`).
Anything else is a `UsageError` naming the ref, before any model call.

A schema's regular expressions (`pattern`, `patternProperties`, and the `additionalProperties` they decide) run
on RE2 (google-re2), whose matching is linear in the text: a pull request's `(a+)+$` cannot stall the review on
a model's answer. A pattern RE2 cannot compile (lookaround, backreferences) is a `UsageError` naming it, before
any call ([decisions.md](../../docs/decisions.md)). A schema whose `$ref`s loop without consuming the
answer, or that cannot be compiled for any other reason, is refused the same way.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import re2  # type: ignore[import-untyped]  # google-re2 ships no type information
import referencing
import referencing.jsonschema
from jsonschema.protocols import Validator
from referencing.exceptions import NoSuchResource, Unresolvable

from promptreview.errors import RefusedFile, UsageError
from promptreview.sources import paths, safe_load

# the base URI a schema without its own `$id` gets: a relative `$ref` joins onto it as a repository path
LOCAL_BASE = "https://promptreview.invalid/"
_DATA_KEYS = frozenset({"enum", "const", "examples", "default"})  # values there are data, not schemas
_REF_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")
MAX_SIBLINGS = 50  # sibling files one schema may pull in


# referencing declares its attrs classes with the draft `__dataclass_transform__` spelling, which mypy does not
# read: it sees neither `NoSuchResource(ref=...)` nor `Registry(retrieve=...)`. These two functions are the
# only places that construct them, each with the one `call-arg` ignore that needs.


def _missing(uri: str) -> NoSuchResource:
    return NoSuchResource(ref=uri)  # type: ignore[call-arg]  # referencing's attrs __init__, unseen (above)


def _registry(retrieve: Callable[[str], referencing.Resource[Any]]) -> referencing.Registry[Any]:
    return referencing.Registry(retrieve=retrieve)  # type: ignore[call-arg]  # as for _missing


def _refuse(uri: str) -> referencing.Resource[Any]:
    """The registry's retrieval: refuses every URI (so a validator can never fetch anything)."""
    raise _missing(uri)


def empty_registry() -> referencing.Registry[Any]:
    return _registry(_refuse)


def _specification(schema: dict[str, Any]) -> referencing.Specification[Any]:
    dialect = schema.get("$schema")
    return referencing.jsonschema.specification_with(
        dialect if isinstance(dialect, str) else "", default=referencing.jsonschema.DRAFT202012
    )


# -- regular expressions on RE2 ------------------------------------------------------------------------

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # RE2 would write its own line to stderr for every pattern it refuses
_RE2_OPTIONS.max_mem = 8 << 20  # a pattern whose program needs more is refused, not built


class _BadPattern(Exception):
    def __init__(self, pattern: str, why: str) -> None:
        super().__init__(why)
        self.pattern, self.why = pattern, why


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> Any:
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        why = exc.args[0] if exc.args else "cannot compile"
        raise _BadPattern(
            pattern, why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)
        ) from None


def _pattern(
    validator: Any, pattern: str, instance: Any, schema: Any
) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not _regex(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
) -> Iterator[jsonschema.ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _regex(pattern).search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Any
) -> Iterator[jsonschema.ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = [_regex(p) for p in schema.get("patternProperties", {})]
    extras = [key for key in instance if key not in properties and not any(r.search(key) for r in patterns)]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(e) for e in sorted(extras, key=str))
            listed = ", ".join(repr(p) for p in sorted(schema["patternProperties"]))
            yield jsonschema.ValidationError(f"{joined} {verb} not match any of the regexes: {listed}")
        else:
            shown = ", ".join(repr(e) for e in extras)
            was = "was" if len(extras) == 1 else "were"
            yield jsonschema.ValidationError(
                f"Additional properties are not allowed ({shown} {was} unexpected)"
            )


_RE2_KEYWORDS = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
}


@lru_cache(maxsize=16)
def _on_re2(cls: type[Any]) -> type[Any]:
    """`cls` with its regular-expression keywords on RE2."""
    extended: type[Any] = jsonschema.validators.extend(cls, _RE2_KEYWORDS)  # type: ignore[no-untyped-call]  # its stubs leave it untyped
    return extended


def _schema_nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every subschema of `node` (values under `enum`, `const`, ... are data, not schemas)."""
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            yield item
            pending.extend(v for k, v in item.items() if k not in _DATA_KEYS and isinstance(v, dict | list))


def _check_patterns(schema: dict[str, Any], where: str) -> None:
    """Every regular expression of the schema compiles on RE2, and none runs on Python's backtracking `re`."""
    unevaluated = any("unevaluatedProperties" in n for n in _schema_nodes(schema))
    for node in _schema_nodes(schema):
        patterns = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        if isinstance(node.get("patternProperties"), dict):
            patterns += list(node["patternProperties"])
            if unevaluated:
                # jsonschema matches patternProperties for unevaluatedProperties with Python's `re` itself
                raise UsageError(
                    f"{where}: a schema with both patternProperties and unevaluatedProperties is not supported "
                    "(use additionalProperties)"
                )
        for pattern in patterns:
            try:
                _regex(pattern)
            except _BadPattern as exc:
                raise UsageError(
                    f"{where}: the pattern {pattern[:80]!r} cannot run on a linear-time regex engine "
                    f"({exc.why}); lookaround and backreferences are not supported"
                ) from None


# A probe of each JSON type: a `$ref` loop that consumes nothing of the answer recurses on any of them
_PROBES: tuple[Any, ...] = ({}, [], "", 0, None)


def make_validator(schema: dict[str, Any] | None, where: str) -> Validator | None:
    """A validator for `schema` (its own `$schema` draft, else 2020-12) with format checks; None for no schema.

    Compiled with an empty registry; its refs are checked here, so a ref that would need a lookup fails now; so
    do a pattern RE2 cannot run and a `$ref` loop (found by validating a probe of each type)."""
    if schema is None:
        return None
    check_schema(schema, where)
    _check_refs(schema, where)
    _check_patterns(schema, where)
    cls = _on_re2(jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator))
    validator: Validator = cls(schema, format_checker=cls.FORMAT_CHECKER, registry=empty_registry())
    try:
        for probe in _PROBES:
            for _ in validator.iter_errors(probe):
                pass
    except RecursionError:
        raise UsageError(
            f"{where}: the schema's $refs refer to each other in a loop that never reaches a type; "
            "it cannot validate anything"
        ) from None
    return validator


class _Siblings:
    """Retrieval of `LOCAL_BASE` URIs from the repository at one revision; everything else is refused."""

    def __init__(self, root: Path | None, rev: str | None, where: str) -> None:
        self.root, self.rev, self.where = root, rev, where
        self.found: dict[str, dict[str, Any]] = {}
        self.asked: set[str] = set()  # every repository path read, found or not
        self.refused: RefusedFile | None = None

    def __call__(self, uri: str) -> referencing.Resource[Any]:
        if self.root is None or not uri.startswith(LOCAL_BASE):
            raise _missing(uri)
        rel = uri[len(LOCAL_BASE) :].split("#", 1)[0]
        if uri not in self.found:
            if len(self.found) >= MAX_SIBLINGS:
                raise UsageError(f"{self.where}: more than {MAX_SIBLINGS} schema files referenced")
            self.asked.add(rel)
            try:
                name, data = paths.read_inside(self.root, self.rev, rel, f"{self.where}: $ref", plain=True)
                self.asked.add(name)
                doc = safe_load.load_json(data.decode("utf-8"), unique_keys=True)
            except RefusedFile as exc:
                self.refused = exc  # referencing wraps what a retrieval raises: `_check_refs` raises this
                raise
            except (UsageError, UnicodeDecodeError, safe_load.Unparsable):
                raise _missing(uri) from None
            if not isinstance(doc, dict):
                raise _missing(uri)
            self.found[uri] = doc
        return _specification(self.found[uri]).create_resource(self.found[uri])


def _check_refs(
    schema: dict[str, Any],
    where: str,
    retrieve: Callable[[str], referencing.Resource[Any]] = _refuse,
    base: str = LOCAL_BASE,
) -> None:
    """Resolve every `$ref` of `schema` without any lookup (`retrieve` may read sibling files)."""
    spec = _specification(schema)
    resource = spec.create_resource(schema)
    uri = resource.id() or base
    registry: referencing.Registry[Any] = _registry(retrieve).with_resource(uri, resource)
    pending: list[tuple[Any, Any, str]] = [(schema, registry.resolver(uri), "")]
    while pending:
        node, resolver, pointer = pending.pop()
        if isinstance(node, list):
            pending += [(item, resolver, f"{pointer}/{i}") for i, item in enumerate(node)]
            continue
        if not isinstance(node, dict):
            continue
        if pointer and isinstance(node.get("$id"), str):
            resolver = resolver.in_subresource(spec.create_resource(node))
        for key in _REF_KEYS:
            ref = node.get(key)
            if not isinstance(ref, str):
                continue
            try:
                resolved = resolver.lookup(ref)
            except UsageError:
                raise
            except (Unresolvable, NoSuchResource, ValueError, LookupError, TypeError):
                if isinstance(retrieve, _Siblings) and retrieve.refused is not None:
                    raise retrieve.refused from None
                raise UsageError(
                    f"{where}: $ref {ref!r} at {pointer or '/'} does not resolve inside the schema "
                    "(or a JSON file beside it in the repository); promptreview never fetches a schema: "
                    "inline the definition under $defs"
                ) from None
            del resolved  # found: a sibling file it reached is walked by `resolve_refs`
        for key, value in node.items():
            if key not in _DATA_KEYS and isinstance(value, dict | list):
                pending.append((value, resolver, f"{pointer}/{key}"))


def _walk(schema: dict[str, Any], where: str, retrieve: _Siblings, base: str) -> None:
    """Check every `$ref` of `schema`, and of every sibling file it reaches, reading those through `retrieve`."""
    _check_refs(schema, where, retrieve, base)
    # sibling files reached from other siblings: keep walking until no new file turns up
    done: set[str] = set()
    while set(retrieve.found) - done:
        for uri in sorted(set(retrieve.found) - done):
            done.add(uri)
            _check_refs(retrieve.found[uri], where, retrieve, uri)


def resolve_refs(
    schema: dict[str, Any], where: str, root: Path | None, rev: str | None, path: str | None
) -> dict[str, Any]:
    """`schema` with every `$ref` checked and every sibling file it names bundled in; a `UsageError` names the
    first ref that would need a lookup. `path`: the file the schema lives in (its siblings sit beside it)."""
    retrieve = _Siblings(root, rev, where)
    base = LOCAL_BASE + (path or "schema.json")
    _walk(schema, where, retrieve, base)
    if not retrieve.found:
        return schema
    bundled = copy.deepcopy(schema)
    bundled.setdefault("$id", base)
    defs_key = (
        "$defs"
        if _specification(schema).name not in ("draft-03", "draft-04", "draft-06", "draft-07")
        else "definitions"
    )
    defs = bundled.setdefault(defs_key, {})
    for uri, doc in sorted(retrieve.found.items()):
        defs[f"promptreview:{PurePosixPath(uri[len(LOCAL_BASE) :])}"] = {**doc, "$id": uri}
    return bundled


def bundled_files(schema: dict[str, Any], root: Path, rev: str | None, path: str) -> frozenset[str]:
    """The repository paths `resolve_refs` reads for `schema` at `rev` (the sibling files its `$ref`s bundle into
    what is sent, found or not): what a prompt's request depends on beside the prompt file. A ref that does not
    resolve ends the walk; the paths read until then are still returned (a sibling deleted is a change too)."""
    retrieve = _Siblings(root, rev, path)
    try:
        _walk(schema, path, retrieve, LOCAL_BASE + path)
    except UsageError:
        pass
    return frozenset(retrieve.asked)


def load_schema(root: Path, rev: str | None, raw: str, what: str = "schema") -> dict[str, Any]:
    """The schema file `raw` (a config path) at revision `rev`, parsed and checked (refs included)."""
    rel, data = paths.read_inside(root, rev, raw, what)
    try:
        schema = safe_load.load_json(data.decode("utf-8"), unique_keys=True)
    except UnicodeDecodeError as exc:
        raise UsageError(f"{rel}: the schema is not valid JSON ({exc})") from None
    except safe_load.Unparsable as exc:
        raise UsageError(f"{rel}: the schema is not valid JSON ({exc.message})") from None
    if not isinstance(schema, dict):
        raise UsageError(f"{rel}: a JSON Schema must be an object")
    check_schema(schema, rel)
    schema = resolve_refs(schema, rel, root, rev, rel)
    make_validator(schema, rel)
    return schema


def check_schema(schema: dict[str, Any], where: str) -> None:
    """The schema is a valid schema of its draft (refs not yet resolved)."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise UsageError(f"{where}: not a valid JSON Schema at {path}: {exc.message}") from None
