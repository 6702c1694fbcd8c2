"""Address blocks by destination country and salutations by language."""

from __future__ import annotations

from typing import TypedDict

import pytest

from app.contacts.addressing import (
    Addressee,
    Postal,
    address_block,
    address_lines,
    postal_lines,
    salutation,
)
from app.models import Gender, OrganisationType


def _lines(cc: str, **fields: str) -> list[str]:
    return address_lines(name_lines=["Ministry", "Jane Doe"], country_code=cc, **fields)


def test_us_address_puts_city_state_and_zip_on_one_line() -> None:
    lines = _lines(
        "US",
        street_address="3517 International Court, N.W.",
        city="Washington",
        country_area="DC",
        postal_code="20008",
    )
    assert lines == [
        "Jane Doe",
        "Ministry",
        "3517 International Court, N.W.",
        "WASHINGTON, DC 20008",
        "UNITED STATES",
    ]


def test_gb_address_puts_postcode_on_its_own_line() -> None:
    lines = _lines(
        "GB", street_address="King Charles Street", city="London", postal_code="SW1A 2AH"
    )
    assert lines[-3:] == ["LONDON", "SW1A 2AH", "UNITED KINGDOM"]


def test_de_address_puts_postcode_before_city() -> None:
    lines = _lines("DE", street_address="Werderscher Markt 1", city="Berlin", postal_code="10117")
    assert lines[-2:] == ["10117 BERLIN", "GERMANY"]


def test_ch_address_prefixes_postcode_and_puts_organisation_first() -> None:
    lines = _lines("CH", street_address="19 Avenue de la Paix", city="Genève", postal_code="1202")
    assert lines[0] == "Ministry"
    assert "CH-1202 Genève" in lines


def test_tj_address_follows_postcode_city_order() -> None:
    lines = _lines("TJ", street_address="80 Rudaki Avenue", city="Dushanbe", postal_code="734023")
    assert lines[-3:] == ["80 Rudaki Avenue", "734023 DUSHANBE", "TAJIKISTAN"]


def test_jp_address_is_latinised_for_an_english_reader_and_local_order_otherwise() -> None:
    fields = {
        "street_address": "2-2-1 Kasumigaseki",
        "country_area": "Tokyo",
        "postal_code": "100-8919",
    }
    english = address_lines(name_lines=["Jane Doe"], country_code="JP", language="en", **fields)
    assert english[0] == "Jane Doe" and english[-1] == "JAPAN"
    # Written in Latin letters, the address keeps the latin order for any reader; written in
    # the country's script, it takes the local order (postcode first, the addressee last).
    latin = address_lines(name_lines=["Jane Doe"], country_code="JP", language="ja", **fields)
    assert latin == english
    local = {"street_address": "霞が関2-2-1", "country_area": "東京都", "postal_code": "100-8919"}
    japanese = address_lines(name_lines=["山田花子"], country_code="JP", language="ja", **local)
    assert japanese[0] == "〒100-8919" and japanese[-2] == "山田花子"


def test_unknown_country_code_falls_back_to_a_plain_block() -> None:
    lines = address_lines(
        name_lines=["Jane"], street_address="1 Road", city="Town", country_code="ZZ"
    )
    assert lines == ["Jane", "1 Road", "Town"]


class _Name(TypedDict):
    honorific: str
    given_name: str
    family_name: str
    title: str


PRESIDENT: _Name = {
    "honorific": "H.E.",
    "given_name": "Emomali",
    "family_name": "Rahmon",
    "title": "President of the Republic of Tajikistan",
}


RAHMON_FORMS = {
    "ru": {"given": "Эмомали", "family": "Рахмон"},
    "ar": {"given": "إمام علي", "family": "رحمان"},
    "zh": {"given": "埃莫马利", "family": "拉赫蒙"},
}


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Excellency,"),
        ("fr", "Monsieur le Président de la République,"),
        ("es", "Excelencia:"),
        ("ru", "Ваше Превосходительство!"),
        ("ar", "فخامة الرئيس،"),
        ("zh", "尊敬的拉赫蒙总统阁下："),
    ],
)
def test_head_of_state_by_protocol_in_six_languages(language: str, expected: str) -> None:
    who = Addressee(
        **PRESIDENT,
        gender=Gender.masculine,
        organisation_type=OrganisationType.head_of_state_office,
        country_iso3="TJK",
        name_forms=RAHMON_FORMS,
    )
    assert salutation(who, language) == expected


@pytest.mark.parametrize(
    ("language", "gender", "expected"),
    [
        ("fr", Gender.masculine, "Monsieur le Président de la République,"),
        ("fr", Gender.feminine, "Madame la Présidente de la République,"),
        ("fr", Gender.unspecified, "Excellence,"),
        ("ru", Gender.unspecified, "Ваше Превосходительство!"),
    ],
)
def test_an_unknown_gender_gets_a_neutral_form_never_a_slash(
    language: str, gender: Gender, expected: str
) -> None:
    who = Addressee(
        **(PRESIDENT | {"honorific": ""}),
        gender=gender,
        organisation_type=OrganisationType.government,
        country_iso3="TJK",
    )
    text = salutation(who, language)
    assert text == expected and "(-" not in text


