"""Merges keep identities: the dropped record's names become aliases of the kept one, and a
merge can be undone from its audit entry, exactly, unless that is no longer safe."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.contacts import aliases, service, unmerge
from app.contacts import search as contacts_search
from app.contacts.dedupe import MergeCommand, merge
from app.contacts.schemas import SearchFilters
from app.errors import Conflict, NotFound
from app.models import (
    Alias,
    AliasKind,
    AuditEntry,
    ContactPoint,
    Letter,
    Organisation,
    Person,
    Position,
    Reply,
    Role,
    Segment,
    Tag,
)
from app.models.contacts import organisation_tags, person_tags
from tests.factories import (
    api_headers,
    csrf_from,
    login,
    make_organisation,
    make_person,
    make_position,
    make_user,
)


def _merge(db: Session, kind: str, keep: int, drop: int, **extra: object) -> AuditEntry:
    merge(db, data=MergeCommand(kind=kind, keep_id=keep, drop_id=drop, **extra), actor=None)
    entry = db.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == f"{kind}.merge")
        .order_by(AuditEntry.id.desc())
    )
    assert entry is not None
    return entry


def _state(db: Session, person_id: int) -> dict[str, object]:
    """Everything that hangs off a person, comparable before and after."""
    db.expire_all()
    person = db.get(Person, person_id)
    assert person is not None
    return {
        "row": (
            person.honorific,
            person.given_name,
            person.family_name,
            person.native_name,
            person.notes,
            person.no_email,
            person.sort_name,
            person.search_text,
        ),
        "points": sorted(
            (cp.id, cp.value, cp.preferred)
            for cp in db.scalars(select(ContactPoint).where(ContactPoint.person_id == person_id))
        ),
        "positions": sorted(
            (p.id, p.title, p.organisation_id)
            for p in db.scalars(select(Position).where(Position.person_id == person_id))
        ),
        "tags": sorted(
            db.scalars(
                select(Tag.name)
                .join(person_tags, person_tags.c.tag_id == Tag.id)
                .where(person_tags.c.person_id == person_id)
            )
        ),
        "letters": sorted(db.scalars(select(Letter.id).where(Letter.person_id == person_id))),
        "replies": sorted(db.scalars(select(Reply.id).where(Reply.sender_person_id == person_id))),
        "aliases": sorted(
            (a.name, a.kind.value) for a in aliases.list_aliases(db, "person", person_id)
        ),
        "history": sorted(
            db.scalars(
                select(AuditEntry.id).where(
                    AuditEntry.entity_type == "person",
                    AuditEntry.entity_id == str(person_id),
                    AuditEntry.action.not_in(["person.merge", "person.merge_undo"]),
                    AuditEntry.action != "person.restore",
                )
            )
        ),
    }


@pytest.fixture
def pair(db: Session) -> tuple[Person, Person]:
    """Two records of one man, each with letters, replies, points, positions, tags, aliases."""
    mfa = make_organisation(db, "Ministry of Foreign Affairs of Uzbekistan")
    embassy = make_organisation(db, "Embassy of Uzbekistan in Berlin")
    keep = make_person(db, given_name="Muhriddin", family_name="Karimov", tags=["ccm", "shared"])
    drop = make_person(
        db,
        given_name="Mukhriddin",
        family_name="Karimov",
        honorific="H.E.",
        native_name="Мухриддин Каримов",
        tags=["shared", "mbt"],
        name_forms={"ru": {"given": "Мухриддин", "family": "Каримов"}},
    )
    make_position(db, keep, mfa, title="Director")
    make_position(db, drop, mfa, title="Director")  # identical: folded into one
    make_position(db, drop, embassy, title="Ambassador", start_date=date(2020, 1, 1))
    db.add_all(
        [
            ContactPoint(person_id=keep.id, kind="email", value="m.karimov@mfa.uz", preferred=True),
            ContactPoint(person_id=drop.id, kind="email", value="M.Karimov@mfa.uz", preferred=True),
            ContactPoint(
                person_id=drop.id, kind="email", value="amb@uzbembassy.de", preferred=True
            ),
            Letter(reference="U/1", person_id=keep.id),
            Letter(reference="U/2", person_id=drop.id),
            Reply(received_on=date(2024, 3, 1), sender_person_id=drop.id),
            Alias(
                person_id=drop.id, name="Muhriddin Karimov-Zoda", folded="muhriddin karimov-zoda"
            ),
        ]
    )
    db.flush()
    service.refresh_search(db, "person", drop.id)
    service.refresh_search(db, "person", keep.id)
    return keep, drop


def test_dropped_names_become_merged_aliases_and_stay_searchable(
    db: Session, pair: tuple[Person, Person]
) -> None:
    keep, drop = pair
    _merge(db, "person", keep.id, drop.id)
    kept_aliases = {(a.name, a.kind) for a in aliases.list_aliases(db, "person", keep.id)}
    assert ("Mukhriddin Karimov", AliasKind.merged) in kept_aliases
    # the native name folds to "muhriddin karimov", the kept record's own name: not repeated
    assert not any(
        a.folded == "muhriddin karimov" for a in aliases.list_aliases(db, "person", keep.id)
    )
    # the dropped record's own alias moved across with its kind
    assert ("Muhriddin Karimov-Zoda", AliasKind.spelling) in kept_aliases
    page = contacts_search.search(db, SearchFilters(q="Mukhriddin", kind="person"))
    assert [h.id for h in page.items] == [keep.id]
    assert aliases.find_people(db, "MUKHRIDDIN KARIMOV") == [keep.id]
    assert aliases.find_people(db, "Karimov Muhriddin") == [keep.id]


def test_the_audit_entry_holds_everything_needed_to_undo(
    db: Session, pair: tuple[Person, Person]
) -> None:
    keep, drop = pair
    entry = _merge(db, "person", keep.id, drop.id)
    dropped = entry.details["dropped"]
    assert dropped["row"]["id"] == drop.id and dropped["row"]["given_name"] == "Mukhriddin"
    assert dropped["tags"] == ["mbt", "shared"]
    assert {cp["value"] for cp in dropped["contact_points"]} == {
        "M.Karimov@mfa.uz",
        "amb@uzbembassy.de",
    }
    assert {p["title"] for p in dropped["positions"]} == {"Director", "Ambassador"}
    assert [a["name"] for a in dropped["aliases"]] == ["Muhriddin Karimov-Zoda"]
    undo = entry.details["undo"]
    assert set(undo["moved"]) >= {
        "letters.person_id",
        "replies.sender_person_id",
        "positions.person_id",
        "contact_points.person_id",
        "person_tags.person_id",
        "aliases.person_id",
    }
    assert undo["deleted"]["person_tags"] == [
        {"person_id": drop.id, "tag_id": db.scalar(select(Tag.id).where(Tag.name == "shared"))}
    ]
    assert len(undo["deleted"]["contact_points"]) == 1  # the same address, folded
    assert len(undo["deleted"]["positions"]) == 1


def test_undo_restores_both_records_exactly(db: Session, pair: tuple[Person, Person]) -> None:
    keep, drop = pair
    db.add(
        AuditEntry(actor="x", action="person.update", entity_type="person", entity_id=str(drop.id))
    )
    db.flush()
    before_keep, before_drop = _state(db, keep.id), _state(db, drop.id)
    entry = _merge(db, "person", keep.id, drop.id, take_from_dropped=["given_name"])
    assert db.get(Person, drop.id) is None
    assert db.get_one(Person, keep.id).given_name == "Mukhriddin"
    report = unmerge.undo(db, audit_id=entry.id, actor=None)
    assert report.restored_id == drop.id and report.kept_edits == []
    assert _state(db, keep.id) == before_keep
    assert _state(db, drop.id) == before_drop
    assert unmerge.undone_by(db, entry) is not None
    with pytest.raises(Conflict, match="already undone"):
        unmerge.undo(db, audit_id=entry.id, actor=None)


def test_undo_keeps_later_edits_of_the_kept_record(
    db: Session, pair: tuple[Person, Person]
) -> None:
    keep, drop = pair
    entry = _merge(db, "person", keep.id, drop.id)  # honorific H.E. filled from the dropped
    person = db.get(Person, keep.id)
    assert person is not None and person.honorific == "H.E."
    person.honorific = "Dr"
    db.flush()
    report = unmerge.undo(db, audit_id=entry.id, actor=None)
    assert report.kept_edits == ["honorific"]
    db.expire_all()
    assert db.get_one(Person, keep.id).honorific == "Dr"
    assert db.get_one(Person, drop.id).honorific == "H.E."


def test_undo_refused_when_no_longer_safe(db: Session, pair: tuple[Person, Person]) -> None:
    keep, drop = pair
    other = make_person(db, given_name="Someone", family_name="Else")
    entry = _merge(db, "person", keep.id, drop.id)
    letter_id = db.scalar(select(Letter.id).where(Letter.reference == "U/2"))
    letter = db.get(Letter, letter_id)
    assert letter is not None
    letter.person_id = other.id  # the dropped record's letter was re-addressed since
    db.flush()
    with pytest.raises(Conflict, match="now belong to another record"):
        unmerge.undo(db, audit_id=entry.id, actor=None)
    letter.person_id = keep.id
    db.flush()
    # the kept record merged into a third: nothing to take the rows back from
    second = _merge(db, "person", other.id, keep.id)
    with pytest.raises(Conflict, match="no longer exists"):
        unmerge.undo(db, audit_id=entry.id, actor=None)
    unmerge.undo(db, audit_id=second.id, actor=None)  # undo the later one first
    unmerge.undo(db, audit_id=entry.id, actor=None)
    db.expire_all()
    assert db.get_one(Letter, letter_id).person_id == drop.id
    with pytest.raises(NotFound):
        unmerge.undo(db, audit_id=2**30, actor=None)


def test_a_merge_without_undo_data_is_refused(db: Session) -> None:
    keep = make_person(db)
    entry = AuditEntry(
        actor="x",
        action="person.merge",
        entity_type="person",
        entity_id=str(keep.id),
        details={"kept_id": keep.id, "dropped_id": keep.id + 1000},
    )
    db.add(entry)
    db.flush()
    with pytest.raises(Conflict, match="before merges kept"):
        unmerge.undo(db, audit_id=entry.id, actor=None)


def test_organisation_merge_undo_moves_back_children_segments_and_tags(db: Session) -> None:
    parent = make_organisation(db, "Government of Pakistan")
    keep = make_organisation(db, "Ministry of Foreign Affairs", parent_id=parent.id, tags=["a"])
    drop = make_organisation(
        db, "MOFA Pakistan", website="https://mofa.gov.pk", parent_id=keep.id, tags=["a", "b"]
    )
    child = make_organisation(db, "Disarmament desk", parent_id=drop.id)
    person = make_person(db)
    make_position(db, person, drop, title="Director General")
    segment = Segment(name="MOFA", filters={"organisation_id": drop.id})
    db.add(segment)
    db.flush()
    entry = _merge(db, "organisation", keep.id, drop.id)
    db.expire_all()
    assert db.get_one(Organisation, child.id).parent_id == keep.id
    assert "mofa pakistan" in db.get_one(Organisation, keep.id).search_text
    assert aliases.find_organisations(db, "Mofa Pakistan") == [keep.id]
    unmerge.undo(db, audit_id=entry.id, actor=None)
    db.expire_all()
    restored = db.get(Organisation, drop.id)
    assert restored is not None and restored.parent_id == keep.id
    assert db.get_one(Organisation, keep.id).website == ""
    assert db.get_one(Organisation, child.id).parent_id == drop.id
    assert db.get_one(Segment, segment.id).filters["organisation_id"] == drop.id
    assert (
        db.scalar(select(Position.organisation_id).where(Position.person_id == person.id))
        == drop.id
    )
    tags = db.scalars(
        select(Tag.name)
        .join(organisation_tags, organisation_tags.c.tag_id == Tag.id)
        .where(organisation_tags.c.organisation_id == drop.id)
    ).all()
    assert sorted(tags) == ["a", "b"]
    assert aliases.find_organisations(db, "Mofa Pakistan") == [drop.id]


def test_undo_through_the_api_and_the_page(
    client: TestClient, db: Session, pair: tuple[Person, Person]
) -> None:
    keep, drop = pair
    coordinator = make_user(db, Role.coordinator)
    campaigner = make_user(db)
    entry = _merge(db, "person", keep.id, drop.id)
    url = f"/api/v1/contacts/merges/{entry.id}/undo"
    assert client.post(url, headers=api_headers(db, campaigner)).status_code == 403
    resp = client.post(url, headers=api_headers(db, coordinator))
    assert resp.status_code == 200, resp.text
    assert resp.json()["restored_id"] == drop.id
    again = client.post(url, headers=api_headers(db, coordinator))
    assert again.status_code == 409 and "already undone" in again.json()["detail"]
    assert (
        client.post(
            "/api/v1/contacts/merges/999999/undo", headers=api_headers(db, coordinator)
        ).status_code
        == 404
    )
    # the page: the kept record offers the undo of a newer merge, with confirmation
    entry = _merge(db, "person", keep.id, drop.id)
    token = login(client, coordinator)
    page = client.get(f"/contacts/people/{keep.id}")
    assert "Undo this merge" in page.text and "data-confirm" in page.text
    resp = client.post(
        f"/contacts/merges/{entry.id}/undo", data={"csrf_token": token}, follow_redirects=False
    )
    assert resp.status_code == 303
    assert db.get(Person, drop.id) is not None
    resp = client.post(
        f"/contacts/merges/{entry.id}/undo", data={"csrf_token": token}, follow_redirects=True
    )
    assert resp.status_code == 409 and "already undone" in resp.text
    assert client.post(f"/contacts/merges/{entry.id}/undo", data={}).status_code == 403
    assert csrf_from(page.text)
