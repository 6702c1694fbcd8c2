"""The shipped name tables: every row loads, and no English stands in for a missing form."""

import csv
import re
from pathlib import Path

import pytest

from app.letters.language import (
    city_name,
    country_name,
    meeting_label,
    meeting_name,
    ordinal,
    parse_meeting,
    treaty_name,
)
from app.letters.language.data import (
    DATA,
    LANGUAGES,
    city_names,
    country_names,
    meeting_names,
    ordinals,
    treaty_names,
)

ROOT = Path(__file__).resolve().parents[2]
STATES = ROOT / "app/treaties/data/states_treaty_status.csv"
MEETINGS = ROOT / "app/treaties/data/meetings.csv"
LATIN = re.compile(r"[A-Za-z]")


def _csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _states() -> list[str]:
    with STATES.open(encoding="utf-8") as fh:
        return [row["iso3"] for row in csv.DictReader(fh)]


def test_every_row_loads() -> None:
    assert len(treaty_names()) == len(_csv("treaty_names.csv")) == 57
    assert len(meeting_names()) == len(_csv("meeting_names.csv")) == 506
    assert len(city_names()) == len(_csv("city_names.csv")) == 156
    assert len(ordinals()) == len(_csv("ordinals.csv"))
    assert len(country_names()) == len(_csv("countries.csv"))


def test_every_data_row_has_a_source_and_a_status() -> None:
    for name in (
        "treaty_names.csv",
        "meeting_names.csv",
        "city_names.csv",
        "countries.csv",
        "ordinals.csv",
    ):
        for row in _csv(name):
            assert row["source"].strip(), (name, row)
            assert row["status"] in {
                "verified",
                "unverified",
                "missing",
                "generated",
                "corrected",
            }, (name, row)


def test_missing_rows_are_empty_and_say_so() -> None:
    for row in _csv("countries.csv"):
        assert (row["status"] == "missing") == (row["name"] == ""), row


def test_every_city_row_is_returned() -> None:
    for row in _csv("city_names.csv"):
        assert city_name(row["city"], row["language"]) == row["name"]


def test_every_numbered_meeting_row_is_returned() -> None:
    for row in _csv("meeting_names.csv"):
        if row["number"]:
            got = meeting_name(
                row["treaty"], row["kind"], int(row["number"]), row["language"], row["case"]
            )
            assert got == row["pattern"]


def test_ordinals_rebuild_the_numbered_rows_from_the_templates() -> None:
    """The ordinal data agrees with every meeting name the sources give in full."""
    templates = {
        (r["treaty"], r["kind"], r["language"], r["case"]): r["pattern"]
        for r in _csv("meeting_names.csv")
        if not r["number"]
    }
    gender = {
        "ru": {"msp": "n", "rc": "f"},
        "fr": {"msp": "f", "rc": "f"},
        "es": {"msp": "f", "rc": "f"},
        "ar": {"msp": "m", "rc": "m"},
    }
    for r in _csv("meeting_names.csv"):
        if not r["number"]:
            continue
        g = gender.get(r["language"], {}).get(r["kind"], "")
        word = ordinal(int(r["number"]), r["language"], g, r["case"])
        template = templates[(r["treaty"], r["kind"], r["language"], r["case"])]
        assert template.replace("{ordinal}", word) == r["pattern"], r


def test_every_state_has_a_short_name_in_every_language() -> None:
    states = _states()
    assert len(states) == 197
    for iso3 in states:
        for lang in LANGUAGES:
            assert country_name(iso3, lang), (iso3, lang)


FORMAL = {
    "TJK": [
        "Republic of Tajikistan",
        "République du Tadjikistan",
        "República de Tayikistán",
        "Республика Таджикистан",
        "جمهورية طاجيكستان",
        "塔吉克斯坦共和国",
    ],
    "LAO": [
        "Lao People's Democratic Republic",
        "République démocratique populaire lao",
        "República Democrática Popular Lao",
        "Лаосская Народно-Демократическая Республика",
        "جمهورية لاو الديمقراطية الشعبية",
        "老挝人民民主共和国",
    ],
}
REQUIRED = [
    "TJK",
    "KAZ",
    "PAK",
    "ZAF",
    "RUS",
    "FRA",
    "LAO",
    "NOR",
    "IRL",
    "USA",
    "CHN",
    "EGY",
    "MEX",
    "BRA",
    "UZB",
    "KGZ",
    "TKM",
    "AFG",
    "IRN",
    "SAU",
]


