"""Template-injection payloads fail safely; unknown fields and syntax errors are named."""

from __future__ import annotations

import pytest

from app.letters.context import sample_context
from app.letters.limits import TemplateProblem
from app.letters.sandbox import check_source, render_capped

SECRET_NAMES = ("subclasses", "__globals__", "os.system", "Popen", "__builtins__", "/etc/passwd")

PAYLOADS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ recipient.__class__.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ recipient|attr('__class__') }}",
    "{{ recipient['__class__'] }}",
    "{{ '{0.__class__.__mro__}'.format(recipient) }}",
    "{{ '%s'.format_map(recipient) }}",
    "{{ recipient.name.__class__.__base__.__subclasses__() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ config }}{{ request }}",
    "{% for x in range(10) %}{{ x }}{% endfor %}",
    "{{ recipient.update({'name': 'x'}) }}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}",
    "{{ 'x' * 100000000 }}",
    "{{ 9 ** 9999999 }}",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_injection_payloads_are_refused_or_harmless(payload: str) -> None:
    try:
        out = str(render_capped(payload, sample_context("en"), max_chars=10_000))
    except TemplateProblem:
        return
    # Anything that renders must not expose internals.
    for marker in SECRET_NAMES + ("<class", "function", "module"):
        assert marker not in out, (payload, out[:200])


def test_payload_without_output_cap_still_stops_at_the_cap() -> None:
    loop = "{% for a in recipient.address_block %}" * 3 + "{{ 'y' * 90000 }}" + "{% endfor %}" * 3
    with pytest.raises(TemplateProblem, match="character limit"):
        render_capped(loop, sample_context("en"), max_chars=100_000)


def test_values_are_autoescaped() -> None:
    ctx = sample_context("en", {"recipient": {"name": "<script>alert(1)</script>"}})
    out = str(render_capped("{{ recipient.name }}", ctx, max_chars=1000))
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_unknown_merge_field_is_named_with_its_line() -> None:
    with pytest.raises(TemplateProblem) as err:
        check_source("<p>{{ recipient.name }}</p>\n<p>{{ recipient.shoe_size }}</p>")
    assert err.value.field == "recipient.shoe_size"
    assert err.value.line == 2


def test_unknown_root_is_refused() -> None:
    with pytest.raises(TemplateProblem, match="'donor.name'"):
        check_source("{{ donor.name }}")


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(TemplateProblem) as err:
        check_source("<p>ok</p>\n<p>ok</p>\n{% if recipient.name %}\n<p>never closed</p>")
    assert err.value.line is not None and "Syntax error" in err.value.message


def test_loop_variables_and_list_items_are_accepted() -> None:
    check_source(
        "{% for line in recipient.address_block %}{{ line }}{% endfor %}"
        "{% for org in organisations %}{{ org.name }} {{ org.country }}{% endfor %}"
        "{% set n = milestone.days_left %}{{ n }}"
    )
    with pytest.raises(TemplateProblem, match="org.budget"):
        check_source("{% for org in organisations %}{{ org.budget }}{% endfor %}")
