"""Who a merge writes to: its source (a segment, search filters, picked contacts or a campaign's
targets) resolved to recipients, each with the reason it is excluded or flagged."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns import service as campaigns_service
from app.contacts import recipients as contacts_recipients
from app.contacts import search as contacts_search
from app.contacts.schemas import SearchFilters
from app.errors import InvalidInput
from app.mail import bounces
from app.mailmerge.schemas import MergeSource, RecipientRow
from app.models import Campaign, Segment

MAX_RECIPIENTS = 5000


@dataclass
class Candidate:
    key: str
    person_id: int | None
    organisation_id: int | None
    recipient: contacts_recipients.Recipient
    reason: str = ""  # why it gets no letter (excluded) or what to watch (flagged)
    language_note: str = ""  # why the letter is not in the language asked for
    empty_fields: list[str] = field(default_factory=list)


@dataclass
class RecipientPlan:
    letters: list[Candidate] = field(default_factory=list)
    excluded: list[Candidate] = field(default_factory=list)

    @property
    def flagged(self) -> list[Candidate]:
        return [c for c in self.letters if c.reason]


def _source_ids(
    session: Session, source: MergeSource, campaign: Campaign | None
) -> list[tuple[str, int]]:
    if source.kind == "segment":
        if source.segment_id is None:
            raise source_error("segment_id", "Choose a segment")
        segment = session.get(Segment, source.segment_id)
        if segment is None:
            raise source_error("segment_id", f"No segment with id {source.segment_id}")
        filters = SearchFilters.model_validate(segment.filters or {})
        people, orgs = contacts_search.search_ids(session, filters)
    elif source.kind == "filters":
        if source.filters is None or source.filters.is_empty():
            raise source_error("filters", "Give at least one search filter")
        people, orgs = contacts_search.search_ids(session, source.filters)
    elif source.kind == "contacts":
        people, orgs = list(source.person_ids), list(source.organisation_ids)
        if not people and not orgs:
            raise source_error("person_ids", "Pick at least one person or organisation")
    else:
        if campaign is None:
            raise source_error("campaign_id", "Choose the campaign whose targets get letters")
        people, orgs = [], []
        for target in campaigns_service.targets(session, campaign):
            _, found = contacts_search.search_ids(
                session,
                SearchFilters(
                    kind="organisation",
                    country=target.country.iso3,
                    organisation_type=source.organisation_type,
                ),
            )
            orgs += found
    ids = [("person", i) for i in people] + [("organisation", i) for i in orgs]
    if len(ids) > MAX_RECIPIENTS:
        raise source_error(
            "source", f"{len(ids)} recipients; a merge takes at most {MAX_RECIPIENTS}"
        )
    return ids


def source_error(field_name: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[{"field": field_name, "message": message}])


def plan_recipients(
    session: Session,
    *,
    source: MergeSource,
    campaign: Campaign | None,
    channel: str,
    on: date | None = None,
    language: str = "recipient",
) -> RecipientPlan:
    """Who gets a letter, and who is shown as excluded or flagged (never silently dropped).

    An office is addressed to whoever held it on the letter's date ``on``; with nobody known to
    hold it that day, to the office itself (never to a later or earlier holder)."""
    plan = RecipientPlan()
    seen: set[str] = set()
    # Addresses a bounce flagged (few): warned about, the letter still made.
    failing = bounces.failing_addresses(session) if channel == "email" else {}
    for kind, ident in _source_ids(session, source, campaign):
        key = f"{kind}:{ident}"
        if key in seen:
            continue
        seen.add(key)
        rec = contacts_recipients.recipient(
            session,
            person_id=ident if kind == "person" else None,
            organisation_id=ident if kind == "organisation" else None,
            on=on,
            language=None if language == "recipient" else language,
        )
        cand = Candidate(key, rec.person_id if kind == "person" else None, None, rec)
        if kind == "organisation":
            cand.organisation_id = ident
        flags = [f for f, on in (("no post", rec.no_post), ("no email", rec.no_email)) if on]
        blocked = "no post" if channel == "post" else "no email"
        if blocked in flags:
            cand.reason = f"flagged “{blocked}”"
            plan.excluded.append(cand)
            continue
        notes = [f"flagged “{f}”" for f in flags]
        if channel == "post" and not rec.address_lines:
            notes.append("no postal address on file")
        if channel == "email" and not rec.email:
            notes.append("no email address on file")
        elif rec.email.strip().lower() in failing:
            notes.append(f"email {rec.email} {failing[rec.email.strip().lower()]}")
        cand.reason = "; ".join(notes)
        plan.letters.append(cand)
    return plan


def recipient_rows(candidates: Iterable[Candidate]) -> list[RecipientRow]:
    return [
        RecipientRow(
            key=c.key,
            name=c.recipient.display_name,
            country=c.recipient.country_name,
            language=c.recipient.language,
            reason=c.reason,
            language_note=c.language_note,
            empty_fields=c.empty_fields,
        )
        for c in candidates
    ]


def list_segments(session: Session) -> Sequence[Segment]:
    return session.scalars(select(Segment).order_by(Segment.name)).all()
