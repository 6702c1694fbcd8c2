"""Country names in the six UN languages and their common variants -> ISO 3166 alpha-3.

Imports, forms and the API take a country as a code or as a name: "Lao PDR", "Laos", "Brasil",
"Kosovo", "Palestine", "State of Palestine", "Türkiye", "Turkey", "Côte d'Ivoire", "Ivory
Coast", "Россия", "Китай", "الصين" all resolve. The names come from data the project already
ships or depends on, each source a list of (name, alpha-3):

* ISO 3166-1 names of pycountry (name, official name, common name);
* UNTERM formal and UN short names in six languages (``app/letters/language/data/countries.csv``);
* CLDR short names in English, French, Spanish, Russian, Arabic and Chinese (Babel);
* ``data/country_aliases.csv``: former names, abbreviations and spellings, each with its source.

A name is compared as typed (case- and space-insensitive, in its own script) and then folded
(accents, apostrophes, punctuation, "the" and script ignored: "cote d ivoire" finds Côte
d'Ivoire). A name two countries answer to is ambiguous and resolves to neither; ``explain``
says why a name resolves to nothing."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pycountry
from babel import Locale

from app.contacts.text import fold

DATA = Path(__file__).parent / "data"
LETTER_NAMES = Path(__file__).parent.parent / "letters" / "language" / "data" / "countries.csv"
UN_LANGUAGES = ("en", "fr", "es", "ru", "ar", "zh")
NAME_MAX = 200  # longer text is not a country name

_PUNCT = re.compile(r"[^\w]+")
_ARTICLE = re.compile(r"^(the|la|le|les|el|los|las|l) ")


def _codes() -> dict[str, str]:
    """alpha-2 -> alpha-3 for every country the directory holds (``m49_regions.csv``)."""
    with (DATA / "m49_regions.csv").open(encoding="utf-8", newline="") as fh:
        return {row["iso2"]: row["iso3"] for row in csv.DictReader(fh) if row["iso2"]}


def exact_key(text: str) -> str:
    """As typed, in its own script: case, spaces and punctuation ignored."""
    value = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_PUNCT.sub(" ", value).split())


def folded_key(text: str) -> str:
    """Latin, accents, apostrophes, punctuation, spaces and a leading article dropped
    ("Côte d'Ivoire", "cote d ivoire" and "COTE-D'IVOIRE" are one key)."""
    value = " ".join(_PUNCT.sub(" ", fold(text)).replace("_", " ").split())
    return _ARTICLE.sub("", value).replace(" ", "")


def _sources() -> Iterator[tuple[str, str]]:
    iso3s = set(_codes().values())
    for country in pycountry.countries:
        if country.alpha_3 in iso3s:
            for attr in ("name", "official_name", "common_name"):
                value = getattr(country, attr, None)
                if value:
                    yield value, country.alpha_3
    with LETTER_NAMES.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["name"] and row["iso3"] in iso3s:
                yield row["name"], row["iso3"]
    codes = _codes()
    for language in UN_LANGUAGES:
        for iso2, value in Locale.parse(language).territories.items():
            if iso2 in codes and value:
                yield value, codes[iso2]
    with (DATA / "country_aliases.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            yield row["name"], row["iso3"]


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """(exact key -> alpha-3 codes, folded key -> alpha-3 codes), built once."""
    exact: dict[str, set[str]] = {}
    folded: dict[str, set[str]] = {}
    for name, iso3 in _sources():
        if key := exact_key(name):
            exact.setdefault(key, set()).add(iso3)
        if key := folded_key(name):
            folded.setdefault(key, set()).add(iso3)
    return (
        {k: frozenset(v) for k, v in exact.items()},
        {k: frozenset(v) for k, v in folded.items()},
    )


def candidates(text: str) -> frozenset[str]:
    """Every alpha-3 code the name could mean (empty: unknown; two or more: ambiguous)."""
    text = (text or "").strip()
    if not text or len(text) > NAME_MAX:
        return frozenset()
    exact, folded = _index()
    found = exact.get(exact_key(text))
    if found:
        return found
    return folded.get(folded_key(text), frozenset())


def resolve(text: str) -> str | None:
    """The alpha-3 code the name means, or None when unknown or ambiguous."""
    found = candidates(text)
    return next(iter(found)) if len(found) == 1 else None


def explain(text: str) -> str:
    """Why a name resolves to no country, for error messages."""
    found = sorted(candidates(text))
    if len(found) > 1:
        return f"{text.strip()!r} could be any of {', '.join(found)}: give the ISO code."
    return (
        f"No country is known by {text.strip()!r} (ISO codes, and names in English, French, "
        "Spanish, Russian, Arabic and Chinese, are accepted)."
    )