@pytest.mark.parametrize("iso3", sorted(FORMAL))
def test_formal_names(iso3: str) -> None:
    assert [country_name(iso3, lang, "formal") for lang in LANGUAGES] == FORMAL[iso3]


def test_required_states_have_formal_names_in_six_languages() -> None:
    for iso3 in REQUIRED:
        for lang in LANGUAGES:
            row = country_names()[(iso3, lang, "formal")]
            assert row.status == "verified" and row.name, (iso3, lang)


def test_missing_formal_name_is_empty_not_english() -> None:
    assert country_names()[("TUR", "fr", "formal")].status == "missing"
    assert country_name("TUR", "fr", "formal") == ""
    assert country_name("TUR", "ru", "formal", "dative") == ""
    assert country_name("TUR", "fr") == "Turquie"


def test_no_english_where_a_non_latin_language_lacks_a_form() -> None:
    for lang in ("ru", "ar", "zh"):
        for iso3 in _states():
            assert not LATIN.search(country_name(iso3, lang, "formal")), (iso3, lang)
        assert treaty_name("CCM", lang, "abbreviation") == ""
        assert not LATIN.search(city_name("Geneva", lang))
        assert city_name("Atlantis", lang) == ""
        assert meeting_name("CCM", "msp", 41, lang) == ""


def test_treaty_forms() -> None:
    assert treaty_name("CCM", "en", "abbreviation") == "CCM"
    assert treaty_name("CCM", "es", "abbreviation") == "CMR"
    assert treaty_name("CCM", "fr", "abbreviation") == ""
    assert treaty_name("MBT", "fr", "short") == "Convention d'Ottawa"
    assert treaty_name("MBT", "zh", "abbreviation") == "禁雷公约"
    assert treaty_name("XYZ", "en") == ""


def test_meeting_names_beyond_the_data() -> None:
    assert meeting_name("CCM", "msp", 14, "en") == (
        "Fourteenth Meeting of States Parties to the Convention on Cluster Munitions"
    )
    assert meeting_name("MBT", "msp", 23, "es").startswith("Vigésima Tercera Reunión")
    assert meeting_name("MBT", "msp", 31, "fr").startswith("trente et unième Assemblée")
    assert meeting_name("CCM", "msp", 14, "ar").startswith("الاجتماع الرابع عشر ")
    assert meeting_name("CCM", "msp", 14, "zh") == "集束弹药公约缔约国第十四次会议"


def test_labels_and_parsing() -> None:
    assert meeting_label("msp", 1) == "1MSP"
    assert meeting_label("rc", 2) == "2RC"
    with MEETINGS.open(encoding="utf-8") as fh:
        records = [row["meeting"] for row in csv.DictReader(fh)]
    parsed = [parse_meeting(name) for name in records]
    assert all(parsed), records
    assert parse_meeting("1MSP (First Meeting of States Parties)") == parse_meeting("1MSP")
    ref = parse_meeting("2RC part 1 (held fully virtually)")
    assert ref is not None and (ref.kind, ref.number) == ("rc", 2)
    ref = parse_meeting("Twenty-Second Meeting of the States Parties to the Convention")
    assert ref is not None and (ref.kind, ref.number) == ("msp", 22)
    ref = parse_meeting("First Review Conference of the Convention on Cluster Munitions")
    assert ref is not None and (ref.kind, ref.number) == ("rc", 1)
    assert parse_meeting("Intersessional meetings") is None


def test_cities_beyond_the_file_come_from_cldr() -> None:
    assert city_name("Paris", "ru") == "Париж"
    assert city_name("Tokyo", "zh") == "东京"
    assert city_name("Paris", "fr") == "Paris"
    assert city_name("Geneva", "fr") == "Genève"
