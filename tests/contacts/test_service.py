"""The contacts service: recipients, office holders by date, search, optimistic locking."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from app.contacts import recipients, service
from app.contacts import search as contacts_search
from app.contacts.schemas import ContactPointCreate, PersonUpdate, SearchFilters
from app.errors import Conflict
from tests.factories import make_organisation, make_person, make_position


def _postal(db: Session, **owner: int) -> None:
    service.create_contact_point(
        db,
        data=ContactPointCreate(
            kind="postal",
            street_address="80 Rudaki Avenue",
            city="Dushanbe",
            postal_code="734023",
            country_code="TJ",
            preferred=True,
            **owner,
        ),
        actor=None,
    )


def test_office_resolves_to_its_holder_on_the_date(db: Session) -> None:
    mfa = make_organisation(db, office_title="Minister of Foreign Affairs", country="PAK")
    old = make_person(db, given_name="Old", family_name="Holder")
    new = make_person(db, given_name="New", family_name="Holder")
    make_position(
        db,
        old,
        mfa,
        title="Minister of Foreign Affairs",
        start_date=date(2018, 1, 1),
        end_date=date(2022, 6, 30),
    )
    make_position(db, new, mfa, title="Minister of Foreign Affairs", start_date=date(2022, 7, 1))

    assert (
        recipients.recipient(db, organisation_id=mfa.id, on=date(2020, 5, 1)).family_name
        == "Holder"
    )
    assert recipients.recipient(db, organisation_id=mfa.id, on=date(2020, 5, 1)).given_name == "Old"
    assert recipients.recipient(db, organisation_id=mfa.id, on=date(2024, 1, 1)).given_name == "New"
    vacant = recipients.recipient(db, organisation_id=mfa.id, on=date(2017, 1, 1))
    assert vacant.person_id is None
    assert vacant.display_name == "The Minister of Foreign Affairs"
    assert vacant.country_iso3 == "PAK"


def test_a_new_holder_does_not_rewrite_history(db: Session) -> None:
    mfa = make_organisation(db, office_title="Minister")
    first = make_person(db, given_name="First")
    pos = make_position(db, first, mfa, title="Minister", start_date=date(2010, 1, 1))
    pos.end_date = date(2015, 1, 1)
    make_position(
        db, make_person(db, given_name="Second"), mfa, title="Minister", start_date=date(2015, 1, 2)
    )
    assert (
        recipients.recipient(db, organisation_id=mfa.id, on=date(2012, 1, 1)).given_name == "First"
    )
    assert recipients.recipient(db, person_id=first.id, on=date(2020, 1, 1)).title == ""


def test_recipient_for_head_of_state(db: Session) -> None:
    office = make_organisation(
        db, name="Executive Office of the President", type="head_of_state_office", country="TJ"
    )
    rahmon = make_person(
        db,
        honorific="H.E.",
        given_name="Emomali",
        family_name="Rahmon",
        native_name="Эмомали Рахмон",
        gender="masculine",
        preferred_language="ru",
    )
    make_position(
        db,
        rahmon,
        office,
        title="President of the Republic of Tajikistan",
        start_date=date(1994, 11, 16),
        is_office_holder=True,
    )
    _postal(db, organisation_id=office.id)

    r = recipients.recipient(db, person_id=rahmon.id, language="en")
    assert r.salutation == "Excellency,"
    assert r.salutations["ru"] == "Ваше Превосходительство!"
    assert r.native_name == "Эмомали Рахмон"
    assert r.country_name == "Tajikistan"
    assert r.address_lines == (
        "H.E. Emomali Rahmon",
        "President of the Republic of Tajikistan",
        "Executive Office of the President",
        "80 Rudaki Avenue",
        "734023 DUSHANBE",
        "TAJIKISTAN",
    )
    assert recipients.recipient(db, person_id=rahmon.id).language == "ru"


def test_salutation_override_wins_for_its_language(db: Session) -> None:
    person = make_person(
        db, honorific="Dr", family_name="Okafor", salutation_overrides={"en": "Dear Chidi,"}
    )
    r = recipients.recipient(db, person_id=person.id)
    assert r.salutation == "Dear Chidi,"
    assert r.salutations["fr"] == "Madame, Monsieur,"


def test_do_not_contact_flags_come_from_person_or_organisation(db: Session) -> None:
    org = make_organisation(db, no_post=True)
    person = make_person(db, no_email=True)
    make_position(db, person, org)
    r = recipients.recipient(db, person_id=person.id)
    assert (r.no_email, r.no_post) == (True, True)


def test_search_is_accent_insensitive_and_finds_native_script(db: Session) -> None:
    person = make_person(
        db, given_name="Émomalî", family_name="Rahmonov", native_name="Эмомали Рахмонов"
    )
    for query in ("emomali", "RAHMONOV", "Рахмонов", "эмомали рахм"):
        hits = contacts_search.search(db, SearchFilters(q=query))
        assert [h.id for h in hits.items if h.kind == "person"] == [person.id], query
    assert contacts_search.search(db, SearchFilters(q="nobody-like-this")).total == 0


def test_search_filters_by_region_type_tag_and_position(db: Session) -> None:
    desk = make_organisation(db, name="Desk Zq", country="KAZ", type="ministry", tags=["zq"])
    embassy = make_organisation(db, name="Embassy Zq", country="FRA", type="embassy")
    a = make_person(db, family_name="Zqa", tags=["zq"])
    b = make_person(db, family_name="Zqb")
    make_position(db, a, desk, title="Director General (Disarmament)")
    make_position(db, b, embassy, title="Counsellor")

    def ids(**f: object) -> set[tuple[str, int]]:
        return {
            (h.kind, h.id) for h in contacts_search.search(db, SearchFilters(q="zq", **f)).items
        }

    assert ids(sub_region="Central Asia") == {("person", a.id), ("organisation", desk.id)}
    assert ids(organisation_type="embassy") == {("person", b.id), ("organisation", embassy.id)}
    assert ids(tag="zq") == {("person", a.id), ("organisation", desk.id)}
    assert ids(position="director general", kind="person") == {("person", a.id)}
    assert ids(country="FR", kind="person") == {("person", b.id)}


def test_search_paginates(db: Session) -> None:
    for i in range(7):
        make_person(db, family_name=f"Paginq{i}")
    first = contacts_search.search(db, SearchFilters(q="paginq"), page=1, per_page=5)
    second = contacts_search.search(db, SearchFilters(q="paginq"), page=2, per_page=5)
    assert first.total == 7 and len(first.items) == 5 and len(second.items) == 2
    assert {h.name for h in first.items}.isdisjoint({h.name for h in second.items})


def test_stale_version_is_refused_and_nothing_is_overwritten(db: Session) -> None:
    person = make_person(db, family_name="Locked")
    base = {"given_name": "Test", "family_name": "Locked"}
    service.update_person(
        db, person_id=person.id, data=PersonUpdate(**base, notes="first", version=1), actor=None
    )
    with pytest.raises(Conflict, match="version 1, it is now at version 2"):
        service.update_person(
            db,
            person_id=person.id,
            data=PersonUpdate(**base, notes="second", version=1),
            actor=None,
        )
    assert service.get_person(db, person.id).notes == "first"
