"""Counts with plural agreement and dates in each letter language's convention."""

from datetime import date, datetime
from functools import lru_cache

from babel.dates import format_date as babel_format_date
from babel.units import format_unit

from app.letters.language.data import LANGUAGES
from app.letters.language.names import city_name

NBSP = "\u00a0"
UNITS = ("day", "week", "month", "year")
MAX_COUNT = 10**9


@lru_cache(maxsize=2048)
def count(n: int, unit: str, lang: str) -> str:
    """`n` `unit`s with CLDR plural agreement: "1 день", "192 дня", "5 дней", "192 jours".

    A no-break space joins number and unit. Arabic says one and two without the number, as
    CLDR does ("يوم", "يومان"); Chinese writes no space ("192天").
    """
    if unit not in UNITS or lang not in LANGUAGES or isinstance(n, bool) or not isinstance(n, int):
        return ""
    if abs(n) >= MAX_COUNT:
        return ""
    text = format_unit(n, f"duration-{unit}", length="long", locale=lang)
    return text.replace(" ", NBSP)


def _day_month(text: str) -> str:
    """No-break space after the day number, so "1 août" never breaks."""
    day, _, rest = text.partition(" ")
    return f"{day}{NBSP}{rest}" if rest else text


@lru_cache(maxsize=4096)
def format_date(d: date, lang: str) -> str:
    """A date as letters in `lang` write it.

    en "1 May 2010" (day month year, British, as in international correspondence);
    fr "1er mai 2010"; es "1 de mayo de 2010"; ru "1 мая 2010 г."; ar "1 مايو 2010";
    zh "2010年5月1日". Arabic keeps the digits 0–9: CLDR's default numbering for "ar" is
    Latin, and UN Arabic documents print dates with them (Arabic-Indic digits are common in
    domestic Gulf and Levant correspondence; a letter to a foreign ministry may use either).
    """
    if isinstance(d, datetime):
        d = d.date()
    if not isinstance(d, date) or lang not in LANGUAGES:
        return ""
    if lang == "en":
        return _day_month(babel_format_date(d, "d MMMM y", locale="en_GB"))
    if lang == "fr":
        text = _day_month(babel_format_date(d, "d MMMM y", locale="fr"))
        return "1er" + text[1:] if d.day == 1 else text
    if lang == "es":
        text = babel_format_date(d, "d 'de' MMMM 'de' y", locale="es")
        day, _, rest = text.partition(" de ")
        return f"{day}{NBSP}de{NBSP}{rest}"
    if lang == "ru":
        return _day_month(babel_format_date(d, "d MMMM y", locale="ru")) + f"{NBSP}г."
    if lang == "ar":
        return _day_month(babel_format_date(d, "d MMMM y", locale="ar"))
    return babel_format_date(d, "y年M月d日", locale="zh")


@lru_cache(maxsize=2048)
def date_line(city: str, d: date, lang: str) -> str:
    """The place-and-date line of a letter; `city` is the English key, localised here.

    en "Geneva, 1 May 2010"; fr "Genève, le 1er mai 2010"; es "Ginebra, 1 de mayo de 2010";
    ru "Женева, 1 мая 2010 г."; ar "جنيف، في 1 مايو 2010" (Arabic comma, "في" before the
    date); zh "2010年5月1日于日内瓦": Chinese puts the date first and the place after 于, as in
    the signature clause of UN treaty texts ("……年……月……日订于……"). Without a known
    city name in `lang`, the line is the date alone.
    """
    when = format_date(d, lang)
    if not when:
        return ""
    place = city_name(city, lang)
    if not place:
        return when
    if lang == "fr":
        return f"{place}, le {when}"
    if lang == "ar":
        return f"{place}، في {when}"
    if lang == "zh":
        return f"{when}于{place}"
    return f"{place}, {when}"
