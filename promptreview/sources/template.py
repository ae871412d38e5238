"""One prompt version as the engine sees it (`PromptTemplate`), and sandboxed Jinja rendering.

A prompt file comes from an untrusted pull request: its templates are rendered by Jinja2's
SandboxedEnvironment with StrictUndefined, so a template can neither reach Python internals nor silently
render a missing variable as an empty string. Every Jinja render goes through `render_jinja` (one function,
so the sandbox can be swapped in one place). The file formats themselves are read in `sources/formats/`;
a format whose templates are not Jinja (Handlebars, f-strings, Mustache) brings its own `Engine`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Literal

import jinja2
from jinja2 import meta, nodes

from promptreview.errors import UsageError
from promptreview.notes import Note
from promptreview.records import Message
from promptreview.sources import sandbox
from promptreview.sources.evaluators import EvaluatorSpec
from promptreview.vocabulary import OutputMode, Role, TemplateEngine

ROLES: tuple[Role, ...] = ("system", "user", "assistant", "developer")  # in the order errors list them

TemplateRole = Literal[Role, "body"]
"""A template message's role; `body`: the one message of a split format, its roles found once rendered."""

# the bounded sandbox (`sandbox.py`): time, output size and loop budgets on every render
_ENV = sandbox.environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)


class TemplateProblem(ValueError):
    """A template could not be rendered: a missing variable, a syntax error, a refused operation."""


@lru_cache(maxsize=256)
def _compiled(source: str) -> jinja2.Template:
    """A template is compiled once, not once per suite row (compiling was most of a 20,000-call plan)."""
    return _ENV.from_string(source)


# names Jinja's compiler gives a meaning of its own, whatever the values hold
_SPECIAL = frozenset({"self", "loop", "caller", "varargs", "kwargs", "super"})


@lru_cache(maxsize=256)
def _substitution(source: str) -> tuple[tuple[bool, str], ...] | None:
    """The template as literal text and bare `{{ name }}` slots, when that is all it is (most prompts are), as
    (is_slot, text) parts; None when it has anything else (a filter, a tag, an expression, a global's name).

    Such a template renders to exactly what Jinja renders: each slot is `str(value)` (what the compiled code
    yields with autoescape off), a missing one is StrictUndefined's error, and the text is the lexer's (its
    newline and whitespace-control handling already applied). Rendering it by joining the parts skips
    Jinja's per-render context, which was most of the cost of planning a large review."""
    try:
        tree = _ENV.parse(source)
    except jinja2.TemplateSyntaxError:
        return None  # the compiled path reports it
    parts: list[tuple[bool, str]] = []
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            return None
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                parts.append((False, child.data))
            elif (
                isinstance(child, nodes.Name)
                and child.name not in _ENV.globals
                and child.name not in _SPECIAL
            ):
                parts.append((True, child.name))
            else:
                return None
    return tuple(parts)


def _substitute(parts: tuple[tuple[bool, str], ...], values: Mapping[str, Any]) -> str:
    out = []
    for is_slot, text in parts:
        if not is_slot:
            out.append(text)
        elif text in values:
            out.append(str(values[text]))
        else:
            raise TemplateProblem(f"{text!r} is undefined")  # StrictUndefined's words
    rendered = "".join(out)
    if len(rendered) > sandbox.MAX_OUTPUT:
        raise sandbox.BudgetExceeded(f"the rendered text is over {sandbox.MAX_OUTPUT:,} characters")
    return rendered


def render_jinja(source: str, values: Mapping[str, Any]) -> str:
    """Render one Jinja template in the sandbox: the one place a prompt file's Jinja is executed."""
    try:
        parts = _substitution(source)
        if parts is not None:
            return _substitute(parts, values)
        return sandbox.render(_compiled(source), values)
    except jinja2.UndefinedError as exc:
        raise TemplateProblem(str(exc.message)) from None
    except jinja2.exceptions.SecurityError as exc:
        raise TemplateProblem(f"template refused by the sandbox ({exc})") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error at line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise TemplateProblem(f"template error ({exc})") from None


