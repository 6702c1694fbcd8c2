"""Segments: saved directory searches, re-evaluated each time they are used."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.contacts import search as contacts_search
from app.contacts.schemas import SearchFilters, SearchPage, SegmentIn
from app.db import fold
from app.errors import Conflict, InvalidInput, NotFound
from app.models import Segment, User


def filters_of(segment: Segment) -> SearchFilters:
    """The stored filter; one saved by an older version that no longer validates is refused."""
    try:
        return SearchFilters.model_validate(segment.filters or {})
    except ValidationError as exc:
        raise InvalidInput(
            f"The segment {segment.name!r} holds a filter that is no longer valid; edit it."
        ) from exc


def list_segments(
    session: Session, *, search: str = "", limit: int = 50, offset: int = 0
) -> tuple[Sequence[Segment], int]:
    query = select(Segment)
    if search.strip():
        query = query.where(fold(Segment.name).contains(search.strip().lower()))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Segment.name).limit(limit).offset(offset)).all()
    return rows, total


def get(session: Session, segment_id: int) -> Segment:
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(f"No segment has the id {segment_id}.")
    return segment


def _name_free(session: Session, name: str, segment_id: int | None = None) -> str:
    name = name.strip()
    clash = session.scalar(select(Segment.id).where(fold(Segment.name) == name.lower()))
    if clash is not None and clash != segment_id:
        raise Conflict(
            f"A segment named {name!r} already exists; choose another name.",
            errors=[{"field": "name", "message": "this name is taken"}],
        )
    return name


def _stored(filters: SearchFilters) -> dict[str, object]:
    return filters.model_dump(mode="json", exclude_defaults=True)


def create(session: Session, *, data: SegmentIn, actor: User | None) -> Segment:
    contacts_search.search(session, data.filters, page=1, per_page=1)  # unknown country/treaty: 422
    segment = Segment(
        name=_name_free(session, data.name),
        description=data.description.strip(),
        filters=_stored(data.filters),
    )
    session.add(segment)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="segment.create",
        entity_type="segment",
        entity_id=segment.id,
        summary=f"Saved the segment {segment.name}",
    )
    return segment


def update(session: Session, *, segment_id: int, data: SegmentIn, actor: User | None) -> Segment:
    segment = get(session, segment_id)
    contacts_search.search(session, data.filters, page=1, per_page=1)
    segment.name = _name_free(session, data.name, segment_id)
    segment.description = data.description.strip()
    segment.filters = _stored(data.filters)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="segment.update",
        entity_type="segment",
        entity_id=segment.id,
        summary=f"Edited the segment {segment.name}",
    )
    return segment


def delete(session: Session, *, segment_id: int, actor: User | None) -> None:
    segment = get(session, segment_id)
    name = segment.name
    session.delete(segment)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="segment.delete",
        entity_type="segment",
        entity_id=segment_id,
        summary=f"Deleted the segment {name}",
    )


def members(session: Session, *, segment_id: int, page: int = 1, per_page: int = 50) -> SearchPage:
    """The segment's people and organisations as of now."""
    return contacts_search.search(session, filters_of(get(session, segment_id)), page, per_page)


def member_ids(session: Session, *, segment_id: int) -> tuple[list[int], list[int]]:
    """(person ids, organisation ids) matching now: what letters and exports use."""
    return contacts_search.search_ids(session, filters_of(get(session, segment_id)))


DEMO_SEGMENTS = [
    SegmentIn(
        name="Central Asia: not party to the CCM",
        description="People and offices of Central Asian states outside the CCM, as of today.",
        filters=SearchFilters(sub_region="Central Asia", treaty="CCM", treaty_status="not_party"),
    ),
    SegmentIn(
        name="Heads of state's offices",
        filters=SearchFilters(organisation_type="head_of_state_office"),
    ),
]


def load_demo(session: Session) -> None:
    """Demo segments (idempotent: an existing name is left alone)."""
    for data in DEMO_SEGMENTS:
        if session.scalar(select(Segment.id).where(Segment.name == data.name)) is None:
            create(session, data=data, actor=None)
