"""Jinja filters for letter templates; the template sandbox registers ``FILTERS``.

Each reads the letter's language from ``context["letter"]["language"]`` and never raises on
what a template hands it: text it cannot place comes back unchanged, a missing form as "".
Input longer than ``MAX_TEXT`` characters is returned untouched, and the work is cached.

    {{ recipient.country | case("dative") }}      ru: Республике Таджикистан
    {{ treaty.name | article("de") }}             fr: de la Convention …   es: de la Convención …
    {{ milestone.days_left | days }}              ru: 192 дня   fr: 192 jours   zh: 192天
    {{ 3 | count("month") }}                      es: 3 meses
    {{ "2010-08-01" | local_date }}               fr: 1er août 2010
"""

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from jinja2 import Undefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from app.letters.language.data import CASES, LANGUAGES
from app.letters.language.formatting import UNITS, count, format_date
from app.letters.language.grammar import MAX_TEXT, inflect, with_article

PREPOSITIONS = frozenset({"de", "à", "a", "en", "par", "pour", "sur", "avec", "con", "por", "para"})


def _language(context: Context) -> str:
    letter = context.get("letter")
    lang = letter.get("language") if isinstance(letter, Mapping) else None
    return lang if isinstance(lang, str) and lang in LANGUAGES else "en"


def _text(value: Any) -> str | None:
    """The plain text of a template value, or None when it is not text to work on."""
    if isinstance(value, Markup):
        text = value.unescape()
    elif isinstance(value, str):
        text = value
    else:
        return None
    return text if len(text) <= MAX_TEXT else None


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 12:
        return int(value)
    return None


@pass_context
def case_filter(context: Context, value: Any, case_name: str = "nominative") -> Any:
    """Russian case of a name or title; other languages, unknown cases: unchanged."""
    text = _text(value)
    if text is None or case_name not in CASES:
        return value
    return inflect(text, case_name, _language(context))


@pass_context
def article_filter(context: Context, value: Any, preposition: str | None = None) -> Any:
    """French/Spanish article (and contraction with `preposition`); elsewhere unchanged."""
    text = _text(value)
    if text is None:
        return value
    if preposition is not None and (
        not isinstance(preposition, str) or preposition.strip().lower() not in PREPOSITIONS
    ):
        return value
    return with_article(text, _language(context), preposition)


@pass_context
def count_filter(context: Context, value: Any, unit: str = "day") -> Any:
    """`value` days/weeks/months/years with plural agreement; unchanged if not a number."""
    n = _number(value)
    if n is None or unit not in UNITS:
        return value
    return count(n, unit, _language(context)) or value


@pass_context
def days_filter(context: Context, value: Any) -> Any:
    return count_filter(context, value, "day")


@pass_context
def local_date_filter(context: Context, value: Any) -> Any:
    """A date (or ISO date string) as the letter's language writes it; else unchanged."""
    if isinstance(value, Undefined):
        return value
    when: date | None = None
    if isinstance(value, datetime):
        when = value.date()
    elif isinstance(value, date):
        when = value
    elif isinstance(value, str) and len(value) <= 32:
        try:
            when = date.fromisoformat(value.strip()[:10])
        except ValueError:
            when = None
    if when is None:
        return value
    return format_date(when, _language(context)) or value


FILTERS: dict[str, Callable[..., Any]] = {
    "case": case_filter,
    "article": article_filter,
    "count": count_filter,
    "days": days_filter,
    "local_date": local_date_filter,
}
