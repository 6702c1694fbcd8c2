"""Replies as the pages list them: a reply's view, the inbox and triage, letters whose reply is
overdue, and the choices and values the reply form starts from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.contacts import service as contacts_service
from app.db import fold
from app.errors import NotFound
from app.models import (
    Country,
    Letter,
    LetterStatus,
    Organisation,
    Person,
    Reply,
    ReplyLetter,
    ReplyStatus,
)
from app.replies import positions
from app.replies.service import get, reply_query


@dataclass
class ReplyView:
    """A reply with what the pages show about it, loaded up front."""

    reply: Reply
    country: Country | None
    sender_person: Person | None
    sender_organisation: Organisation | None
    letters: list[tuple[Letter, str]]  # (letter, matched_by)
    positions: list[positions.EntryView]

    @property
    def sender(self) -> str:
        parts = []
        if self.sender_person:
            parts.append(contacts_service.display_person(self.sender_person))
        if self.sender_organisation:
            parts.append(self.sender_organisation.name)
        if not parts and self.reply.sender_name:
            parts.append(self.reply.sender_name)
        if self.reply.sender_email and not self.sender_person:
            parts.append(f"<{self.reply.sender_email}>")
        return ", ".join(parts) or "unknown sender"


def view(session: Session, reply_id: int) -> ReplyView:
    reply = get(session, reply_id)
    return views(session, [reply])[reply.id]


def views(session: Session, replies: Sequence[Reply]) -> dict[int, ReplyView]:
    """The views of many replies (loaded with ``reply_query()``) in a few queries in all."""

    def by_id(model: Any, ids: set[int]) -> dict[int, Any]:
        if not ids:
            return {}
        return {o.id: o for o in session.scalars(select(model).where(model.id.in_(ids)))}

    letter_ids = {link.letter_id for r in replies for link in r.links}
    letters = by_id(Letter, letter_ids)
    countries = by_id(Country, {r.country_id for r in replies if r.country_id})
    people = by_id(Person, {r.sender_person_id for r in replies if r.sender_person_id})
    orgs = by_id(
        Organisation, {r.sender_organisation_id for r in replies if r.sender_organisation_id}
    )
    entries = positions.for_replies(session, [r.id for r in replies])
    out: dict[int, ReplyView] = {}
    for reply in replies:
        links = sorted(reply.links, key=lambda link: link.letter_id)
        out[reply.id] = ReplyView(
            reply=reply,
            country=countries.get(reply.country_id) if reply.country_id else None,
            sender_person=people.get(reply.sender_person_id) if reply.sender_person_id else None,
            sender_organisation=orgs.get(reply.sender_organisation_id)
            if reply.sender_organisation_id
            else None,
            letters=[
                (letters[link.letter_id], link.matched_by)
                for link in links
                if link.letter_id in letters
            ],
            positions=entries[reply.id],
        )
    return out


def list_replies(
    session: Session,
    *,
    search: str = "",
    status: ReplyStatus | None = None,
    letter_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[tuple[Reply, str]], int]:
    """Replies, newest first, with their state's name."""
    query = select(Reply.id)
    if search.strip():
        # the text too, typed or read from a scan; case folded in every script on both databases
        term = search.strip().lower()
        columns = (
            Reply.sender_name,
            Reply.subject,
            Reply.summary,
            Reply.full_text,
            Reply.sender_reference,
            Reply.sender_email,
        )
        query = query.where(or_(*(fold(c).contains(term, autoescape=True) for c in columns)))
    if status is not None:
        query = query.where(Reply.status == status)
    if letter_id is not None:
        query = query.where(
            Reply.id.in_(select(ReplyLetter.reply_id).where(ReplyLetter.letter_id == letter_id))
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = list(
        session.scalars(
            query.order_by(Reply.received_on.desc(), Reply.id.desc()).limit(limit).offset(offset)
        )
    )
    rows = session.execute(
        reply_query()
        .add_columns(Country.name)
        .outerjoin(Country, Country.id == Reply.country_id)
        .where(Reply.id.in_(ids))
    ).all()
    by_id = {r.id: (r, name or "") for r, name in rows}
    return [by_id[i] for i in ids], total


def triage_count(session: Session) -> int:
    return (
        session.scalar(select(func.count(Reply.id)).where(Reply.status == ReplyStatus.triage)) or 0
    )


def overdue_letters(session: Session, *, today: date | None = None, limit: int = 20) -> list[Any]:
    """Sent letters whose reply is due and has not come: (letter, country name), oldest first."""
    today = today or date.today()
    return list(
        session.execute(
            select(Letter, Country.name)
            .outerjoin(Country, Country.id == Letter.country_id)
            .where(
                Letter.status == LetterStatus.sent,
                Letter.reply_due_on.is_not(None),
                Letter.reply_due_on < today,
            )
            .order_by(Letter.reply_due_on, Letter.id)
            .limit(limit)
        ).all()
    )


def organisation_choices(session: Session) -> list[tuple[int, str]]:
    return contacts_service.list_organisation_choices(session)


def person_choices(session: Session, limit: int = 3000) -> list[tuple[int, str]]:
    people = session.scalars(select(Person).order_by(Person.sort_name, Person.id).limit(limit))
    return [(p.id, contacts_service.display_person(p)) for p in people]


def prefill_for_letter(session: Session, letter_id: int) -> dict[str, Any]:
    """Form values when logging the reply to a given letter."""
    letter = session.get(Letter, letter_id)
    if letter is None:
        raise NotFound(f"No letter has the id {letter_id}.")
    values: dict[str, Any] = {"letter_ids": [str(letter.id)]}
    if letter.organisation_id:
        values["sender_organisation_id"] = str(letter.organisation_id)
    if letter.person_id:
        values["sender_person_id"] = str(letter.person_id)
    if letter.country_id:
        country = session.get(Country, letter.country_id)
        values["country"] = country.iso3 if country else ""
    return values
