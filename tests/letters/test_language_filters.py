"""The Jinja filters, run inside the letter sandbox."""

from datetime import date
from typing import Any

import pytest

from app.letters.language.filters import FILTERS
from app.letters.sandbox import make_environment

NBSP = "\u00a0"


@pytest.fixture(scope="module")
def env() -> Any:
    environment = make_environment()
    environment.filters.update(FILTERS)
    return environment


def render(env: Any, source: str, lang: str, **values: Any) -> str:
    return env.from_string(source).render(letter={"language": lang}, **values)


def test_case(env: Any) -> None:
    src = "призываю {{ name | case('accusative') }} присоединиться к {{ treaty | case('dative') }}"
    out = render(
        env, src, "ru", name="Республика Таджикистан", treaty="Конвенция по кассетным боеприпасам"
    )
    assert out == (
        "призываю Республику Таджикистан присоединиться к Конвенции по кассетным боеприпасам"
    )


def test_case_is_identity_outside_russian(env: Any) -> None:
    assert render(env, "{{ n | case('dative') }}", "fr", n="Tadjikistan") == "Tadjikistan"


def test_article(env: Any) -> None:
    src = "{{ c | article('en') }}, {{ t | article('de') }}"
    out = render(env, src, "fr", c="Tadjikistan", t="Convention sur les armes à sous-munitions")
    assert out == "au Tadjikistan, de la Convention sur les armes à sous-munitions"
    assert render(env, "{{ c | article('de') }}", "es", c="Pakistán") == "del Pakistán"


def test_article_output_is_escaped(env: Any) -> None:
    assert render(env, "{{ c | article }}", "fr", c="Afghanistan") == "l&#39;Afghanistan"


def test_days_and_count(env: Any) -> None:
    assert render(env, "{{ n | days }}", "ru", n=192) == f"192{NBSP}дня"
    assert render(env, "{{ n | days }}", "ru", n="5") == f"5{NBSP}дней"
    assert render(env, "{{ n | count('month') }}", "es", n=3) == f"3{NBSP}meses"
    assert render(env, "{{ n | days }}", "zh", n=192) == "192天"


def test_local_date(env: Any) -> None:
    assert render(env, "{{ d | local_date }}", "fr", d="2010-08-01") == f"1er{NBSP}août 2010"
    assert render(env, "{{ d | local_date }}", "zh", d=date(2010, 8, 1)) == "2010年8月1日"


@pytest.mark.parametrize(
    "source",
    [
        "{{ v | case('dative') }}",
        "{{ v | case('nonsense') }}",
        "{{ v | article('de') }}",
        "{{ v | article('zzz') }}",
        "{{ v | days }}",
        "{{ v | count('fortnight') }}",
        "{{ v | local_date }}",
    ],
)
@pytest.mark.parametrize("value", [None, 3.5, ["x"], {"a": 1}, "x" * 5000, "not a date", True])
def test_filters_never_raise(env: Any, source: str, value: Any) -> None:
    out = render(env, source, "ru", v=value)
    assert isinstance(out, str)


def test_long_input_is_returned_untouched(env: Any) -> None:
    text = "Республика " * 100
    assert render(env, "{{ v | case('dative') }}", "ru", v=text) == text


def test_language_missing_from_context_falls_back_to_english(env: Any) -> None:
    out = env.from_string("{{ n | days }}").render(n=2)
    assert out == f"2{NBSP}days"
