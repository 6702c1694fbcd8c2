"""Which of our letters a reply probably answers: ranked suggestions, each with its reasons.

Evidence, strongest first: the Message-ID of our email in In-Reply-To/References, the letter's
reference in the replies+REF@ address, our reference number quoted in the subject or text (also
retyped: "CMC 2010/TJK/1"), the date of our letter cited in the reply ("your letter dated 30
January 2009", "Вашего письма от 5 декабря", "بالإشارة إلى رسالتكم المؤرخة 1 مايو 2010"), and who
answers (the addressee, its organisation or one of its parents — an embassy forwarding its
ministry's answer —, an embassy or permanent mission answering for its capital, or at least the
same state; read from the letterhead when the sender is not given). Reading the text is
``reading``'s work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.models import Country, Letter, LetterStatus, Organisation, OrganisationType, Position
from app.replies import dates, references
from app.replies.letterhead import find_sender

# Letters that can be answered: sent ones, and those already answered (a second reply).
ANSWERABLE = (LetterStatus.sent, LetterStatus.replied, LetterStatus.closed)

SCORE_MESSAGE_ID = 100
SCORE_PLUS_ADDRESS = 100
SCORE_REFERENCE = 90
SCORE_CITED_DATE = 45
SCORE_OTHER_DATE = 10
SCORE_ADDRESSEE = 35
SCORE_ORGANISATION = 30
# an embassy or permanent mission answering for a ministry or head of state of its state
SCORE_CAPITAL = 28
SCORE_COUNTRY = 20
CERTAIN = {"in-reply-to", "reply-to address"}

# CMC/2009/PAK/0001, CMC-2010-TJK-0001, ICBL/2011/0042: letters, then groups of letters or digits.
REFERENCE_PATTERN = re.compile(
    r"(?<![A-Za-z0-9])([A-Z][A-Z0-9]{1,15}(?:[/-][A-Z0-9]{1,15}){1,5})(?![A-Za-z0-9])"
)


def normalise_reference(value: str) -> str:
    """References are printed with '/' and travel in addresses with '-': compare them as one."""
    return value.strip().upper().replace("-", "/")


def references_in(text: str) -> list[str]:
    found = [normalise_reference(m.group(1)) for m in REFERENCE_PATTERN.finditer(text or "")]
    # a reference has at least one digit (not "UN/CCW")
    return list(dict.fromkeys(r for r in found if any(ch.isdigit() for ch in r)))


def reference_from_address(address: str) -> str | None:
    """replies+CMC-2010-TJK-0001@example.org → CMC/2010/TJK/0001."""
    match = re.search(r"\+([A-Za-z0-9][A-Za-z0-9._-]{2,80})@", address or "")
    return normalise_reference(match.group(1)) if match else None


@dataclass(frozen=True)
class FoundDate:
    on: date
    start: int
    cited: bool  # introduced as the date of a letter ("your letter dated ...")
    # the month-first reading of an ambiguous numeric date (01.05.2010: 5 January)
    alternative: date | None = None


def dates_in(text: str) -> list[FoundDate]:
    """Every date with a year written in the text, in order, marked when it is the date of a
    cited letter (month names in the ten languages replies come in; see ``reading``)."""
    return [
        FoundDate(on, m.start, m.cited, m.alternative)
        for m in dates.find_dates(text or "")
        if (on := m.on) is not None
    ]


def cited_letter_dates(text: str) -> list[date]:
    return list(dict.fromkeys(d.on for d in dates_in(text) if d.cited))


@dataclass
class MatchInput:
    subject: str = ""
    text: str = ""
    sender_person_id: int | None = None
    sender_organisation_id: int | None = None
    country_id: int | None = None
    cited_letter_date: date | None = None
    message_ids: Sequence[str] = ()  # In-Reply-To and References
    address_references: Sequence[str] = ()  # from replies+REF@ addresses
    # the reply's own date, when known (a year-less cited date is read against it); else the
    # date line of the text
    reply_date: date | None = None


@dataclass
class Suggestion:
    letter_id: int
    reference: str
    recipient_name: str
    country: str
    letter_date: date | None
    sent_on: date | None
    status: str
    score: int = 0
    reasons: list[str] = field(default_factory=list)
    matched_by: list[str] = field(default_factory=list)
    # another letter has the same top score: nothing tells them apart
    tied: bool = False
    rank: int = 0
    # the reply is from a known state and this letter went to another one
    other_state: bool = False

    @property
    def certain(self) -> bool:
        return bool(CERTAIN & set(self.matched_by))

    @property
    def confident(self) -> bool:
        """Sure enough to link without asking: certain evidence, or, alone at the top, our
        reference quoted, or the cited date of a letter to the state or sender the reply is
        from. A date that is not cited, or the same state alone, never is."""
        if self.certain:
            return True
        if self.rank != 0 or self.tied:
            return False
        if "reference" in self.matched_by:
            return True
        return (
            "cited date" in self.matched_by
            and not self.other_state
            and bool({"country", "organisation", "addressee"} & set(self.matched_by))
        )

    @property
    def on(self) -> date | None:
        return self.letter_date or self.sent_on

    def add(self, score: int, kind: str, reason: str) -> None:
        self.score += score
        self.matched_by.append(kind)
        self.reasons.append(reason)


def organisation_chain(session: Session, organisation_id: int) -> list[int]:
    """The organisation and its parents (embassy → ministry → government), nearest first."""
    chain: list[int] = []
    current: int | None = organisation_id
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = session.scalar(select(Organisation.parent_id).where(Organisation.id == current))
    return chain


def _person_organisations(session: Session, person_id: int) -> list[int]:
    return list(
        session.scalars(select(Position.organisation_id).where(Position.person_id == person_id))
    )


_fmt = dates.fmt


@dataclass
class _Evidence:
    """What the reply says, read once for all the letters it is compared with."""

    cited: dict[date, str]  # date → how it was read, when that needed care
    other_dates: set[date]
    quoted: dict[int, references.QuotedReference]
    address_refs: list[str]
    message_ids: list[str]


def _evidence(session: Session, data: MatchInput, scope: dates.Scope) -> _Evidence:
    text = f"{data.subject}\n{data.text}"
    reply_on = data.reply_date or dates.reply_date(data.text)
    resolved = dates.resolve_dates(session, dates.find_dates(text), scope, reply_on=reply_on)
    cited: dict[date, str] = {}
    other: set[date] = set()
    for r in resolved:
        for on in (r.on, *r.alternatives):
            if r.cited:
                cited.setdefault(on, r.note)
            else:
                other.add(on)
    if data.cited_letter_date:
        cited.setdefault(data.cited_letter_date, "")
    return _Evidence(
        cited=cited,
        other_dates=other - set(cited),
        quoted={q.letter_id: q for q in references.our_references(session, text)},
        address_refs=[normalise_reference(r) for r in data.address_references],
        message_ids=[m.strip() for m in data.message_ids if m.strip()],
    )


# Offices abroad that speak for their government, and the offices in the capital they answer for.
ABROAD = {OrganisationType.embassy, OrganisationType.permanent_mission}
CAPITAL = {
    OrganisationType.ministry,
    OrganisationType.head_of_state_office,
    OrganisationType.government,
}


def suggest(session: Session, data: MatchInput, *, limit: int = 10) -> list[Suggestion]:
    """Letters the reply probably answers, best first; each says why. Letters with the same
    score keep the order of their references: a tie is marked, never broken by a guess."""
    letterhead = None
    sender_org_id = data.sender_organisation_id
    if sender_org_id is None and data.text:
        letterhead = find_sender(session, data.text, country_id=data.country_id)
        sender_org_id = letterhead.organisation_id if letterhead else None
    sender = session.get(Organisation, sender_org_id) if sender_org_id else None
    orgs = organisation_chain(session, sender_org_id) if sender_org_id else []
    person_orgs: list[int] = []
    if data.sender_person_id:
        for oid in _person_organisations(session, data.sender_person_id):
            person_orgs.extend(organisation_chain(session, oid))
    country_id = data.country_id or (sender.country_id if sender else None)
    country_name = (
        session.scalar(select(Country.name).where(Country.id == country_id)) if country_id else ""
    )
    scope = dates.Scope(country_id, orgs + person_orgs, data.sender_person_id, country_name or "")
    ev = _evidence(session, data, scope)

    ref_column = func.upper(func.replace(Letter.reference, "-", "/"))
    conditions: list[ColumnElement[bool]] = []
    if ev.quoted:
        conditions.append(Letter.id.in_(list(ev.quoted)))
    if ev.address_refs:
        conditions.append(ref_column.in_(ev.address_refs))
    if ev.message_ids:
        conditions.append(Letter.email_message_id.in_(ev.message_ids))
    all_dates = set(ev.cited) | ev.other_dates
    if all_dates:
        conditions.append(Letter.letter_date.in_(all_dates))
        conditions.append(Letter.sent_on.in_(all_dates))
    if orgs or person_orgs:
        conditions.append(Letter.organisation_id.in_(orgs + person_orgs))
    if data.sender_person_id:
        conditions.append(Letter.person_id == data.sender_person_id)
    if country_id:
        conditions.append(Letter.country_id == country_id)
    if not conditions:
        return []
    recipient = aliased(Organisation)
    rows = session.execute(
        select(Letter, Country.name, recipient.type)
        .outerjoin(Country, Country.id == Letter.country_id)
        .outerjoin(recipient, recipient.id == Letter.organisation_id)
        .where(Letter.status.in_(ANSWERABLE), or_(*conditions))
        .order_by(Letter.sent_on.desc(), Letter.id.desc())
        .limit(500)
    ).all()
    via = f" ({letterhead.reason})" if letterhead else ""
    answers_for_capital = (
        sender is not None and sender.type in ABROAD and sender.country_id is not None
    )

    suggestions: list[Suggestion] = []
    for letter, letter_country, recipient_type in rows:
        s = Suggestion(
            letter_id=letter.id,
            reference=letter.reference,
            recipient_name=letter.recipient_name,
            country=letter_country or "",
            letter_date=letter.letter_date,
            sent_on=letter.sent_on,
            status=letter.status.value,
            other_state=bool(country_id and letter.country_id != country_id),
        )
        norm = normalise_reference(letter.reference)
        if letter.email_message_id and letter.email_message_id in ev.message_ids:
            s.add(SCORE_MESSAGE_ID, "in-reply-to", "It answers our email (In-Reply-To/References).")
        if norm in ev.address_refs:
            s.add(
                SCORE_PLUS_ADDRESS,
                "reply-to address",
                f"Sent to the reply address of {letter.reference}.",
            )
        if quoted := ev.quoted.get(letter.id):
            written = (
                f' (written "{quoted.written}")'
                if normalise_reference(quoted.written) != norm
                else ""
            )
            s.add(
                SCORE_REFERENCE, "reference", f"Quotes our reference {letter.reference}{written}."
            )
        letter_days = {d for d in (letter.letter_date, letter.sent_on) if d}
        if hit := letter_days & set(ev.cited):
            on = min(hit)
            note = f" ({ev.cited[on].rstrip('.')})" if ev.cited[on] else ""
            s.add(SCORE_CITED_DATE, "cited date", f"Cites our letter of {_fmt(on)}{note}.")
        elif hit := letter_days & ev.other_dates:
            s.add(SCORE_OTHER_DATE, "date", f"Mentions {_fmt(min(hit))}, the date of our letter.")
        if data.sender_person_id and letter.person_id == data.sender_person_id:
            s.add(SCORE_ADDRESSEE, "addressee", "The sender is the person we wrote to.")
        if letter.organisation_id and letter.organisation_id in orgs:
            if letter.organisation_id == orgs[0]:
                s.add(
                    SCORE_ORGANISATION,
                    "organisation",
                    f"Sent by the organisation we wrote to{via}.",
                )
            else:
                s.add(
                    SCORE_ORGANISATION,
                    "organisation",
                    f"The sender belongs to the organisation we wrote to (e.g. its embassy){via}.",
                )
        elif letter.organisation_id and letter.organisation_id in person_orgs:
            s.add(
                SCORE_ORGANISATION,
                "organisation",
                "The sender works for the organisation we wrote to.",
            )
        elif (
            answers_for_capital
            and sender is not None
            and letter.country_id == sender.country_id
            and recipient_type in CAPITAL
        ):
            s.add(
                SCORE_CAPITAL,
                "organisation",
                f"The {sender.name} answers for its capital{via}.",
            )
        if country_id and letter.country_id == country_id:
            s.add(SCORE_COUNTRY, "country", f"Same state ({letter_country}).")
        # A date or the same state alone is too weak to suggest among hundreds of letters.
        if s.score > SCORE_COUNTRY or s.matched_by == ["country"] and len(rows) <= 30:
            suggestions.append(s)
    suggestions.sort(key=lambda s: (-s.score, s.reference, s.letter_id))
    _mark_ties(suggestions)
    return suggestions[:limit]


def _mark_ties(suggestions: list[Suggestion]) -> None:
    for rank, s in enumerate(suggestions):
        s.rank = rank
    top = [s for s in suggestions if suggestions and s.score == suggestions[0].score]
    if len(top) > 1:
        for s in top:
            s.tied = True


def tie_note(suggestions: Sequence[Suggestion]) -> str | None:
    """ "2 letters fit equally: CMC/2010/TJK/0001 (1 May 2010), CMC/2010/TJK/0002 (1 May 2010)"
    when the best suggestions are tied; None when one stands out."""
    tied = [s for s in suggestions if s.tied]
    if len(tied) < 2:
        return None
    listed = ", ".join(f"{s.reference} ({_fmt(on)})" if (on := s.on) else s.reference for s in tied)
    return f"{len(tied)} letters fit equally: {listed}"


def best_certain(suggestions: Iterable[Suggestion]) -> list[Suggestion]:
    return [s for s in suggestions if s.certain]
