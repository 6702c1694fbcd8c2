"""Merging duplicates: every reference moves to the kept record, fields chosen, history kept."""

from __future__ import annotations

from datetime import date
from typing import cast

import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from app.contacts import dedupe
from app.contacts.dedupe import MergeCommand, merge, references_to
from app.errors import InvalidInput, NotFound
from app.models import (
    AuditEntry,
    ContactPoint,
    Letter,
    Organisation,
    Person,
    Position,
    Reply,
    Segment,
    Tag,
)
from app.models.contacts import person_tags
from tests.factories import make_organisation, make_person, make_position


def _letter(db: Session, ref: str, **values: object) -> Letter:
    letter = Letter(reference=ref, **values)
    db.add(letter)
    db.flush()
    return letter


def test_walks_every_foreign_key_to_people() -> None:
    found = {(t.name, c.name) for t, c in references_to(cast(Table, Person.__table__))}
    assert {
        ("letters", "person_id"),
        ("replies", "sender_person_id"),
        ("positions", "person_id"),
        ("contact_points", "person_id"),
        ("person_tags", "person_id"),
    } <= found


def test_merge_keeps_letters_and_replies_of_both(db: Session) -> None:
    keep = make_person(db, given_name="Emomali", family_name="Rahmon")
    drop = make_person(db, given_name="Emomali", family_name="Rakhmonov", honorific="H.E.")
    l1 = _letter(db, "T/1", person_id=keep.id, recipient_key=f"person:{keep.id}")
    l2 = _letter(db, "T/2", person_id=drop.id, recipient_key=f"person:{drop.id}")
    r1 = Reply(received_on=date(2024, 1, 5), sender_person_id=drop.id)
    r2 = Reply(received_on=date(2024, 1, 6), sender_person_id=keep.id)
    db.add_all([r1, r2])
    db.flush()
    kept = merge(db, data=MergeCommand(kind="person", keep_id=keep.id, drop_id=drop.id), actor=None)
    assert kept.id == keep.id
    assert db.get(Person, drop.id) is None
    db.expire_all()
    letters = db.scalars(select(Letter.id).where(Letter.person_id == keep.id)).all()
    assert sorted(letters) == sorted([l1.id, l2.id])
    replies = db.scalars(select(Reply.id).where(Reply.sender_person_id == keep.id)).all()
    assert sorted(replies) == sorted([r1.id, r2.id])
    # blanks filled from the dropped record; the kept record's own values otherwise
    person = db.get(Person, keep.id)
    assert person is not None
    assert person.honorific == "H.E." and person.family_name == "Rahmon"


def test_merge_moves_positions_points_tags_and_folds_identical_ones(db: Session) -> None:
    org = make_organisation(db, "MFA")
    keep = make_person(db, given_name="A", family_name="One", tags=["ccm", "shared"])
    drop = make_person(db, given_name="A", family_name="Uno", tags=["shared", "mbt"])
    make_position(db, keep, org, title="Minister")
    make_position(db, drop, org, title="Minister")
    make_position(db, drop, org, title="Deputy")
    db.add_all(
        [
            ContactPoint(person_id=keep.id, kind="email", value="a@example.org", preferred=True),
            ContactPoint(person_id=drop.id, kind="email", value="A@example.org", preferred=True),
            ContactPoint(person_id=drop.id, kind="email", value="b@example.org", preferred=True),
        ]
    )
    db.flush()
    merge(db, data=MergeCommand(kind="person", keep_id=keep.id, drop_id=drop.id), actor=None)
    titles = sorted(db.scalars(select(Position.title).where(Position.person_id == keep.id)))
    assert titles == ["Deputy", "Minister"]
    points = db.scalars(select(ContactPoint).where(ContactPoint.person_id == keep.id)).all()
    assert sorted(p.value for p in points) == ["a@example.org", "b@example.org"]
    assert [p.value for p in points if p.preferred] == ["a@example.org"]
    tags = db.scalars(
        select(Tag.name)
        .join(person_tags, person_tags.c.tag_id == Tag.id)
        .where(person_tags.c.person_id == keep.id)
    ).all()
    assert sorted(tags) == ["ccm", "mbt", "shared"]


def test_fields_can_be_taken_from_the_dropped_record(db: Session) -> None:
    keep = make_person(db, given_name="Emomali", family_name="Rakhmonov", notes="old")
    drop = make_person(db, given_name="Emomali", family_name="Rahmon", notes="new")
    merge(
        db,
        data=MergeCommand(
            kind="person", keep_id=keep.id, drop_id=drop.id, take_from_dropped=["family_name"]
        ),
        actor=None,
    )
    person = db.get(Person, keep.id)
    assert person is not None and person.family_name == "Rahmon" and person.notes == "old"
    assert "rahmon" in person.search_text and person.sort_name == "rahmon emomali"


