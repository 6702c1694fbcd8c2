"""Names of states, treaties, meetings and cities in the six UN languages."""

import re
from dataclasses import dataclass
from functools import cache, lru_cache

import pycountry
from babel import Locale, UnknownLocaleError
from babel.core import get_global

from app.letters.language.data import (
    CASES,
    LANGUAGES,
    TreatyName,
    city_names,
    country_names,
    meeting_names,
    ordinals,
    treaty_names,
)
from app.letters.language.russian import inflect_phrase

TREATY_FORMS = ("full", "short", "abbreviation")
MEETING_KINDS = ("msp", "rc")
# The noun each meeting name agrees with: ru Совещание (neuter) / Конференция (feminine),
# fr Assemblée / Conférence and es Reunión / Conferencia (feminine), ar الاجتماع / المؤتمر (masc.).
_ORDINAL_GENDER = {
    ("ru", "msp"): "n",
    ("ru", "rc"): "f",
    ("fr", "msp"): "f",
    ("fr", "rc"): "f",
    ("es", "msp"): "f",
    ("es", "rc"): "f",
    ("ar", "msp"): "m",
    ("ar", "rc"): "m",
}


@cache
def _locale(lang: str) -> Locale | None:
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def _alpha3(code: str) -> str | None:
    code = (code or "").strip().upper()
    country = None
    if len(code) == 3:
        country = pycountry.countries.get(alpha_3=code)
    elif len(code) == 2:
        country = pycountry.countries.get(alpha_2=code)
    return country.alpha_3 if country else None


def _case(text: str, lang: str, case: str) -> str:
    return inflect_phrase(text, case) if lang == "ru" and text else text


@lru_cache(maxsize=2048)
def country_name(code: str, lang: str, form: str = "short", case: str = "nominative") -> str:
    """A state's name: `short` from CLDR (Babel), `formal` from UNTERM (data/countries.csv).

    `code` is ISO 3166 alpha-3 or alpha-2. Russian names are given in `case`; other languages
    ignore it. "" when the state, the language or the formal name is unknown.
    """
    iso3 = _alpha3(code)
    if iso3 is None or lang not in LANGUAGES or case not in CASES:
        return ""
    if form == "formal":
        row = country_names().get((iso3, lang, "formal"))
        name = row.name if row else ""
    elif form == "short":
        locale = _locale(lang)
        country = pycountry.countries.get(alpha_3=iso3)
        name = locale.territories.get(country.alpha_2, "") if locale and country else ""
    else:
        return ""
    return _case(name, lang, case)


def country_article(code: str, lang: str, form: str = "short") -> str:
    """French or Spanish article of a state's name ("le", "la", "l'", "les", "el", "los" …);
    "" for a name used without article and for other languages."""
    iso3 = _alpha3(code)
    row = country_names().get((iso3 or "", lang, form))
    return row.article if row else ""


def country_gender(code: str, lang: str, form: str = "short") -> str:
    """Grammatical gender/number of a French or Spanish state name: m, f, p (fr plural),
    mp, fp (es plural); "" where the data has none."""
    iso3 = _alpha3(code)
    row = country_names().get((iso3 or "", lang, form))
    return row.gender if row else ""


def _treaty_rows(treaty: str, lang: str, form: str) -> list[TreatyName]:
    return [
        r
        for r in treaty_names()
        if r.treaty == treaty.upper() and r.language == lang and r.form == form
    ]


@lru_cache(maxsize=512)
def treaty_name(treaty: str, lang: str, form: str = "full", case: str = "nominative") -> str:
    """The treaty's name (CCM, MBT) in `lang`; "" when the data has no such form.

    Where the data lists several short forms the first, the one the UN uses, is returned.
    """
    if form not in TREATY_FORMS or case not in CASES:
        return ""
    rows = _treaty_rows(treaty, lang, form)
    wanted = case if lang == "ru" else "nominative"
    for row in rows:
        if row.case == wanted:
            return row.name
    nominative = next((r.name for r in rows if r.case == "nominative"), "")
    return _case(nominative, lang, case)


def treaty_grammar(treaty: str, lang: str, form: str = "full") -> dict[str, str]:
    """{"gender": "f"|"m"|"", "article": "la"|"le"|"el"|""} of the treaty's name."""
    rows = _treaty_rows(treaty, lang, form)
    if not rows:
        return {"gender": "", "article": ""}
    return {"gender": rows[0].gender, "article": rows[0].article}


