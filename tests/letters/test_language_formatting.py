"""Counts with plural agreement, dates and the place-and-date line."""

from datetime import date

import pytest

from app.letters.language import count, date_line, format_date

NBSP = "\u00a0"
NUMBERS = (1, 2, 5, 11, 21, 22, 25, 101, 192)
DAYS = {
    "ru": [
        "1 день",
        "2 дня",
        "5 дней",
        "11 дней",
        "21 день",
        "22 дня",
        "25 дней",
        "101 день",
        "192 дня",
    ],
    "en": [
        "1 day",
        "2 days",
        "5 days",
        "11 days",
        "21 days",
        "22 days",
        "25 days",
        "101 days",
        "192 days",
    ],
    "fr": [
        "1 jour",
        "2 jours",
        "5 jours",
        "11 jours",
        "21 jours",
        "22 jours",
        "25 jours",
        "101 jours",
        "192 jours",
    ],
    "es": [
        "1 día",
        "2 días",
        "5 días",
        "11 días",
        "21 días",
        "22 días",
        "25 días",
        "101 días",
        "192 días",
    ],
    # CLDR: one and two by the noun alone (singular, dual), 3–10 plural, 11–99 accusative
    # singular with tanwin, 101 singular.
    "ar": [
        "يوم",
        "يومان",
        "5 أيام",
        "11 يومًا",
        "21 يومًا",
        "22 يومًا",
        "25 يومًا",
        "101 يوم",
        "192 يومًا",
    ],
    "zh": ["1天", "2天", "5天", "11天", "21天", "22天", "25天", "101天", "192天"],
}


@pytest.mark.parametrize("lang", sorted(DAYS))
def test_days_agree_with_the_number(lang: str) -> None:
    expected = [text.replace(" ", NBSP) for text in DAYS[lang]]
    assert [count(n, "day", lang) for n in NUMBERS] == expected


def test_other_units() -> None:
    assert count(3, "month", "ru") == f"3{NBSP}месяца"
    assert count(5, "year", "ru") == f"5{NBSP}лет"
    assert count(1, "week", "fr") == f"1{NBSP}semaine"
    assert count(2, "year", "es") == f"2{NBSP}años"


def test_bad_input_gives_nothing() -> None:
    assert count(5, "fortnight", "en") == ""
    assert count(5, "day", "de") == ""
    assert count(10**12, "day", "en") == ""


DATES = {
    "en": "1 May 2010",
    "fr": "1er mai 2010",
    "es": "1 de mayo de 2010",
    "ru": "1 мая 2010 г.",
    "ar": "1 مايو 2010",
    "zh": "2010年5月1日",
}


@pytest.mark.parametrize("lang", sorted(DATES))
def test_dates(lang: str) -> None:
    got = format_date(date(2010, 5, 1), lang)
    assert got.replace(NBSP, " ") == DATES[lang]


def test_no_break_spaces_keep_day_and_month_together() -> None:
    assert format_date(date(2010, 8, 1), "fr") == f"1er{NBSP}août 2010"
    assert format_date(date(2010, 8, 9), "fr") == f"9{NBSP}août 2010"
    assert format_date(date(2010, 11, 9), "en") == f"9{NBSP}November 2010"
    assert format_date(date(2010, 11, 9), "es") == f"9{NBSP}de{NBSP}noviembre de 2010"
    assert format_date(date(2010, 11, 9), "ru") == f"9{NBSP}ноября 2010{NBSP}г."
    assert format_date(date(2010, 11, 9), "ar") == f"9{NBSP}نوفمبر 2010"


def test_only_the_first_is_an_ordinal_in_french() -> None:
    assert format_date(date(2010, 5, 2), "fr").startswith(f"2{NBSP}mai")
    assert format_date(date(2010, 5, 21), "fr").startswith(f"21{NBSP}mai")


LINES = {
    "en": "Geneva, 1 May 2010",
    "fr": "Genève, le 1er mai 2010",
    "es": "Ginebra, 1 de mayo de 2010",
    "ru": "Женева, 1 мая 2010 г.",
    "ar": "جنيف، في 1 مايو 2010",
    "zh": "2010年5月1日于日内瓦",
}


@pytest.mark.parametrize("lang", sorted(LINES))
def test_date_line(lang: str) -> None:
    assert date_line("Geneva", date(2010, 5, 1), lang).replace(NBSP, " ") == LINES[lang]


def test_date_line_without_a_known_city_is_the_date_alone() -> None:
    assert date_line("Atlantis", date(2010, 5, 1), "ru").replace(NBSP, " ") == "1 мая 2010 г."