def test_do_not_contact_flags_survive(db: Session) -> None:
    keep = make_person(db)
    drop = make_person(db, no_email=True)
    merge(db, data=MergeCommand(kind="person", keep_id=keep.id, drop_id=drop.id), actor=None)
    person = db.get(Person, keep.id)
    assert person is not None and person.no_email


def test_merge_is_audited_and_history_follows(db: Session) -> None:
    keep = make_person(db)
    drop = make_person(db)
    db.add(
        AuditEntry(actor="x", action="person.update", entity_type="person", entity_id=str(drop.id))
    )
    db.flush()
    merge(db, data=MergeCommand(kind="person", keep_id=keep.id, drop_id=drop.id), actor=None)
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "person.merge"))
    assert entry is not None and entry.entity_id == str(keep.id)
    assert entry.details["dropped_id"] == drop.id
    assert entry.details["moved"]["audit_log"] == 2  # its creation and the edit
    moved = db.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.entity_type == "person", AuditEntry.entity_id == str(drop.id))
    )
    assert moved == 0


def test_merge_organisations_moves_children_positions_letters_and_segments(db: Session) -> None:
    parent = make_organisation(db, "Government of Pakistan")
    keep = make_organisation(db, "Ministry of Foreign Affairs", parent_id=parent.id)
    drop = make_organisation(db, "MOFA Pakistan", website="https://mofa.gov.pk")
    child = make_organisation(db, "Disarmament desk", parent_id=drop.id)
    person = make_person(db)
    make_position(db, person, drop, title="Director General")
    letter = _letter(db, "T/9", organisation_id=drop.id)
    segment = Segment(name="MFA", filters={"organisation_id": drop.id})
    db.add(segment)
    db.flush()
    merge(db, data=MergeCommand(kind="organisation", keep_id=keep.id, drop_id=drop.id), actor=None)
    db.expire_all()
    assert db.get(Organisation, drop.id) is None
    assert db.get_one(Organisation, child.id).parent_id == keep.id
    kept = db.get(Organisation, keep.id)
    assert (
        kept is not None and kept.parent_id == parent.id and kept.website == "https://mofa.gov.pk"
    )
    assert db.get_one(Letter, letter.id).organisation_id == keep.id
    assert (
        db.scalar(select(Position.organisation_id).where(Position.person_id == person.id))
        == keep.id
    )
    assert db.get_one(Segment, segment.id).filters["organisation_id"] == keep.id


def test_merging_an_organisation_into_its_own_child_leaves_no_cycle(db: Session) -> None:
    drop = make_organisation(db, "Parent")
    keep = make_organisation(db, "Child", parent_id=drop.id)
    merge(db, data=MergeCommand(kind="organisation", keep_id=keep.id, drop_id=drop.id), actor=None)
    kept = db.get(Organisation, keep.id)
    assert kept is not None and kept.parent_id is None


def test_bad_requests(db: Session) -> None:
    person = make_person(db)
    with pytest.raises(ValueError, match="two different"):
        MergeCommand(kind="person", keep_id=person.id, drop_id=person.id)
    with pytest.raises(NotFound):
        merge(db, data=MergeCommand(kind="person", keep_id=person.id, drop_id=2**30), actor=None)
    other = make_person(db)
    with pytest.raises(InvalidInput, match="password"):
        merge(
            db,
            data=MergeCommand(
                kind="person", keep_id=person.id, drop_id=other.id, take_from_dropped=["password"]
            ),
            actor=None,
        )


def test_preview_lists_fields_and_what_moves(db: Session) -> None:
    keep = make_person(db, given_name="A", family_name="B")
    drop = make_person(db, given_name="A", family_name="C", honorific="Dr")
    _letter(db, "T/5", person_id=drop.id)
    p = dedupe.preview(db, kind="person", keep_id=keep.id, drop_id=drop.id)
    fields = {f.name: f for f in p.fields}
    assert fields["honorific"].default == "drop" and fields["family_name"].default == "keep"
    assert ("letters", "person_id", 1) in {(r.table, r.column, r.count) for r in p.references}


def test_a_record_changed_since_the_comparison_is_not_merged(db: Session) -> None:
    from app.errors import Conflict

    keep = make_person(db)
    drop = make_person(db)
    stale = drop.version
    drop.notes = "edited meanwhile"
    db.flush()
    with pytest.raises(Conflict, match="changed by someone else"):
        merge(
            db,
            data=MergeCommand(kind="person", keep_id=keep.id, drop_id=drop.id, drop_version=stale),
            actor=None,
        )
    assert db.get(Person, drop.id) is not None
