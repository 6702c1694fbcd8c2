"""Folded text: one comparison key for search, aliases, duplicate detection and import matching.

Folding makes names case-, accent- and script-insensitive: "José Hernández" and "Jose
Hernandez" fold alike, as do Tajik "Раҳмон" and Russian "Рахмон" (both "rahmon"), Kazakh
"Тоқаев" and Russian "Токаев" ("tokaev"), Chinese "外交部" and "wai jiao bu". The letters of the
Cyrillic alphabets of Central Asia (Tajik, Kazakh, Uzbek, Kyrgyz, Bashkir, Tatar) and of
Ukrainian and Belarusian are first brought to their nearest Russian letter, so a name typed on
a Russian keyboard finds one written in the national alphabet; then ICU's transliterator
writes every script in Latin ASCII.

Transliteration conventions differ ("Рахмон" is "Rahmon" in ICU's ISO-like scheme, "Rakhmon"
in the BGN/PCGN-like one Unidecode follows), so the search column keeps both Latin forms
(``variants``) and either spelling typed as a query finds the name.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import icu
from unidecode import unidecode

_SPACES = re.compile(r"\s+")
# Apostrophes and primes: transliterations of soft signs, Uzbek o‘/g‘, O'Brien / OBrien.
_MARKS = re.compile(r"['`ʹʺʻʼʽ‘’′″\"]")

# Letters of the other Cyrillic alphabets -> the Russian letter a Russian keyboard would type.
# (Letters with a diacritic that Unicode decomposes, ё й ў ӣ ӯ ї, lose it in the NFKD step.)
CYRILLIC_TO_RUSSIAN = str.maketrans(
    {
        "ҳ": "х",  # Tajik, Uzbek
        "һ": "х",  # Kazakh, Bashkir, Tatar
        "қ": "к",  # Kazakh, Uzbek, Tajik
        "ҡ": "к",  # Bashkir
        "ғ": "г",  # Kazakh, Uzbek, Tajik
        "ҷ": "ч",  # Tajik
        "ҹ": "ч",
        "ә": "а",  # Kazakh, Tatar, Bashkir
        "ө": "о",  # Kazakh, Kyrgyz, Mongolian
        "ү": "у",  # Kazakh, Kyrgyz
        "ұ": "у",  # Kazakh
        "і": "и",  # Kazakh, Ukrainian, Belarusian
        "ң": "н",  # Kazakh, Kyrgyz
        "ґ": "г",  # Ukrainian
        "є": "е",  # Ukrainian
        "ј": "й",  # Serbian, Macedonian
        "љ": "ль",
        "њ": "нь",
        "ћ": "ч",
        "ђ": "дж",
        "џ": "дж",
        "ѓ": "г",
        "ќ": "к",
        "ѕ": "з",
        "ҙ": "з",  # Bashkir
        "ҫ": "с",  # Bashkir, Chuvash
        "ӊ": "н",
        "ӈ": "н",
    }
)

# Scripts whose Latin spelling varies with the scheme (Cyrillic "ж" is "z" or "zh", Greek "χ"
# "ch" or "kh"): their names also get Unidecode's reading.
_SCHEME_DEPENDENT = re.compile(r"[\u0370-\u03ff\u0400-\u052f]")

_local = threading.local()


def _transliterator() -> icu.Transliterator:
    """ICU transliterators are not safe to share between threads: one per thread."""
    found = getattr(_local, "latin", None)
    if found is None:
        found = icu.Transliterator.createInstance("Any-Latin; Latin-ASCII")
        _local.latin = found
    return found


def _prepared(text: str) -> str:
    """Compatibility-decomposed, marks dropped, case-folded, Cyrillic letters made Russian."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return stripped if stripped.isascii() else stripped.translate(CYRILLIC_TO_RUSSIAN)


def _finish(latin: str) -> str:
    return _SPACES.sub(" ", _MARKS.sub("", latin.lower())).strip()


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """The comparison key: lower-case Latin ASCII ("Раҳмон" -> "rahmon", "José" -> "jose")."""
    prepared = _prepared(text)
    if prepared.isascii():
        return _finish(prepared)
    return _finish(_transliterator().transliterate(prepared))


@lru_cache(maxsize=200_000)
def variants(text: str) -> tuple[str, ...]:
    """Every Latin form a name is found by: the key, then the other transliteration scheme's
    reading when it differs ("Рахмон" -> ("rahmon", "rakhmon"))."""
    key = fold(text)
    prepared = _prepared(text)
    if prepared.isascii() or not _SCHEME_DEPENDENT.search(prepared):
        return (key,) if key else ()
    other = _finish(unidecode(prepared))
    return tuple(v for v in dict.fromkeys((key, other)) if v)


def search_text(*parts: str) -> str:
    """The indexed search column: every name form folded, then the other transliterations,
    de-duplicated, within 1000 characters."""
    keys: list[str] = []
    others: list[str] = []
    for part in parts:
        if not part:
            continue
        found = variants(part)
        keys.extend(found[:1])
        others.extend(found[1:])
    return " | ".join(dict.fromkeys(keys + others))[:1000]


def terms(query: str) -> list[str]:
    """The query as folded words, each to be found somewhere in the search column."""
    words = [w for w in fold(query).replace("%", " ").replace("_", " ").split(" ") if w]
    return words[:8]
