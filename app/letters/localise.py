"""Language-neutral facts (a treaty's key, a meeting's kind and number, ISO codes, dates) to the
words a letter prints in its language: names from the shipped data (``app.letters.language``),
dates and counts by each language's convention.

The merge freezes the facts and their localised words in each letter's context, so a letter
reads the same for ever; templates reach the grammar (cases, articles) through the filters.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from typing import Any

from babel.dates import format_date as babel_format_date

from app.letters import language as lx
from app.letters.language.formatting import NBSP

# How a state's status under a treaty reads in running text ("Tajikistan is not a signatory").
STATUS_WORDS: dict[str, dict[str, str]] = {
    "non_signatory": {
        "en": "not a signatory",
        "fr": "non signataire",
        "es": "no signatario",
        "ru": "не подписавшее государство",
        "ar": "دولة غير موقعة",
        "zh": "非签署国",
    },
    "signatory": {
        "en": "a signatory",
        "fr": "signataire",
        "es": "signatario",
        "ru": "подписавшее государство",
        "ar": "دولة موقعة",
        "zh": "签署国",
    },
    "state_party": {
        "en": "a State Party",
        "fr": "État partie",
        "es": "Estado parte",
        "ru": "государство-участник",
        "ar": "دولة طرف",
        "zh": "缔约国",
    },
    "withdrawn": {
        "en": "withdrawn",
        "fr": "retiré",
        "es": "retirado",
        "ru": "вышедшее государство",
        "ar": "دولة منسحبة",
        "zh": "已退出",
    },
}

_DAY_MONTH = {
    "en": ("d MMMM", "en_GB"),
    "fr": ("d MMMM", "fr"),
    "es": ("d 'de' MMMM", "es"),
    "ru": ("d MMMM", "ru"),
    "ar": ("d MMMM", "ar"),
    "zh": ("M月d日", "zh"),
}


def as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def local_date(value: Any, lang: str) -> str:
    """A date written the letter language's way; "" for no date."""
    when = as_date(value)
    return lx.format_date(when, lang) if when is not None else ""


def _opening(first: date, last: date, lang: str) -> str:
    """A range's first day written only as far as it differs from its last: "9", "30 November"
    ("1er décembre" in French), or the whole date when the years differ."""
    if first.year != last.year:
        return lx.format_date(first, lang)
    if first.month != last.month:
        pattern, locale = _DAY_MONTH.get(lang, _DAY_MONTH["en"])
        opening = babel_format_date(first, pattern, locale=locale).replace(" ", NBSP)
    else:
        opening = str(first.day)
    return "1er" + opening[1:] if lang == "fr" and first.day == 1 else opening


def date_range(start: Any, end: Any, lang: str) -> str:
    """A meeting's dates: "8–12 November 2010", "8–12 ноября 2010 г.", "2010年11月8日至12日"."""
    first, last = as_date(start), as_date(end)
    if first is None:
        return ""
    if last is None or last <= first:
        return local_date(first, lang)
    whole = lx.format_date(last, lang)
    same_month = (first.year, first.month) == (last.year, last.month)
    if lang == "zh":
        if same_month:
            return f"{lx.format_date(first, lang)}至{last.day}日"
        return f"{lx.format_date(first, lang)}至{whole}"
    opening = _opening(first, last, lang)
    return f"{opening}–{whole}" if same_month else f"{opening} – {whole}"


# How running text gives a meeting's dates: "from 9 to 12 November 2010" (not "from 9–12"),
# "du 9 au 12 novembre 2010", "del 9 al 12 de noviembre de 2010", "с 9 по 12 ноября 2010 г.";
# then the form for a meeting of one day.
_PERIOD = {
    "en": ("from {first} to {last}", "on {last}"),
    "fr": ("du {first} au {last}", "le {last}"),
    "es": ("del {first} al {last}", "el {last}"),
    "ru": ("с {first} по {last}", "{last}"),
    "ar": ("من {first} إلى {last}", "في {last}"),
}


def date_period(start: Any, end: Any, lang: str) -> str:
    """A meeting's dates as a sentence gives them: the opening written only as far as it differs
    from the closing ("from 30 November to 4 December 2026"); Chinese writes the range
    ("2010年11月9日至12日")."""
    first, last = as_date(start), as_date(end)
    if first is None or lang not in _PERIOD:
        return date_range(start, end, lang)
    span, one_day = _PERIOD[lang]
    if last is None or last <= first:
        return one_day.format(last=local_date(first, lang))
    return span.format(first=_opening(first, last, lang), last=local_date(last, lang))