def ordinal(number: int, lang: str, gender: str = "", case: str = "nominative") -> str:
    """Ordinal word(s) as meeting names use them (data/ordinals.csv, 1–40); "" beyond."""
    return ordinals().get((lang, gender, case, number), "")


@lru_cache(maxsize=2048)
def meeting_name(treaty: str, kind: str, number: int, lang: str, case: str = "nominative") -> str:
    """Full name of a Meeting of States Parties (`msp`) or Review Conference (`rc`).

    The numbered rows of the data first; otherwise the template filled with the ordinal.
    Russian names are given in `case`; Arabic, French, Spanish, English and Chinese names only
    in the nominative (the only form the data has). "" when neither row nor ordinal exists.
    """
    if kind not in MEETING_KINDS or case not in CASES or not isinstance(number, int):
        return ""
    wanted = case if lang == "ru" else "nominative"
    treaty = treaty.upper()
    template = ""
    for row in meeting_names():
        if (row.treaty, row.kind, row.language, row.case) != (treaty, kind, lang, wanted):
            continue
        if row.number == number:
            return row.pattern
        if row.number is None:
            template = row.pattern
    word = ordinal(number, lang, _ORDINAL_GENDER.get((lang, kind), ""), wanted)
    if not template or not word:
        return ""
    return template.replace("{ordinal}", word)


def meeting_label(kind: str, number: int) -> str:
    """The short label used across languages in meeting records: "1MSP", "2RC"."""
    return f"{number}{kind.upper()}" if kind in MEETING_KINDS and number > 0 else ""


@dataclass(frozen=True)
class MeetingRef:
    kind: str
    number: int


_LABEL = re.compile(r"^\s*(\d{1,3})\s*(MSP|RC)\b", re.IGNORECASE)
_TITLE = re.compile(
    r"^\s*(?:the\s+)?([A-Za-z-]+)\s+(Meeting of (?:the )?States Parties|Review Conference)\b",
    re.IGNORECASE,
)


@cache
def _english_ordinals() -> dict[str, int]:
    return {word.lower(): n for (lang, _g, _c, n), word in ordinals().items() if lang == "en"}


def parse_meeting(name: str) -> MeetingRef | None:
    """Kind and number of a meeting record name: "1MSP (First Meeting of States Parties)",
    "2RC part 1 (…)", "13MSP" or an English title "Twenty-Second Meeting of the States
    Parties …"; None when the name says neither."""
    text = (name or "")[:500]
    match = _LABEL.match(text)
    if match:
        return MeetingRef(kind=match.group(2).lower(), number=int(match.group(1)))
    match = _TITLE.match(text)
    if match:
        number = _english_ordinals().get(match.group(1).lower())
        if number:
            kind = "rc" if match.group(2).lower().startswith("review") else "msp"
            return MeetingRef(kind=kind, number=number)
    return None


@cache
def _zones_by_city() -> dict[str, str]:
    """English exemplar city -> time zone id, from CLDR (Babel)."""
    english = _locale("en")
    zones: dict[str, str] = {}
    for zone in get_global("zone_territories"):
        city = (english.time_zones.get(zone, {}) if english else {}).get("city")
        zones.setdefault(city or zone.rsplit("/", 1)[-1].replace("_", " "), zone)
    return zones


@lru_cache(maxsize=1024)
def city_name(city_en: str, lang: str) -> str:
    """A city's name in `lang`, from data/city_names.csv, else the CLDR exemplar city of a time
    zone named after it. "" when unknown: an English name is never put into a Russian, Arabic
    or Chinese letter (French and Spanish share the Latin spelling CLDR leaves untranslated)."""
    city_en = (city_en or "").strip()
    if lang not in LANGUAGES or not city_en:
        return ""
    known = city_names().get((city_en, lang))
    if known is not None:
        return known
    zone = _zones_by_city().get(city_en)
    locale = _locale(lang)
    if zone is None or locale is None:
        return ""
    local = locale.time_zones.get(zone, {}).get("city")
    if local:
        return str(local)
    return city_en if lang in ("en", "fr", "es") else ""
