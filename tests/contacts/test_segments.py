"""Segments and the treaty-status filter in the service: what letters and exports will use."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.contacts import search as contacts_search
from app.contacts import segments
from app.contacts.schemas import SearchFilters, SegmentIn
from tests.factories import make_organisation, make_person, make_position


def test_search_ids_honour_the_treaty_status(db: Session) -> None:
    tajik = make_organisation(db, name="MFA TJ zz", country="TJK")
    lao = make_organisation(db, name="MFA LA zz", country="LAO")
    minister = make_person(db, given_name="Zz", family_name="Minister")
    make_position(db, minister, tajik, title="Minister")
    filters = SearchFilters(q="zz", treaty="CCM", treaty_status="not_party")
    assert contacts_search.search_ids(db, filters) == ([minister.id], [tajik.id])
    parties = SearchFilters(q="zz", treaty="CCM", treaty_status="state_party")
    assert contacts_search.search_ids(db, parties) == ([], [lao.id])


def test_segment_member_ids_follow_the_data(db: Session) -> None:
    seg = segments.create(
        db,
        data=SegmentIn(name="Kyrgyz zy", filters=SearchFilters(q="zy", country="KGZ")),
        actor=None,
    )
    assert segments.member_ids(db, segment_id=seg.id) == ([], [])
    org = make_organisation(db, name="Office zy", country="KGZ")
    assert segments.member_ids(db, segment_id=seg.id) == ([], [org.id])


def test_demo_segments_load_once(db: Session) -> None:
    segments.load_demo(db)
    segments.load_demo(db)
    rows, total = segments.list_segments(db, search="not party to the CCM")
    assert total == 1 and segments.filters_of(rows[0]).treaty_status == "not_party"


def test_pages_interleave_people_and_organisations_by_name(db: Session) -> None:
    for name in ("Alpha", "Delta", "Foxtrot"):
        make_person(db, given_name="Qv", family_name=name)
    for name in ("Bravo qv", "Echo qv", "Golf qv"):
        make_organisation(db, name=name)
    seen = []
    for page in (1, 2, 3, 4):
        result = contacts_search.search(db, SearchFilters(q="qv"), page, 2)
        assert result.total == 6
        seen += [hit.name for hit in result.items]
    assert seen == ["Qv Alpha", "Bravo qv", "Qv Delta", "Echo qv", "Qv Foxtrot", "Golf qv"]