def jinja_variables(source: str) -> set[str]:
    """Names a Jinja template reads, found statically so a missing column fails before any model call."""
    try:
        return set(meta.find_undeclared_variables(_ENV.parse(source)))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error at line {exc.lineno}: {exc.message}") from None


@dataclass(frozen=True)
class Engine:
    """A template language: how a template renders and which variables it reads."""

    name: TemplateEngine
    render: Callable[[str, Mapping[str, Any]], str]
    variables: Callable[[str], set[str]]


JINJA = Engine("jinja", render_jinja, jinja_variables)

# A whole-body format (Prompty, Dotprompt) renders its body once and then splits it into messages
Splitter = Callable[[str], Sequence[tuple[Role, str]]]


@dataclass(frozen=True)
class PromptTemplate:
    """One version of one prompt: its messages (templates), and what it says about model and output."""

    path: str
    messages: tuple[tuple[TemplateRole, str], ...]  # (role, template source); ("body", source): split format
    model: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    schema: dict[str, Any] | None = None
    schema_name: str = "output"
    # the `strict` the file declares with its schema (None: it declares none)
    schema_strict: bool | None = None
    json_object: bool = False  # responseFormat: json_object without a schema
    engine: Engine = field(default=JINJA, compare=False)
    split: Splitter | None = field(default=None, compare=False)
    defaults: Mapping[str, Any] = field(default_factory=dict)  # input defaults the file declares
    output: OutputMode | None = None  # when the file says which (None: decided by `auto`)
    suite: tuple[Mapping[str, Any], ...] | None = None  # inputs the file carries (testData, sample)
    suite_source: str | None = None  # where in the file they are, e.g. "testData"
    warnings: tuple[Note, ...] = ()  # what reading the file noticed (unknown parameters, ...)
    format: str = "plain"  # the format's name, for the report and errors
    # the file's model named in another tool's spelling (GitHub Models' `publisher/name`, Prompty's deployment,
    # Dotprompt's `googleai/...`), as a spec of ours: like `model`, it wins over the config's
    model_hint: str | None = None
    # the model as the file itself writes it (`openai/gpt-4o`, `googleai/gemini-2.0-flash`, an Azure deployment),
    # whether or not a provider of ours serves it: what the config's `models_map` is looked up by
    model_named: str | None = None
    evaluators: tuple[EvaluatorSpec, ...] = ()  # a .prompt.yml's own `evaluators` (GitHub Models)

    @cached_property
    def _variables(self) -> frozenset[str]:
        names: set[str] = set()
        for _, source in self.messages:
            names |= self.engine.variables(source)
        return frozenset(names)

    def variables(self) -> set[str]:
        """Names the templates read (defaults included)."""
        try:
            return set(self._variables)
        except TemplateProblem as exc:
            raise UsageError(f"{self.path}: {exc}") from None

    def render(self, row: Mapping[str, Any], row_label: str) -> tuple[Message, ...]:
        values = {**self.defaults, **row}
        out: list[Message] = []
        for role, source in self.messages:
            try:
                text = self.engine.render(source, values)
            except TemplateProblem as exc:
                raise UsageError(f"{self.path}: {exc} in suite {row_label}") from None
            if self.split is None:
                assert role != "body", "a format whose message is the whole body splits it"
                out.append(Message(role=role, content=text))
            else:
                out += [Message(role=r, content=c) for r, c in self.split(text)]
        if not out:
            raise UsageError(f"{self.path}: the prompt renders to no message for suite {row_label}")
        return tuple(out)


def check_template(template: PromptTemplate, columns: AbstractSet[str], suite: str) -> None:
    """Fail before any call when a template uses a variable no suite row (or default) provides."""
    needed = template.variables()
    missing = sorted(needed - set(columns) - set(template.defaults))
    if missing:
        raise UsageError(
            f"{template.path}: template variable '{missing[0]}' is not a column of {suite} "
            f"(columns: {', '.join(sorted(columns)) or 'none'})"
        )
