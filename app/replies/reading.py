"""Reading a reply: its date, the date of our letter it cites, the references it quotes and who
sent it, from typed, pasted, emailed or recognised (OCR) text in the ten languages replies come in.

Each is read by its own module: ``dates``, ``references`` and ``letterhead`` (the sender), on the
text as ``folding`` prepares it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Country, Organisation
from app.replies import langdetect
from app.replies.dates import Scope, find_dates, reply_date, resolve_dates
from app.replies.folding import MAX_TEXT, plain_text
from app.replies.letterhead import find_sender
from app.replies.references import our_references, reference_key, sender_reference


@dataclass
class Extracted:
    """What the reply says about itself, for the form to fill in and the matcher to use."""

    sender_organisation_id: int | None = None
    sender_organisation: str = ""  # the directory name it matched
    sender_reason: str = ""
    sender_reference: str = ""  # the sender's own reference, e.g. "No.Pol.9/4/09"
    dated_on: date | None = None  # the reply's own date
    cited_letter_date: date | None = None
    our_reference: str = ""  # our reference quoted in it (the letter's when one matches)
    language: str = ""  # ISO 639-1
    notes: list[str] = field(default_factory=list)  # how dates were read, when it needed care
    country: str = ""  # ISO 3166 alpha-3 of the sender's state, when the sender was found

    def as_dict(self) -> dict[str, Any]:
        return {
            "sender_organisation_id": self.sender_organisation_id,
            "sender_organisation": self.sender_organisation,
            "sender_reason": self.sender_reason,
            "sender_reference": self.sender_reference,
            "dated_on": self.dated_on.isoformat() if self.dated_on else None,
            "cited_letter_date": (
                self.cited_letter_date.isoformat() if self.cited_letter_date else None
            ),
            "our_reference": self.our_reference,
            "language": self.language,
            "country": self.country,
        }


_QUOTED_OURS = re.compile(
    r"(?:your\s+ref(?:erence)?|v(?:otre)?\s*/?\s*r[ée]f(?:[ée]rence)?|su\s+ref(?:erencia)?|"
    r"ihr(?:e)?\s+zeichen|на\s+№|ваш\s+№|uw\s+kenmerk|sua\s+ref(?:erência)?|vs\.?\s+rif)"
    r"\.?\s*[:：]?\s*(?P<value>[\w./\-]{3,60})",
    re.IGNORECASE,
)


def scope_for(
    session: Session,
    *,
    country_id: int | None,
    organisation_id: int | None,
    person_id: int | None,
) -> Scope:
    """Whom to look for our letters to: the state, else the organisation, else the person."""
    if country_id is None and organisation_id:
        country_id = session.scalar(
            select(Organisation.country_id).where(Organisation.id == organisation_id)
        )
    name = (
        session.scalar(select(Country.name).where(Country.id == country_id)) if country_id else ""
    )
    return Scope(
        country_id=country_id,
        organisation_ids=[organisation_id] if organisation_id else [],
        person_id=person_id,
        country_name=name or "",
    )


def read_reply(
    session: Session,
    *,
    subject: str = "",
    text: str = "",
    country_id: int | None = None,
    sender_organisation_id: int | None = None,
    sender_person_id: int | None = None,
) -> Extracted:
    """Everything the reply's text says about whom it is from and what it answers."""
    body = (text or "")[:MAX_TEXT]
    whole = f"{subject or ''}\n{body}"
    out = Extracted(language=langdetect.detect(body or subject))
    sender = find_sender(session, body, country_id=country_id)
    if sender is not None:
        out.sender_organisation_id = sender.organisation_id
        out.sender_organisation = sender.name
        out.sender_reason = sender.reason
        if sender.country_id is not None:
            out.country = (
                session.scalar(select(Country.iso3).where(Country.id == sender.country_id)) or ""
            )
    mentions = find_dates(whole)
    out.dated_on = reply_date(body, find_dates(body))
    scope = scope_for(
        session,
        country_id=country_id or (sender.country_id if sender else None),
        organisation_id=sender_organisation_id or (sender.organisation_id if sender else None),
        person_id=sender_person_id,
    )
    resolved = resolve_dates(session, mentions, scope, reply_on=out.dated_on)
    cited = [r for r in resolved if r.cited]
    if cited:
        out.cited_letter_date = cited[0].on
    out.notes = [r.note for r in cited if r.note]
    quoted = our_references(session, whole)
    if quoted:
        out.our_reference = quoted[0].reference
    elif m := _QUOTED_OURS.search(plain_text(whole)):
        out.our_reference = m.group("value").rstrip(".,;:")
    out.sender_reference = sender_reference(
        body, ours=[q.written for q in quoted] + [q.reference for q in quoted]
    )
    if out.sender_reference and reference_key(out.sender_reference) == reference_key(
        out.our_reference
    ):
        out.sender_reference = ""
    return out
