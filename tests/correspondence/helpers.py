"""Letters for correspondence tests: a recipient with an email address, a draft to approve."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from app.contacts import service as contacts_service
from app.contacts.schemas import ContactPointCreate
from app.letters.context import build_context
from app.models import Campaign, Letter, LetterStatus, Person, User
from tests.factories import make_person

BODY = "<p>{{ recipient.salutation }}</p><p>We ask for the position of {{ recipient.country }}.</p>"


def person_with_email(
    session: Session, email: str = "minister@mfa.example", **values: Any
) -> Person:
    person = make_person(session, **values)
    contacts_service.create_contact_point(
        session,
        data=ContactPointCreate(person_id=person.id, kind="email", value=email, preferred=True),
        actor=None,
    )
    return person


def make_campaign(session: Session, owner: User, **values: Any) -> Campaign:
    campaign = Campaign(name=f"Campaign {uuid.uuid4().hex[:6]}", owner_id=owner.id, **values)
    session.add(campaign)
    session.flush()
    return campaign


def make_letter(
    session: Session,
    person: Person | None = None,
    *,
    status: LetterStatus = LetterStatus.draft,
    **values: Any,
) -> Letter:
    reference = values.pop("reference", f"CMC/2010/TJK/{uuid.uuid4().int % 10**6:06d}")
    context = build_context(
        language="en",
        letter_date=values.get("letter_date") or __import__("datetime").date(2010, 3, 25),
        reference=reference,
        recipient={"salutation": "Excellency,", "country": "Tajikistan"},
        treaty={"name": "Convention on Cluster Munitions", "short_name": "CCM"},
    )
    letter = Letter(
        reference=reference,
        person_id=person.id if person else None,
        recipient_key=f"person:{person.id}" if person else f"test:{uuid.uuid4().hex[:12]}",
        recipient_name="H.E. the Minister",
        context=context,
        subject="Joining the {{ treaty.name }}",
        body_html=BODY,
        status=status,
        **values,
    )
    session.add(letter)
    session.flush()
    return letter
