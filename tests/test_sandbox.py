"""The bounded template sandbox: every bomb of the security issue ends at once with one clear error, and
ordinary templates render as before."""

from __future__ import annotations

import pytest

from promptreview.errors import UsageError
from promptreview.sources import sandbox
from promptreview.sources.prompts import load_prompt

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
