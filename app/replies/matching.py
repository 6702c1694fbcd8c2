"""Which of our letters a reply probably answers: ranked suggestions, each with its reasons.

Evidence, strongest first: the Message-ID of our email in In-Reply-To/References, the letter's
reference in the replies+REF@ address, our reference number quoted in the subject or text, the
date of our letter cited in the reply ("your letter dated 30 January 2009", "votre lettre du
30 janvier 2009"), and who answers (the addressee, its organisation or one of its parents — an
embassy forwarding its ministry's answer — or at least the same state).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from babel.dates import get_month_names
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from app.models import Country, Letter, LetterStatus, Organisation, Position

# Letters that can be answered: sent ones, and those already answered (a second reply).
ANSWERABLE = (LetterStatus.sent, LetterStatus.replied, LetterStatus.closed)
# Languages whose month names are recognised in cited dates.
DATE_LOCALES = ("en", "fr", "es", "de", "pt", "it", "ru", "nl")

SCORE_MESSAGE_ID = 100
SCORE_PLUS_ADDRESS = 100
SCORE_REFERENCE = 90
SCORE_CITED_DATE = 45
SCORE_OTHER_DATE = 10
SCORE_ADDRESSEE = 35
SCORE_ORGANISATION = 30
SCORE_COUNTRY = 20
CERTAIN = {"in-reply-to", "reply-to address"}

# CMC/2009/PAK/0001, CMC-2010-TJK-0001, ICBL/2011/0042: letters, then groups of letters or digits.
REFERENCE_PATTERN = re.compile(
    r"(?<![A-Za-z0-9])([A-Z][A-Z0-9]{1,15}(?:[/-][A-Z0-9]{1,15}){1,5})(?![A-Za-z0-9])"
)
# "your letter", "votre lettre", "su carta", "Ihr Schreiben", "ваше письмо" ... then a date.
LETTER_CITATION = re.compile(
    r"(letter|note|communication|correspondence|lettre|courrier|carta|nota|schreiben|brief|"
    r"письмо|lettera)\b[^.\n]{0,25}?\b(dated|of|from|du|en date du|de fecha|del|de|vom|от|"
    r"datata|del giorno)?\s*$",
    re.IGNORECASE,
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


@lru_cache
def _month_table() -> tuple[dict[str, int], str]:
    names: dict[str, int] = {}
    for locale in DATE_LOCALES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, locale).items():
                    key = name.lower().rstrip(".")
                    if len(key) >= 3:
                        names.setdefault(key, number)
    alternation = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return names, alternation


@lru_cache
def _date_patterns() -> list[tuple[re.Pattern[str], str]]:
    _, months = _month_table()
    return [
        # 30 January 2009, 30 janvier 2009, 30 de enero de 2009, 30. Januar 2009, 1er mars 2009
        (
            re.compile(
                rf"\b(\d{{1,2}})(?:er|st|nd|rd|th|º)?\.?\s+(?:de\s+)?({months})\.?,?\s+(?:de\s+)?(\d{{4}})\b",
                re.IGNORECASE,
            ),
            "dmy",
        ),
        # January 30, 2009
        (
            re.compile(rf"\b({months})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I),
            "mdy",
        ),
        (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), "iso"),
        # 30.01.2009, 30/01/2009, 30-01-2009: day first, as most of the world writes it
        (re.compile(r"\b(\d{1,2})[./-](\d{1,2})[./-](\d{4})\b"), "numeric"),
    ]


@dataclass(frozen=True)
class FoundDate:
    on: date
    start: int
    cited: bool  # introduced as the date of a letter ("your letter dated ...")


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def dates_in(text: str) -> list[FoundDate]:
    """Every date written in the text, in order, marked when it is the date of a cited letter."""
    names, _ = _month_table()
    found: dict[int, FoundDate] = {}
    spans: list[tuple[int, int]] = []
    for pattern, kind in _date_patterns():
        for m in pattern.finditer(text or ""):
            if any(a < m.end() and m.start() < b for a, b in spans):
                continue
            if kind == "dmy":
                on = _make_date(int(m.group(3)), names[m.group(2).lower()], int(m.group(1)))
            elif kind == "mdy":
                on = _make_date(int(m.group(3)), names[m.group(1).lower()], int(m.group(2)))
            elif kind == "iso":
                on = _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            else:
                on = _make_date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            if on is None:
                continue
            spans.append(m.span())
            before = text[max(0, m.start() - 60) : m.start()]
            found[m.start()] = FoundDate(on, m.start(), bool(LETTER_CITATION.search(before)))
    return [found[k] for k in sorted(found)]


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

    @property
    def certain(self) -> bool:
        return bool(CERTAIN & set(self.matched_by))

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


def _fmt(on: date) -> str:
    return f"{on.day} {on.strftime('%B %Y')}"


def suggest(session: Session, data: MatchInput, *, limit: int = 10) -> list[Suggestion]:
    """Letters the reply probably answers, best first; each says why."""
    text = f"{data.subject}\n{data.text}"
    refs = references_in(text)
    dates_found = dates_in(text)
    cited = {d.on for d in dates_found if d.cited}
    if data.cited_letter_date:
        cited.add(data.cited_letter_date)
    other_dates = {d.on for d in dates_found if not d.cited} - cited
    address_refs = [normalise_reference(r) for r in data.address_references]
    message_ids = [m.strip() for m in data.message_ids if m.strip()]

    orgs: list[int] = []
    if data.sender_organisation_id:
        orgs = organisation_chain(session, data.sender_organisation_id)
    person_orgs: list[int] = []
    if data.sender_person_id:
        for oid in _person_organisations(session, data.sender_person_id):
            person_orgs.extend(organisation_chain(session, oid))
    country_id = data.country_id
    if country_id is None and orgs:
        country_id = session.scalar(
            select(Organisation.country_id).where(Organisation.id == orgs[0])
        )

    ref_column = func.upper(func.replace(Letter.reference, "-", "/"))
    conditions: list[ColumnElement[bool]] = []
    if refs or address_refs:
        conditions.append(ref_column.in_(refs + address_refs))
    if message_ids:
        conditions.append(Letter.email_message_id.in_(message_ids))
    all_dates = cited | other_dates
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
    rows = session.execute(
        select(Letter, Country.name)
        .outerjoin(Country, Country.id == Letter.country_id)
        .where(Letter.status.in_(ANSWERABLE), or_(*conditions))
        .order_by(Letter.sent_on.desc(), Letter.id.desc())
        .limit(500)
    ).all()

    suggestions: list[Suggestion] = []
    for letter, country_name in rows:
        s = Suggestion(
            letter_id=letter.id,
            reference=letter.reference,
            recipient_name=letter.recipient_name,
            country=country_name or "",
            letter_date=letter.letter_date,
            sent_on=letter.sent_on,
            status=letter.status.value,
        )
        norm = normalise_reference(letter.reference)
        if letter.email_message_id and letter.email_message_id in message_ids:
            s.add(SCORE_MESSAGE_ID, "in-reply-to", "It answers our email (In-Reply-To/References).")
        if norm in address_refs:
            s.add(
                SCORE_PLUS_ADDRESS,
                "reply-to address",
                f"Sent to the reply address of {letter.reference}.",
            )
        if norm in refs:
            s.add(SCORE_REFERENCE, "reference", f"Quotes our reference {letter.reference}.")
        letter_days = {d for d in (letter.letter_date, letter.sent_on) if d}
        if hit := letter_days & cited:
            s.add(
                SCORE_CITED_DATE,
                "cited date",
                f"Cites our letter of {_fmt(min(hit))}.",
            )
        elif hit := letter_days & other_dates:
            s.add(SCORE_OTHER_DATE, "date", f"Mentions {_fmt(min(hit))}, the date of our letter.")
        if data.sender_person_id and letter.person_id == data.sender_person_id:
            s.add(SCORE_ADDRESSEE, "addressee", "The sender is the person we wrote to.")
        if letter.organisation_id and letter.organisation_id in orgs:
            if letter.organisation_id == orgs[0]:
                s.add(SCORE_ORGANISATION, "organisation", "Sent by the organisation we wrote to.")
            else:
                s.add(
                    SCORE_ORGANISATION,
                    "organisation",
                    "The sender belongs to the organisation we wrote to (e.g. its embassy).",
                )
        elif letter.organisation_id and letter.organisation_id in person_orgs:
            s.add(
                SCORE_ORGANISATION,
                "organisation",
                "The sender works for the organisation we wrote to.",
            )
        if country_id and letter.country_id == country_id:
            s.add(SCORE_COUNTRY, "country", f"Same state ({country_name}).")
        # A date or the same state alone is too weak to suggest among hundreds of letters.
        if s.score > SCORE_COUNTRY or s.matched_by == ["country"] and len(rows) <= 30:
            suggestions.append(s)
    suggestions.sort(key=lambda s: (-s.score, -(s.sent_on or date.min).toordinal()))
    return suggestions[:limit]


def best_certain(suggestions: Iterable[Suggestion]) -> list[Suggestion]:
    return [s for s in suggestions if s.certain]
