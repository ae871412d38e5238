"""The bounded Jinja sandbox prompt templates render in.

A prompt file comes from an untrusted pull request. Jinja2's `SandboxedEnvironment` keeps a template away from
Python's internals but not from the machine's time and memory: `{{ 'x' * 10**8 }}`, nested `range` loops,
`'{:>100000000}'.format(1)` or `lipsum(100000)` each run for minutes or fill the memory. This environment adds
a budget to every render: wall time, output size, loop iterations, the size of a `range`, string and list
repetition, powers, format widths and padding, and a small `lipsum`. Going over any of them raises
`BudgetExceeded` (a `SecurityError`), which the prompt loader turns into one line and exit 2.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

MAX_SECONDS = 2.0  # wall time of one render
MAX_OUTPUT = 1_000_000  # characters one render may produce (a request is capped lower, by max_request_chars)
MAX_ITERATIONS = 100_000  # loop iterations of one render, all loops together
MAX_RANGE = 10_000  # items in one range()
MAX_SIZE = 100_000  # characters of one repeated string or padded value, items of one repeated list
MAX_INT_BITS = 4_096  # bits of a power's result
MAX_LIPSUM = 5  # paragraphs
_ITER = "_promptreview_budget_iter"
WIDE_FORMAT = re.compile(r"(\d{6,})")  # a width or precision of 100000 or more in a format spec


class BudgetExceeded(SecurityError):
    """A template went over its rendering budget."""


class _Budget(threading.local):
    deadline: float = float("inf")  # set by `render` for each render
    iterations: int = 0


_BUDGET = _Budget()


def _tick() -> None:
    _BUDGET.iterations += 1
    if _BUDGET.iterations > MAX_ITERATIONS:
        raise BudgetExceeded(f"more than {MAX_ITERATIONS:,} loop iterations")
    if _BUDGET.iterations % 256 == 0 and time.monotonic() > _BUDGET.deadline:
        raise BudgetExceeded(f"rendering took over {MAX_SECONDS:g} s")


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    for item in iterable:
        _tick()
        yield item


def _range(*args: Any) -> range:
    rng = range(*args)
    if len(rng) > MAX_RANGE:
        raise BudgetExceeded(f"range() of {len(rng):,} items (at most {MAX_RANGE:,})")
    return rng


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002
    if not all(isinstance(v, int) for v in (n, min, max)) or n > MAX_LIPSUM or max > 100 or min > max:
        raise BudgetExceeded(f"lipsum() is limited to {MAX_LIPSUM} paragraphs of at most 100 words")
    return str(generate_lorem_ipsum(n, html, min, max))


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 0


def _check_format(spec: Any) -> None:
    if isinstance(spec, str) and WIDE_FORMAT.search(spec):
        raise BudgetExceeded("a format width or precision over 99,999")


def _check_ints(args: Iterable[Any]) -> None:
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_SIZE:
            raise BudgetExceeded(f"an argument of {arg:,} (at most {MAX_SIZE:,})")


class _LoopCounter(jinja2.visitor.NodeTransformer):
    """Wraps every `{% for %}`'s iterable, so every iteration counts against the budget."""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802 (the visitor's naming)
        self.generic_visit(node)
        node.iter = nodes.Call(nodes.Name(_ITER, "load"), [node.iter], [], None, None)
        return node


class BoundedTemplate(jinja2.Template):
    """A template whose `render` is always the bounded `render` (whoever calls it)."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        return render(self, dict(*args, **kwargs))


class BoundedEnvironment(SandboxedEnvironment):
    """`SandboxedEnvironment` with a budget; every template it makes renders through `render`, which sets the
    budget and caps the output."""

    template_class = BoundedTemplate
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals.update({"range": _range, "lipsum": _lipsum, _ITER: _counted})

    def _generate(
        self, source: nodes.Template, name: str | None, filename: str | None, defer_init: bool = False
    ) -> str:
        # only compiled templates count loops: `parse` (used to find a template's variables) stays untouched
        return super()._generate(_LoopCounter().visit(source), name, filename, defer_init)

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(times, int) and _size(seq) and _size(seq) * times > MAX_SIZE:
                    raise BudgetExceeded(
                        f"a repetition of {_size(seq) * times:,} items (at most {MAX_SIZE:,})"
                    )
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                if max(abs(left), 2).bit_length() * right > MAX_INT_BITS:
                    raise BudgetExceeded("a power too large to compute")
        elif operator == "%":
            _check_format(left)
        elif operator == "+":
            if _size(left) + _size(right) > MAX_OUTPUT:
                raise BudgetExceeded("a concatenation over the output limit")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if time.monotonic() > _BUDGET.deadline:
            raise BudgetExceeded(f"rendering took over {MAX_SECONDS:g} s")
        if __obj is not _range and __obj is not _counted:
            _check_ints((*args, *kwargs.values()))
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and getattr(value, "__name__", "") in ("format", "format_map"):
            _check_format(owner)
            if re.search(r":[^}]*\{", owner):  # a width from an argument: `'{0:{1}}'.format(1, n)`
                raise BudgetExceeded("a format width taken from an argument")
        return super().wrap_str_format(value)


def _bounded_filter(name: str, fn: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _check_ints((*args[1:], *kwargs.values()))
        if name == "format":  # `'%100000000d'|format(1)`: the format string is the filtered value
            _check_format(args[0] if args else None)
        result = fn(*args, **kwargs)
        if _size(result) > MAX_OUTPUT:
            raise BudgetExceeded(f"the {name} filter made {_size(result):,} characters")
        return result

    for attr in ("jinja_pass_arg",):  # keep Jinja's pass_context / pass_environment markers
        if hasattr(fn, attr):
            setattr(wrapper, attr, getattr(fn, attr))
    return wrapper


def environment(**options: Any) -> BoundedEnvironment:
    env = BoundedEnvironment(**options)
    for name, fn in list(env.filters.items()):
        env.filters[name] = _bounded_filter(name, fn)
    return env


def render(template: jinja2.Template, values: Mapping[str, Any]) -> str:
    """Render within the budget: the output is streamed and cut off at `MAX_OUTPUT` characters."""
    _BUDGET.deadline = time.monotonic() + MAX_SECONDS
    _BUDGET.iterations = 0
    out: list[str] = []
    size = 0
    try:
        for chunk in template.generate(dict(values)):  # positional: a column named `self` is just a name
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise BudgetExceeded(f"the rendered text is over {MAX_OUTPUT:,} characters")
            if time.monotonic() > _BUDGET.deadline:
                raise BudgetExceeded(f"rendering took over {MAX_SECONDS:g} s")
            out.append(chunk)
    finally:
        _BUDGET.deadline = float("inf")
    return "".join(out)
