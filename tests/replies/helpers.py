"""Letters and replies for the replies tests, created directly (status sent, as if posted)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy.orm import Session

from app.countries import service as countries_service
from app.models import Channel, Letter, LetterStatus, Organisation, Person
from app.replies import service
from app.replies.schemas import ReplyCreate


def make_letter(
    db: Session,
    *,
    iso3: str = "PAK",
    reference: str | None = None,
    sent_on: date = date(2009, 1, 30),
    organisation: Organisation | None = None,
    person: Person | None = None,
    status: LetterStatus = LetterStatus.sent,
    campaign_id: int | None = None,
    due_days: int = 30,
    recipient_name: str | None = None,
    channel: Channel = Channel.post,
    **values: object,
) -> Letter:
    country = countries_service.get_by_code(db, iso3)
    if recipient_name is None:
        recipient_name = f"Minister of Foreign Affairs of {country.name}"
    letter = Letter(
        reference=reference or f"TST/{sent_on.year}/{iso3}/{uuid.uuid4().hex[:6].upper()}",
        campaign_id=campaign_id,
        recipient_key=f"test:{uuid.uuid4().hex[:10]}",
        organisation_id=organisation.id if organisation else None,
        person_id=person.id if person else None,
        country_id=country.id,
        recipient_name=recipient_name,
        subject="Cluster munitions",
        letter_date=sent_on,
        status=status,
        channel=channel,
        sent_on=sent_on if status is not LetterStatus.draft else None,
        reply_due_on=sent_on + timedelta(days=due_days),
        **values,
    )
    db.add(letter)
    db.flush()
    return letter


def log_reply(db: Session, **values: object) -> int:
    data = {"received_on": date(2009, 3, 1), "sender_name": "A sender", **values}
    return service.create(db, data=ReplyCreate.model_validate(data), actor=None).id
