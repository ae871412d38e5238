"""The bounded template sandbox: every bomb of the security issue ends at once with one clear error, and
ordinary templates render as before."""

from __future__ import annotations

import pytest

from promptreview.errors import UsageError
from promptreview.sources import sandbox
from promptreview.sources.formats import load_prompt

BOMBS = {
    "string repetition": "{{ 'x' * 10**8 }}",
    "nested ranges": "{% for i in range(99999) %}{% for j in range(99999) %}{{ j }}{% endfor %}{% endfor %}",
    "loop budget": "{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}",
    "format width": "{{ '{:>100000000}'.format(1) }}",
    "width from an argument": "{{ '{0:{1}}'.format(1, '100000000') }}",
    "percent width": "{{ '%100000000d' % 1 }}",
    "format filter width": "{{ '%100000000d'|format(1) }}",
    "lipsum": "{{ lipsum(100000) }}",
    "center filter": "{{ 'x'|center(1000000000) }}",
    "str method": "{{ 'a'.ljust(10**9) }}",
    "list repetition": "{{ [1] * 10**9 }}",
    "power": "{{ 9 ** 999999 }}",
    "output size": "{% set s = 'x' * 99999 %}{% for i in range(9999) %}{{ s }}{% endfor %}",
    "python internals": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_every_bomb_is_refused(name):
    template = load_prompt("p.txt", BOMBS[name].encode())
    with pytest.raises(UsageError, match="sandbox"):
        template.render({"t": "x"}, "row 'r1'")


def test_ordinary_templates_render():
    source = (
        "{{ t|upper }} {% for i in range(3) %}{{ i }}{% endfor %} {{ '{:>5}'.format(t) }} "
        "{{ '%03d' % 7 }} {{ 'ab' * 3 }} {{ [1, 2]|join(',') }} {{ 2 ** 10 }}"
    )
    (message,) = load_prompt("p.txt", source.encode()).render({"t": "hi"}, "row 'r1'")
    assert message.content == "HI 012    hi 007 ababab 1,2 1024"


def test_any_template_of_the_environment_is_bounded():
    env = sandbox.environment()
    with pytest.raises(sandbox.BudgetExceeded):
        env.from_string("{{ 'x' * 10**8 }}").render()
    assert env.from_string("{{ a }}").render(a=1) == "1"  # the budget resets after each render


PLAIN = [
    "Channel: {{channel}}\n\nTicket:\n{{ticket}}\n",
    "a {{- x -}} b\r\nc\n\n",
    "{{x}}{{y}}",
    "  {{ x }}  \n{# a comment #}{% raw %}{{x}}{% endraw %}",
    "no slot at all\n",
    "",
]
NOT_PLAIN = [
    "{{ x|upper }}",
    "{% if x %}a{% endif %}",
    "{{ range }}",
    "{{ x.y }}",
    "{{ loop }}",
    "{{ x ~ y }}",
]
VALUES = [
    {"channel": "email", "ticket": "hi\nthere {{x}}", "x": None, "y": 1.5},
    {"channel": 3, "ticket": "", "x": {"a": [1, True]}, "y": "é"},
    {"channel": "", "ticket": "t", "x": False, "y": [None]},
]


@pytest.mark.parametrize("source", PLAIN)
@pytest.mark.parametrize("values", VALUES)
def test_plain_templates_render_exactly_as_jinja_does(source, values):
    from promptreview.sources import template as prompts

    assert prompts._substitution(source) is not None  # the fast path is taken
    assert prompts.render_jinja(source, values) == sandbox.render(prompts._compiled(source), values)


@pytest.mark.parametrize("source", NOT_PLAIN)
def test_anything_beyond_a_bare_name_is_rendered_by_jinja(source):
    from promptreview.sources import template as prompts

    assert prompts._substitution(source) is None


def test_plain_template_errors_read_as_jinjas():
    missing = load_prompt("p.txt", b"Hello {{ name }}")
    with pytest.raises(UsageError, match="'name' is undefined"):
        missing.render({"other": "x"}, "row 'r1'")
    huge = load_prompt("p.txt", b"{{ t }}{{ t }}")
    with pytest.raises(UsageError, match="sandbox.*over 1,000,000 characters"):
        huge.render({"t": "x" * 600_000}, "row 'r1'")


def test_a_column_named_self_is_only_a_value():
    """Values reach Jinja as one mapping: a suite column named `self` (or `template`) once made rendering
    crash with "multiple values for argument 'self'"."""
    template = load_prompt("p.txt", b"{% if x %}{{ x }}{% endif %}")
    assert template.render({"self": "me", "x": "ok"}, "row 'r1'")[0].content == "ok"