@cache
def _city_keys() -> dict[str, str]:
    from app.letters.language.data import city_names

    return {name.casefold(): city for (city, _lang), name in city_names().items() if name}


def city_key(name: str) -> str:
    """The English key of a city written in any of the six languages ("Genève" → "Geneva"),
    or the name as given when the data does not know it."""
    return _city_keys().get((name or "").strip().casefold(), (name or "").strip())


def days_between(start: date, end: Any) -> int:
    when = as_date(end)
    return (when - start).days if when is not None else 0


def country(iso3: str, lang: str) -> dict[str, str]:
    """A state's names in the letter's language (no English in another language: "" where
    the data has none)."""
    code = (iso3 or "").upper()
    short = lx.country_name(code, lang, "short") if code else ""
    formal = lx.country_name(code, lang, "formal") if code else ""
    return {
        "iso3": code,
        "name": short,
        "formal_name": formal,
        "name_with_article": lx.with_article(short, lang) if short else "",
        "formal_name_with_article": lx.with_article(formal, lang) if formal else "",
    }


def treaty(facts: Mapping[str, Any], lang: str, letter_date: date) -> dict[str, Any]:
    """The treaty group of the context. With ``facts["key"]`` (CCM, MBT) the names come from
    the shipped data; without it (a treaty added by hand) the stored names are used as given."""
    key = str(facts.get("key") or "").upper()
    if key and lx.treaty_name(key, "en"):
        name = lx.treaty_name(key, lang, "full")
        short = lx.treaty_name(key, lang, "short") or name
        abbreviation = lx.treaty_name(key, lang, "abbreviation")
    else:
        name = str(facts.get("name") or "")
        short = str(facts.get("short_name") or "")
        abbreviation = str(facts.get("abbreviation") or "")
    status = str(facts.get("status") or "")
    return {
        "key": key,
        "name": name,
        "short_name": short,
        "abbreviation": abbreviation,
        "status": STATUS_WORDS.get(status, {}).get(lang, status if lang == "en" else ""),
        "is_party": status == "state_party",
        "signature_date": local_date(facts.get("signature_date"), lang),
        "ratification_date": local_date(facts.get("ratification_date"), lang),
        "eif_date": local_date(facts.get("eif_date"), lang),
        "days_to_eif": max(0, days_between(letter_date, facts.get("eif_date"))),
    }


def _titled(name: str, treaty: str, lang: str) -> str:
    """A meeting's name as Chinese running text writes it, the treaty's title in book-title
    marks ("《集束弹药公约》缔约国第十三次会议"); the names data stores names without them."""
    title = lx.treaty_name(treaty, "zh") if lang == "zh" else ""
    if title and name.startswith(title):
        return f"《{title}》{name[len(title) :]}"
    return name


def milestone(facts: Mapping[str, Any], lang: str, letter_date: date) -> dict[str, Any]:
    """The next meeting: its name in the language (from the shipped data when its treaty, kind
    and number are known), short name ("1MSP"), host city and country, dates and countdown."""
    key = str(facts.get("treaty") or "").upper()
    kind = str(facts.get("kind") or "")
    number = facts.get("number")
    if key and kind and isinstance(number, int):
        name = _titled(lx.meeting_name(key, kind, number, lang), key, lang)
        short = lx.meeting_label(kind, number)
    else:
        name = str(facts.get("name") or "")
        short = str(facts.get("short_name") or "")
    city = str(facts.get("city") or "")
    host = str(facts.get("country_iso3") or "")
    start = facts.get("date")
    return {
        "name": name,
        "short_name": short,
        "city": lx.city_name(city, lang) if city else "",
        "host_country": country(host, lang)["name"] if host else "",
        "host_country_with_article": country(host, lang)["name_with_article"] if host else "",
        "date": local_date(start, lang),
        "end_date": local_date(facts.get("end_date"), lang),
        "dates": date_range(start, facts.get("end_date"), lang),
        "period": date_period(start, facts.get("end_date"), lang),
        "days_left": days_between(letter_date, start) if as_date(start) else 0,
    }
