"""The shipped name tables, read once per process."""

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"
LANGUAGES = ("en", "fr", "es", "ru", "ar", "zh")
CASES = ("nominative", "genitive", "dative", "accusative", "instrumental", "prepositional")


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@dataclass(frozen=True)
class TreatyName:
    treaty: str
    language: str
    form: str
    case: str
    gender: str
    article: str
    name: str
    status: str


@dataclass(frozen=True)
class MeetingName:
    treaty: str
    kind: str
    number: int | None
    language: str
    case: str
    pattern: str
    status: str


@dataclass(frozen=True)
class CountryName:
    iso3: str
    language: str
    form: str
    name: str
    article: str
    gender: str
    status: str


@cache
def treaty_names() -> tuple[TreatyName, ...]:
    return tuple(
        TreatyName(
            treaty=r["treaty"],
            language=r["language"],
            form=r["form"],
            case=r["case"],
            gender=r["grammatical_gender"],
            article=r["article"],
            name=r["name"],
            status=r["status"],
        )
        for r in _rows("treaty_names.csv")
    )


@cache
def meeting_names() -> tuple[MeetingName, ...]:
    return tuple(
        MeetingName(
            treaty=r["treaty"],
            kind=r["kind"],
            number=int(r["number"]) if r["number"] else None,
            language=r["language"],
            case=r["case"],
            pattern=r["pattern"],
            status=r["status"],
        )
        for r in _rows("meeting_names.csv")
    )


@cache
def city_names() -> dict[tuple[str, str], str]:
    """(English key, language) -> name."""
    return {(r["city"], r["language"]): r["name"] for r in _rows("city_names.csv")}


@cache
def country_names() -> dict[tuple[str, str, str], CountryName]:
    """(iso3, language, form) -> row; form is formal, short (fr/es articles) or short_un."""
    return {
        (r["iso3"], r["language"], r["form"]): CountryName(
            iso3=r["iso3"],
            language=r["language"],
            form=r["form"],
            name=r["name"],
            article=r["article"],
            gender=r["gender"],
            status=r["status"],
        )
        for r in _rows("countries.csv")
    }


@cache
def ordinals() -> dict[tuple[str, str, str, int], str]:
    """(language, gender, case, number) -> ordinal word(s) as used in meeting names."""
    return {
        (r["language"], r["gender"], r["case"], int(r["number"])): r["ordinal"]
        for r in _rows("ordinals.csv")
    }


@cache
def russian_exceptions() -> dict[str, dict[str, str]]:
    """Nominative -> {case: form} for names the morphological analyser gets wrong."""
    return {r["nominative"]: {c: r[c] for c in CASES} for r in _rows("russian_exceptions.csv")}
