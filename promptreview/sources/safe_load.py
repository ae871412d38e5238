"""YAML and JSON from a pull request or a model, parsed with bounds checked before anything is built.

A prompt file, a Prompty default, a schema, the config and a model's answer are all written by someone the
review does not trust. PyYAML's safe loader builds no objects of its own choosing, but it composes a
20,000-deep document by recursion (a crash), shares an aliased node so that a "billion laughs" document is a
few kilobytes in memory and 10^9 values to anything that walks it (rendering, JSON, jsonschema), takes the
last of two equal keys without a word, and turns a 4,301-digit integer into a `ValueError` from `int()`.
`json.loads` recurses too and refuses such integers with the same `ValueError`.

So every YAML document goes through `load_yaml`: depth is counted while composing (before the recursion
could overflow), the expanded size of the node graph (each alias counted as often as it is used) is bounded
before any object is constructed, a recursive alias is refused, a duplicate mapping key is refused naming the
key, and an integer too long for `int()` is an error, not a crash. `load_json` pre-scans nesting depth (outside
strings) before `json.loads` runs, and turns every refusal into `Unparsable`, which a caller words as its own.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

MAX_DEPTH = 100  # nested collections: prompt files and schemas nest a dozen deep; answers a few dozen
# Values aliases may add to a YAML document, beyond the two per character written out (no document without
# aliases reaches that: a large `testData` is never refused, a "billion laughs" always is)
MAX_NODES = 200_000


class Unparsable(ValueError):
    """A document refused or not parsed: `message` says why, `line` where (1-based) when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line, self.column = line, column


class _Loader(yaml.SafeLoader):
    """The safe loader, bounded (see the module docstring)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # PyYAML's stubs leave it untyped
                raise Unparsable(f"nested more than {MAX_DEPTH} levels deep", mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    line = key_node.start_mark.line + 1
                    raise Unparsable(f"the key {str(key)[:80]!r} appears twice in one mapping", line)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _int(loader: yaml.SafeLoader, node: ScalarNode) -> int:
    try:
        value: int = yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:
        raise Unparsable("an integer with too many digits", node.start_mark.line + 1) from None
    return value


_Loader.add_constructor("tag:yaml.org,2002:int", _int)


def _expanded_size(root: Node, limit: int) -> int:
    """The number of values `root` stands for with every alias expanded; `Unparsable` past `limit` or on a
    node that contains itself. Linear in the distinct nodes: each node's size is computed once."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if isinstance(node, ScalarNode):
            sizes[key] = 1
            continue
        children: list[Node] = (
            [n for pair in node.value for n in pair] if isinstance(node, MappingNode) else list(node.value)
        )
        if children_done:
            open_.discard(key)
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > limit:
                raise Unparsable(f"more than {limit:,} values once its aliases are expanded")
            sizes[key] = total
            continue
        if key in open_:
            raise Unparsable("an alias refers to a collection that contains it", node.start_mark.line + 1)
        open_.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in open_:
                raise Unparsable(
                    "an alias refers to a collection that contains it", child.start_mark.line + 1
                )
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def load_yaml(text: str) -> Any:
    """One YAML document, parsed safely and within the bounds; `Unparsable` says why not."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, MAX_NODES + 2 * len(text))
        return loader.construct_document(node)
    except Unparsable:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise Unparsable(str(problem), mark.line + 1 if mark else None) from None
    except RecursionError:  # a guard behind the depth bound, which should have stopped it first
        raise Unparsable(f"nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()


# JSON: a string literal (with its escapes) or one bracket; everything else is skipped by the scan
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def json_depth_ok(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether no collection in `text` nests deeper than `limit` (counted outside strings, before parsing)."""
    if text.count("[") + text.count("{") <= limit:
        return True
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > limit:
                return False
        elif token in ("]", "}"):
            depth -= 1
    return True


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise Unparsable(f"the key {key[:80]!r} appears twice in one object")
        out[key] = value
    return out


def load_json(text: str, *, unique_keys: bool = False) -> Any:
    """One JSON document within the bounds; `Unparsable` (with the decoder's message and line) otherwise.

    `unique_keys`: a key given twice in one object is refused (a file someone wrote: JSON parsers keep the last
    one silently); a model's answer keeps the parsers' rule."""
    if not json_depth_ok(text):
        raise Unparsable(f"nested more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(text, object_pairs_hook=_unique if unique_keys else None)
    except json.JSONDecodeError as exc:
        # the decoder's "Unterminated string starting at" expects a position after it: ours says the line
        raise Unparsable(exc.msg.removesuffix(" at"), exc.lineno, exc.colno) from None
    except Unparsable:
        raise
    except ValueError:  # an integer past Python's digit limit for int()
        raise Unparsable("a number with more digits than can be read") from None
    except RecursionError:
        raise Unparsable(f"nested more than {MAX_DEPTH} levels deep") from None
