"""A person's or an organisation's timeline: positions taken up and left, edits, and what other
domains add (letters and replies register a provider in ``TIMELINE_PROVIDERS``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.contacts import service
from app.models import Position


@dataclass(frozen=True)
class TimelineEvent:
    when: datetime | date
    kind: str  # "position", "edit", "letter", "reply", "note"...
    title: str
    detail: str = ""
    url: str = ""


TimelineProvider = Callable[[Session, Literal["person", "organisation"], int], list[TimelineEvent]]
# Other domains (letters, replies) append providers: (session, kind, id) -> events.
TIMELINE_PROVIDERS: list[TimelineProvider] = []


def _position_events(
    session: Session, kind: Literal["person", "organisation"], entity_id: int
) -> list[TimelineEvent]:
    column = Position.person_id if kind == "person" else Position.organisation_id
    events = []
    for pos in session.scalars(
        select(Position)
        .options(selectinload(Position.organisation), selectinload(Position.person))
        .where(column == entity_id)
    ):
        who = pos.organisation.name if kind == "person" else service.display_person(pos.person)
        if pos.start_date:
            events.append(TimelineEvent(pos.start_date, "position", f"Took up: {pos.title}", who))
        if pos.end_date:
            events.append(TimelineEvent(pos.end_date, "position", f"Left: {pos.title}", who))
    return events


def _audit_events(
    session: Session, kind: Literal["person", "organisation"], entity_id: int
) -> list[TimelineEvent]:
    entries, _ = audit.list_entries(session, entity_type=kind, entity_id=entity_id, limit=200)
    return [TimelineEvent(e.at, "edit", e.summary or e.action, f"by {e.actor}") for e in entries]


TIMELINE_PROVIDERS.extend([_position_events, _audit_events])


def timeline(
    session: Session, *, kind: Literal["person", "organisation"], entity_id: int
) -> list[TimelineEvent]:
    events: list[TimelineEvent] = []
    for provider in TIMELINE_PROVIDERS:
        events.extend(provider(session, kind, entity_id))

    def key(e: TimelineEvent) -> datetime:
        if isinstance(e.when, datetime):
            return e.when.replace(tzinfo=None)
        return datetime(e.when.year, e.when.month, e.when.day)

    return sorted(events, key=key, reverse=True)
