"""Address blocks by destination country and salutations by language."""

from __future__ import annotations

import pytest

from app.contacts.addressing import Addressee, address_lines, salutation
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
    japanese = address_lines(name_lines=["Jane Doe"], country_code="JP", language="ja", **fields)
    assert english[0] == "Jane Doe" and english[-1] == "JAPAN"
    assert japanese[0] == "〒100-8919" and japanese[-2] == "Jane Doe"


def test_unknown_country_code_falls_back_to_a_plain_block() -> None:
    lines = address_lines(
        name_lines=["Jane"], street_address="1 Road", city="Town", country_code="ZZ"
    )
    assert lines == ["Jane", "1 Road", "Town"]


PRESIDENT = {
    "honorific": "H.E.",
    "given_name": "Emomali",
    "family_name": "Rahmon",
    "title": "President of the Republic of Tajikistan",
}


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Excellency,"),
        ("fr", "Excellence,"),
        ("es", "Excelencia:"),
        ("ru", "Ваше Превосходительство!"),
    ],
)
def test_head_of_state_with_excellency(language: str, expected: str) -> None:
    who = Addressee(
        **PRESIDENT,
        gender=Gender.masculine,
        organisation_type=OrganisationType.head_of_state_office,
    )
    assert salutation(who, language) == expected


@pytest.mark.parametrize(
    ("language", "gender", "expected"),
    [
        ("en", Gender.unspecified, "Dear President Rahmon,"),
        ("fr", Gender.masculine, "Monsieur le Président,"),
        ("fr", Gender.feminine, "Madame la Présidente,"),
        ("fr", Gender.unspecified, "Madame, Monsieur,"),
        ("es", Gender.masculine, "Señor Presidente:"),
        ("es", Gender.feminine, "Señora Presidenta:"),
        ("ru", Gender.masculine, "Уважаемый господин Президент,"),
        ("ru", Gender.feminine, "Уважаемая госпожа Президент,"),
    ],
)
def test_president_without_excellency(language: str, gender: Gender, expected: str) -> None:
    who = Addressee(
        **{**PRESIDENT, "honorific": ""},
        gender=gender,
        organisation_type=OrganisationType.government,
    )
    assert salutation(who, language) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Dear Minister Rehman,"),
        ("fr", "Madame la Ministre,"),
        ("es", "Señora Ministra:"),
        ("ru", "Уважаемая госпожа Министр,"),
    ],
)
def test_minister(language: str, expected: str) -> None:
    who = Addressee(
        honorific="H.E.",
        given_name="Sadia",
        family_name="Rehman",
        title="Minister of Foreign Affairs",
        gender=Gender.feminine,
        organisation_type=OrganisationType.ministry,
    )
    assert salutation(who, language) == expected


@pytest.mark.parametrize(
    ("language", "gender", "expected"),
    [
        ("en", Gender.masculine, "Dear Mr Farooqi,"),
        ("fr", Gender.masculine, "Monsieur,"),
        ("es", Gender.masculine, "Estimado señor Farooqi:"),
        ("ru", Gender.masculine, "Уважаемый господин Farooqi,"),
        ("ru", Gender.unspecified, "Уважаемый(-ая) Imran Farooqi,"),
        ("es", Gender.unspecified, "De mi consideración:"),
    ],
)
def test_plain_honorific(language: str, gender: Gender, expected: str) -> None:
    who = Addressee(
        honorific="Mr",
        given_name="Imran",
        family_name="Farooqi",
        title="Counsellor",
        gender=gender,
        organisation_type=OrganisationType.embassy,
    )
    assert salutation(who, language) == expected
