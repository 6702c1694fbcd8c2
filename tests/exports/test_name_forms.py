"""Names in other scripts in vCards: alternatives of FN, N and ORG (RFC 6350 ALTID and
LANGUAGE), the same from the fast lane and the general path."""

from __future__ import annotations

import vobject
from sqlalchemy.orm import Session
from vobject.base import Component, ContentLine
from vobject.vcard import Name

from tests.exports.conftest import Directory
from tests.exports.test_vcards import segment_cards

FORMS = {
    "ru": {"given": "Сироджиддин", "patronymic": "Мухриддинович", "family": "Мухриддин"},
    "zh": {"given": "西罗吉丁", "family": "穆赫里丁"},
}


def _lines(card: Component, name: str) -> list[ContentLine]:
    """A card's lines of one property (vobject's types allow a nested component there)."""
    lines = card.contents[name]
    assert all(isinstance(line, ContentLine) for line in lines), name
    return [line for line in lines if isinstance(line, ContentLine)]


def test_cards_carry_the_name_forms_in_both_lanes(db: Session, directory: Directory) -> None:
    directory.russian.name_forms = FORMS  # a person of the fast lane
    directory.ministry.name_forms = {"ru": "Министерство иностранных дел", "de": "ignored"}
    db.flush()
    cards = {c.uid.value: c for c in vobject.readComponents(segment_cards(db, directory))}
    card = cards[f"urn:demarche:person:{directory.russian.id}"]
    names = {n.params.get("LANGUAGE", [""])[0]: n for n in _lines(card, "n")}
    assert set(names) == {"", "ru", "zh"}
    assert all(n.params["ALTID"] == ["1"] for n in names.values())
    ru = names["ru"].value
    assert isinstance(ru, Name)  # N is parsed into its parts
    assert (ru.family, ru.given, ru.additional) == ("Мухриддин", "Сироджиддин", "Мухриддинович")
    full = {f.params.get("LANGUAGE", [""])[0]: f.value for f in _lines(card, "fn")}
    assert full["ru"] == "Сироджиддин Мухриддинович Мухриддин"
    assert full["zh"] == "西罗吉丁·穆赫里丁"
    # the ministry, addressed to its minister (the general path)
    office = cards[f"urn:demarche:organisation:{directory.ministry.id}"]
    orgs = {o.params.get("LANGUAGE", [""])[0]: o.value for o in _lines(office, "org")}
    assert orgs["ru"] == ["Министерство иностранных дел"] and "de" not in orgs
    # a card without forms has no alternatives
    other = cards[f"urn:demarche:person:{directory.formula.id}"]
    assert "ALTID" not in other.serialize()
