"""Case and article of names inside running text: Russian cases, French/Spanish articles."""

import re
from functools import cache, lru_cache

from app.letters.language.data import (
    CASES,
    country_names,
    meeting_names,
    ordinals,
    russian_exceptions,
    treaty_names,
)
from app.letters.language.russian import inflect_phrase

MAX_TEXT = 500
_FR_VOWEL = tuple("AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŒÆHaeiouyàâäéèêëîïôöùûüœæh")


@cache
def _russian_table() -> dict[str, dict[str, str]]:
    """Nominative -> {case: stored form} for the Russian treaty and meeting names."""
    table: dict[str, dict[str, str]] = {}
    # The rows of one name follow each other, nominative first.
    treaties: list[dict[str, str]] = []
    for t in treaty_names():
        if t.language != "ru":
            continue
        if t.case == "nominative" or not treaties:
            treaties.append({})
        treaties[-1][t.case] = t.name
    meetings: dict[tuple[str, str, int], dict[str, str]] = {}
    for m in meeting_names():
        if m.language == "ru" and m.number is not None:
            meetings.setdefault((m.treaty, m.kind, m.number), {})[m.case] = m.pattern
    for forms in (*treaties, *meetings.values()):
        if "nominative" in forms:
            table[forms["nominative"]] = forms
    return table


@lru_cache(maxsize=4096)
def inflect(text: str, case: str, lang: str) -> str:
    """`text` put in `case` when `lang` is Russian; other languages get it back unchanged.

    A treaty or meeting name from the data returns its stored form; anything else (state
    names, offices, free text) goes through the phrase inflection of russian.py.
    """
    if lang != "ru" or case not in CASES or not text or len(text) > MAX_TEXT:
        return text
    stored = _russian_table().get(text)
    if stored and case in stored:
        return stored[case]
    if text in russian_exceptions():
        return russian_exceptions()[text][case]
    return inflect_phrase(text, case)


@cache
def _articles(lang: str) -> dict[str, str]:
    """Name -> article for the French or Spanish names in the data."""
    index: dict[str, str] = {}
    for row in country_names().values():
        if row.language == lang and row.name:
            index.setdefault(row.name, row.article)
    for t in treaty_names():
        if t.language == lang:
            index.setdefault(t.name, t.article)
    for m in meeting_names():
        if m.language == lang and m.number is not None:
            # Assemblée / Conférence, Reunión / Conferencia: all feminine.
            index.setdefault(m.pattern, "la")
    return index


@cache
def _meeting_title(lang: str) -> re.Pattern[str]:
    words = sorted(
        (w for (lg, _g, _c, _n), w in ordinals().items() if lg == lang), key=len, reverse=True
    )
    nouns = {"fr": "Assemblée|Conférence", "es": "Reunión|Conferencia"}[lang]
    return re.compile(rf"^(?:{'|'.join(map(re.escape, words))}) (?:{nouns})\b", re.IGNORECASE)


def article_of(text: str, lang: str) -> str | None:
    """The article a known French/Spanish name takes ("" for none); None when unknown."""
    if lang not in ("fr", "es"):
        return None
    known = _articles(lang).get(text)
    if known is not None:
        return known
    if _meeting_title(lang).match(text):
        return "la"
    return None


def _french(text: str, article: str, preposition: str | None) -> str:
    elided = text.startswith(_FR_VOWEL)
    bare = {"le": f"le {text}", "la": f"la {text}", "les": f"les {text}", "l'": f"l'{text}"}
    if preposition is None:
        return bare.get(article, text)
    prep = preposition.strip().lower()
    if prep == "de":
        forms = {"le": f"du {text}", "les": f"des {text}"}
        default = f"d'{text}" if elided else f"de {text}"
    elif prep in ("à", "a"):
        forms = {"le": f"au {text}", "les": f"aux {text}"}
        default = f"à {text}"
    elif prep == "en":
        # Place: en France, en Afghanistan, au Tadjikistan, aux Philippines, à Cuba; a name
        # without article but with a vowel takes "en" too (en Israël, en Haïti, en Oman).
        forms = {"la": f"en {text}", "l'": f"en {text}", "le": f"au {text}", "les": f"aux {text}"}
        default = f"en {text}" if elided else f"à {text}"
    else:
        forms = {}
        default = f"{prep} {text}"
    if article in forms:
        return forms[article]
    if article in bare:
        return f"{'à' if prep in ('à', 'a') else prep} {bare[article]}"
    return default


def _spanish(text: str, article: str, preposition: str | None) -> str:
    bare = f"{article} {text}" if article else text
    if preposition is None:
        return bare
    prep = preposition.strip().lower()
    if article == "el" and prep == "de":
        return f"del {text}"
    if article == "el" and prep == "a":
        return f"al {text}"
    return f"{prep} {bare}"


@lru_cache(maxsize=4096)
def with_article(text: str, lang: str, preposition: str | None = None) -> str:
    """A French or Spanish name with its article, contracted with `preposition`.

    fr: "le Tadjikistan", "du Tadjikistan", "au Tadjikistan", "en France", "aux Philippines",
    "à Cuba", "de la Convention …"; es: "el Pakistán", "del Pakistán", "al Pakistán",
    "de la Convención …". A name the data does not know is taken to have no article
    ("de Genève", "d'Israël"). Other languages: `text` unchanged.
    """
    if lang not in ("fr", "es") or not text or len(text) > MAX_TEXT:
        return text
    article = article_of(text, lang) or ""
    if lang == "fr":
        return _french(text, article, preposition)
    return _spanish(text, article, preposition)


def with_given_article(text: str, lang: str, article: str, preposition: str | None = None) -> str:
    """with_article() for a name whose article the caller knows rather than the data (an
    institution's head noun): fr ("le", "la", "l'", "les" or ""), es ("el", "la", …)."""
    if lang == "fr":
        return _french(text, article, preposition)
    if lang == "es":
        return _spanish(text, article, preposition)
    return text
