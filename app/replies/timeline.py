"""Letters and replies on the timelines of people and organisations.

A person's timeline shows the letters sent to them and the replies they sent; an organisation's
the letters sent to it and the replies it sent or that answer its letters (an embassy forwarding
its ministry's answer shows on the ministry's timeline too). Registered with the contacts
timeline, which knows nothing of letters.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.contacts import service as contacts_service
from app.contacts.timeline import TIMELINE_PROVIDERS, TimelineEvent
from app.models import (
    Letter,
    LetterStatus,
    Organisation,
    Person,
    Reply,
    ReplyKind,
    ReplyLetter,
    ReplyStatus,
)

LIMIT = 200
KIND_LABELS = {
    ReplyKind.reply: "Reply received",
    ReplyKind.acknowledgement: "Acknowledgement received",
    ReplyKind.auto_reply: "Automatic reply received",
    ReplyKind.bounce: "Delivery failure",
}


def _letters(
    session: Session, kind: Literal["person", "organisation"], entity_id: int
) -> list[TimelineEvent]:
    column = Letter.person_id if kind == "person" else Letter.organisation_id
    letters = session.scalars(
        select(Letter)
        .where(column == entity_id, Letter.sent_on.is_not(None))
        .order_by(Letter.sent_on.desc(), Letter.id.desc())
        .limit(LIMIT)
    )
    events = []
    for letter in letters:
        parts = [letter.subject, f"by {letter.channel.value.replace('_', ' ')}"]
        if letter.status is not LetterStatus.sent:
            parts.append(letter.status.value)
        events.append(
            TimelineEvent(
                when=letter.sent_on or letter.created_at,
                kind="letter",
                title=f"Letter sent: {letter.reference}",
                detail=" · ".join(p for p in parts if p),
                url=f"/correspondence/letters/{letter.id}",
            )
        )
    return events


def _sender(reply: Reply, people: dict[int, str], orgs: dict[int, str]) -> str:
    if reply.sender_person_id in people:
        return people[reply.sender_person_id]
    if reply.sender_organisation_id in orgs:
        return orgs[reply.sender_organisation_id]
    return reply.sender_name or reply.sender_email


def _replies(
    session: Session, kind: Literal["person", "organisation"], entity_id: int
) -> list[TimelineEvent]:
    if kind == "person":
        condition = Reply.sender_person_id == entity_id
        answered = select(ReplyLetter.reply_id).join(Letter, Letter.id == ReplyLetter.letter_id)
        condition = or_(condition, Reply.id.in_(answered.where(Letter.person_id == entity_id)))
    else:
        answered = select(ReplyLetter.reply_id).join(Letter, Letter.id == ReplyLetter.letter_id)
        condition = or_(
            Reply.sender_organisation_id == entity_id,
            Reply.id.in_(answered.where(Letter.organisation_id == entity_id)),
        )
    replies = list(
        session.scalars(
            select(Reply)
            .where(condition, Reply.status != ReplyStatus.dismissed)
            .order_by(Reply.received_on.desc(), Reply.id.desc())
            .limit(LIMIT)
        )
    )
    people = {
        p.id: contacts_service.display_person(p)
        for p in session.scalars(
            select(Person).where(Person.id.in_({r.sender_person_id for r in replies} - {None}))
        )
    }
    rows = session.execute(
        select(Organisation.id, Organisation.name).where(
            Organisation.id.in_({r.sender_organisation_id for r in replies} - {None})
        )
    )
    orgs: dict[int, str] = {row.id: row.name for row in rows}
    events = []
    for reply in replies:
        own = (
            reply.sender_person_id == entity_id
            if kind == "person"
            else reply.sender_organisation_id == entity_id
        )
        parts = [reply.subject or reply.summary[:120]]
        if not own and (sender := _sender(reply, people, orgs)):
            parts.append(f"from {sender}")
        if reply.sender_reference:
            parts.append(f"their reference {reply.sender_reference}")
        if reply.status is ReplyStatus.triage:
            parts.append("in triage")
        events.append(
            TimelineEvent(
                when=reply.received_on,
                kind="reply",
                title=KIND_LABELS.get(reply.kind, "Reply received"),
                detail=" · ".join(p for p in parts if p),
                url=f"/replies/{reply.id}",
            )
        )
    return events


def letters_and_replies(
    session: Session, kind: Literal["person", "organisation"], entity_id: int
) -> list[TimelineEvent]:
    """The letters sent to the person or organisation and the replies received from them."""
    return _letters(session, kind, entity_id) + _replies(session, kind, entity_id)


def register() -> None:
    """Add letters and replies to the contacts timeline (once)."""
    if letters_and_replies not in TIMELINE_PROVIDERS:
        TIMELINE_PROVIDERS.append(letters_and_replies)
