"""vCards read back with vobject: every field a card carries, in both lanes of an export."""

from __future__ import annotations

import pytest
import vobject
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.exports import service
from app.exports.schemas import ExportRequest
from app.exports.vcards import address_of, vcard_of
from app.models import Country, Organisation
from tests.exports.conftest import Directory
from tests.exports.test_flat import _both


def _card(text: str, uid: str) -> vobject.base.Component:
    return next(c for c in vobject.readComponents(text) if c.uid.value == uid)


def segment_cards(db: Session, directory: Directory) -> str:
    """The segment's vCards (do-not-contact flags ignored), the same from both lanes."""
    req = ExportRequest(
        source="segment",
        segment_id=directory.segment.id,
        format="vcard",
        include_do_not_contact=True,
    )
    fast, slow = _both(db, req, service.select_contacts(db, req))
    assert fast == slow
    return fast


@pytest.fixture
def cards(db: Session, directory: Directory, tricky: list[int]) -> str:
    return segment_cards(db, directory)


def test_a_person_in_cyrillic_reads_back_field_by_field(cards: str, directory: Directory) -> None:
    card = _card(cards, f"urn:demarche:person:{directory.russian.id}")
    assert card.version.value == "4.0"
    assert card.kind.value == "individual"
    assert card.fn.value == "Мария Иванова"
    assert (card.n.value.family, card.n.value.given) == ("Иванова", "Мария")
    assert card.email.value == "maria@example.org"
    assert card.email.params["TYPE"] == ["work"]
    adr = card.adr.value
    assert (adr.street, adr.city, adr.region, adr.code, adr.country) == (
        "ул. Тверская, 13",
        "Москва",
        "Москва",
        "125009",
        "RU",
    )


def test_a_name_only_in_arabic_is_the_formatted_name(cards: str, directory: Directory) -> None:
    card = _card(cards, f"urn:demarche:person:{directory.arabic.id}")
    assert card.fn.value == "ليلى الحسن"
    assert card.adr.value.city == "القاهرة" and card.adr.value.country == "EG"


def test_an_embassy_is_addressed_in_its_host_country(
    db: Session, cards: str, tricky: list[int]
) -> None:
    embassy = db.scalar(
        select(Organisation).where(Organisation.name == "Embassy of Tajikistan in Berlin")
    )
    assert embassy is not None
    assert db.scalar(select(Country.iso2).where(Country.id == embassy.country_id)) == "TJ"
    office = _card(cards, f"urn:demarche:organisation:{embassy.id}")
    assert office.kind.value == "org"
    assert office.org.value == ["Embassy of Tajikistan in Berlin"]
    assert office.tel.value == "tel:+49303479300"
    assert office.tel.params == {"TYPE": ["work"], "VALUE": ["uri"]}
    assert office.email.value == "-embassy@example.org"
    assert (office.adr.value.street, office.adr.value.city, office.adr.value.country) == (
        "Perleberger Str. 43",
        "Berlin",
        "DE",
    )
    # a diplomat of the embassy, from the fast lane, at the same address
    diplomat = _card(cards, f"urn:demarche:person:{tricky[1]}")
    assert diplomat.title.value == "First Secretary"
    assert diplomat.org.value == ["Embassy of Tajikistan in Berlin"]
    assert (diplomat.adr.value.city, diplomat.adr.value.country) == ("Berlin", "DE")


def test_every_field_of_a_card_survives_the_round_trip() -> None:
    long_cyrillic = "Сироҷиддин Муҳриддин, Министр; иностранных дел"
    text = vcard_of(
        kind="person",
        id=7,
        person=True,
        honorific="H.E. Mr",
        given_name="Сироҷиддин",
        family_name="Муҳриддин",
        display_name=long_cyrillic,
        native_name="Сироҷиддин",
        organisation="Министерство иностранных дел",
        title="Министр, глава\\ведомства",
        email="minister@mfa.tj",
        phone="+992372211808",
        address=address_of("33 Sheroz, Street; 2", "Душанбе", None, "734051", "TJ"),
        language="tg",
        name_forms={"zh": {"given": "西罗吉丁", "family": "穆赫里丁"}},
        organisation_forms={"ar": "وزارة الخارجية"},
    )
    # a line shorter than 75 characters but longer than 75 octets is folded too
    assert len("FN;ALTID=1:" + long_cyrillic) < 75 < len(("FN;ALTID=1:" + long_cyrillic).encode())
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    card = vobject.readOne(text)
    full = {f.params.get("LANGUAGE", [""])[0]: f.value for f in card.contents["fn"]}
    assert full == {"": long_cyrillic, "zh": "西罗吉丁·穆赫里丁"}
    n = card.n.value
    assert (n.family, n.given, n.additional, n.prefix, n.suffix) == (
        "Муҳриддин",
        "Сироҷиддин",
        "",
        "H.E. Mr",
        "",
    )
    orgs = {o.params.get("LANGUAGE", [""])[0]: o.value for o in card.contents["org"]}
    assert orgs == {"": ["Министерство иностранных дел"], "ar": ["وزارة الخارجية"]}
    assert card.title.value == "Министр, глава\\ведомства"
    assert card.nickname.value == card.x_native_name.value == "Сироҷиддин"
    adr = card.adr.value
    assert (adr.street, adr.city, adr.region, adr.code, adr.country) == (
        "33 Sheroz, Street; 2",
        "Душанбе",
        "",
        "734051",
        "TJ",
    )
    assert card.lang.value == "tg"
    assert card.tel.value == "tel:+992372211808"