@pytest.mark.parametrize(
    ("language", "style", "expected"),
    [
        ("en", "formal", "Excellency,"),
        ("en", "personal", "Dear Minister Rehman,"),
        ("fr", "formal", "Madame la Ministre,"),
        ("es", "personal", "Señora Ministra:"),
    ],
)
def test_minister_in_both_styles(language: str, style: str, expected: str) -> None:
    who = Addressee(
        honorific="H.E.",
        given_name="Sadia",
        family_name="Rehman",
        title="Minister of Foreign Affairs",
        gender=Gender.feminine,
        organisation_type=OrganisationType.ministry,
        country_iso3="PAK",
    )
    assert salutation(who, language, style) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Dear Mr Farooqi,"),
        ("fr", "Monsieur,"),
        ("es", "Estimado señor Farooqi:"),
        ("ru", "Уважаемый господин Farooqi!"),
    ],
)
def test_an_official_by_honorific_and_name(language: str, expected: str) -> None:
    who = Addressee(
        honorific="Mr",
        given_name="Imran",
        family_name="Farooqi",
        title="Counsellor",
        gender=Gender.unspecified,
        organisation_type=OrganisationType.embassy,
    )
    assert salutation(who, language) == expected


def test_an_office_without_holder_is_greeted_by_its_title() -> None:
    who = Addressee(
        honorific="",
        given_name="",
        family_name="",
        gender=Gender.unspecified,
        title="President of the Republic of South Africa",
        organisation_type=OrganisationType.head_of_state_office,
        country_iso3="ZAF",
        has_holder=False,
    )
    assert salutation(who, "en") == "Excellency,"
    assert salutation(who, "ru") == "Ваше Превосходительство!"
    assert "President" not in salutation(who, "fr")


@pytest.mark.parametrize(
    ("country", "parts", "line"),
    [
        # "%C-%S" with no state
        ("BR", {"city": "Brasília", "postal_code": "70170-900"}, "BRASÍLIA"),
        ("BR", {"city": "Brasília", "country_area": "DF"}, "BRASÍLIA-DF"),
        # "CH-%Z %C" with no postal code
        ("CH", {"city": "Bern"}, "Bern"),
        # "%C, %S %Z" with no state: the separator after the city stays
        ("US", {"city": "Washington", "postal_code": "20008"}, "WASHINGTON, 20008"),
        ("US", {"country_area": "DC", "postal_code": "20008"}, "DC 20008"),
        # "%C-%Z" with no postal code
        ("PK", {"city": "Islamabad"}, "ISLAMABAD"),
        # "%Z %C%n%S" with no postal code
        ("AR", {"city": "Buenos Aires", "country_area": "CABA"}, "BUENOS AIRES"),
        ("TR", {"postal_code": "06100", "country_area": "Ankara"}, "06100 Ankara"),
    ],
)
def test_a_missing_part_takes_its_separator_with_it(
    country: str, parts: dict[str, str], line: str
) -> None:
    postal = Postal(street_address="1 Main Street", country_code=country, **parts)
    lines = postal_lines(postal, language="en")
    assert line in lines
    assert not any(x.endswith(("-", ",", "/")) or x.startswith(("-", ",")) for x in lines)


def test_japanese_block_keeps_the_postal_mark_only_with_a_postal_code() -> None:
    with_code = Postal(street_address="2-2-1", country_area="東京都", postal_code="100-8919")
    without = Postal(street_address="2-2-1", country_area="東京都")
    jp = {"country_code": "JP"}
    assert postal_lines(Postal(**{**with_code.as_dict(), **jp}), language="ja")[0] == "〒100-8919"
    lines = postal_lines(Postal(**{**without.as_dict(), **jp}), language="ja")
    assert not any("〒" in x for x in lines)


def test_protocol_name_lines_go_where_the_country_puts_the_recipient() -> None:
    names = ["His Excellency", "Mr Emomali Rahmon", "President of the Republic of Tajikistan"]
    tj = Postal(street_address="80 Rudaki Avenue", city="Dushanbe", postal_code="734023")
    tj = Postal(**{**tj.as_dict(), "country_code": "TJ"})
    assert address_block(names, tj, language="en") == [
        *names,
        "80 Rudaki Avenue",
        "734023 DUSHANBE",
        "TAJIKISTAN",
    ]
    kz = Postal(street_address="пр. Мәңгілік Ел, 8", city="Астана", postal_code="010000")
    kz = Postal(**{**kz.as_dict(), "country_code": "KZ"})
    # Kazakhstan's format writes the recipient last
    assert address_block(names, kz, language="ru")[-len(names) - 1 : -1] == names
