"""Replies: log them, link them to the letters they answer, triage inbound email, attachments."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.audit import service as audit
from app.config import get_settings
from app.contacts import service as contacts_service
from app.contacts.schemas import ContactPointCreate, OrganisationCreate, PersonCreate
from app.countries import service as countries_service
from app.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from app.mail import inbound
from app.models import (
    Channel,
    ContactKind,
    ContactPoint,
    Country,
    Letter,
    LetterStatus,
    Organisation,
    Person,
    Position,
    Reply,
    ReplyAttachment,
    ReplyLetter,
    ReplyStatus,
    User,
)
from app.replies import matching, positions
from app.replies.schemas import ContactFromSender, ReplyCreate, ReplyUpdate

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
# Scans and images only, recognised by their first bytes, never by the name or declared type.
ALLOWED_TYPES = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/tiff": ".tif",
    "image/gif": ".gif",
    "image/webp": ".webp",
}


def sniff(content: bytes) -> str | None:
    """The content type the bytes really are, among the allowed ones; None otherwise."""
    head = content[:16]
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def safe_filename(name: str, content_type: str) -> str:
    stem = Path(unicodedata.normalize("NFKC", name or "").replace("\\", "/")).name
    stem = re.sub(r"[^\w.\- ()]+", "_", stem).strip(" ._") or "attachment"
    stem = Path(stem).stem[:120] or "attachment"
    return stem + ALLOWED_TYPES[content_type]


# --- reading --------------------------------------------------------------------------------


def _query() -> Any:
    return select(Reply).options(selectinload(Reply.links), selectinload(Reply.attachments))


def get(session: Session, reply_id: int) -> Reply:
    reply = session.scalar(
        _query().where(Reply.id == reply_id).execution_options(populate_existing=True)
    )
    if reply is None:
        raise NotFound(f"No reply has the id {reply_id}.")
    return reply


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
    """The views of many replies (loaded with ``_query()``) in a few queries, not a few each."""

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
    if search:
        like = f"%{search.strip()}%"
        query = query.where(
            or_(
                Reply.sender_name.ilike(like),
                Reply.subject.ilike(like),
                Reply.summary.ilike(like),
                Reply.sender_reference.ilike(like),
                Reply.sender_email.ilike(like),
            )
        )
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
        _query()
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


# --- writing --------------------------------------------------------------------------------


def _sender_country(session: Session, data: ReplyCreate) -> int | None:
    if data.country:
        try:
            return countries_service.get_by_code(session, data.country).id
        except NotFound:
            raise InvalidInput(
                f"{data.country} is not a country code.",
                errors=[{"field": "country", "message": "unknown country"}],
            ) from None
    if data.sender_organisation_id:
        org = session.get(Organisation, data.sender_organisation_id)
        if org is not None and org.country_id:
            return org.country_id
    if data.sender_person_id:
        # the state of the organisation the sender works for, when they hold a position
        return session.scalar(
            select(Organisation.country_id)
            .join(Position, Position.organisation_id == Organisation.id)
            .where(
                Position.person_id == data.sender_person_id, Organisation.country_id.is_not(None)
            )
            .order_by(Position.start_date.desc())
            .limit(1)
        )
    return None


def _check_sender(session: Session, data: ReplyCreate) -> None:
    if data.sender_person_id and session.get(Person, data.sender_person_id) is None:
        raise InvalidInput(
            f"No person has the id {data.sender_person_id}.",
            errors=[{"field": "sender_person_id", "message": "unknown person"}],
        )
    if (
        data.sender_organisation_id
        and session.get(Organisation, data.sender_organisation_id) is None
    ):
        raise InvalidInput(
            f"No organisation has the id {data.sender_organisation_id}.",
            errors=[{"field": "sender_organisation_id", "message": "unknown organisation"}],
        )


def _letters(session: Session, letter_ids: Sequence[int]) -> list[Letter]:
    if not letter_ids:
        return []
    letters = list(session.scalars(select(Letter).where(Letter.id.in_(letter_ids))))
    missing = set(letter_ids) - {letter.id for letter in letters}
    if missing:
        raise InvalidInput(
            f"No letter has the id {min(missing)}.",
            errors=[{"field": "letter_ids", "message": "unknown letter"}],
        )
    for letter in letters:
        if letter.status not in matching.ANSWERABLE:
            raise InvalidInput(
                f"The letter {letter.reference} has not been sent ({letter.status.value}); "
                "only sent letters can be answered.",
                errors=[{"field": "letter_ids", "message": "letter not sent"}],
            )
    return letters


def _link(
    session: Session, reply: Reply, letters: Sequence[Letter], matched_by: dict[int, str]
) -> None:
    have = {link.letter_id for link in reply.links}
    for letter in letters:
        if letter.id not in have:
            reply.links.append(
                ReplyLetter(letter_id=letter.id, matched_by=matched_by.get(letter.id, "manual"))
            )
        if letter.status is LetterStatus.sent:
            letter.status = LetterStatus.replied
    if reply.country_id is None:
        reply.country_id = next((lt.country_id for lt in letters if lt.country_id), None)


def create(
    session: Session,
    *,
    data: ReplyCreate,
    actor: User | None,
    status: ReplyStatus = ReplyStatus.logged,
    matched_by: dict[int, str] | None = None,
    email_message_id: str = "",
    email_in_reply_to: str = "",
    triage_note: str = "",
) -> Reply:
    _check_sender(session, data)
    letters = _letters(session, data.letter_ids)
    reply = Reply(
        status=status,
        received_on=data.received_on,
        channel=data.channel,
        sender_person_id=data.sender_person_id,
        sender_organisation_id=data.sender_organisation_id,
        country_id=_sender_country(session, data),
        sender_name=data.sender_name.strip(),
        sender_email=data.sender_email.strip().lower(),
        sender_reference=data.sender_reference.strip(),
        cited_letter_date=data.cited_letter_date,
        subject=data.subject.strip(),
        summary=data.summary.strip(),
        full_text=data.full_text,
        email_message_id=email_message_id[:250],
        email_in_reply_to=email_in_reply_to[:1000],
        triage_note=triage_note[:1000],
        created_by_id=actor.id if actor else None,
        links=[],
        attachments=[],
    )
    session.add(reply)
    _link(session, reply, letters, matched_by or {})
    session.flush()
    if data.positions:
        if reply.country_id is None:
            raise InvalidInput(
                "A position needs the state it is about: pick the sender, the state or a letter.",
                errors=[{"field": "country", "message": "state needed for a position"}],
            )
        for p in data.positions:
            positions.record_from_reply(
                session,
                reply=reply,
                treaty_short_name=p.treaty,
                stance=p.stance,
                quote=p.quote,
                actor=actor,
                stated_on=p.stated_on,
            )
    audit.record(
        session,
        user=actor,
        action="reply.create",
        entity_type="reply",
        entity_id=reply.id,
        summary=f"Logged a reply from {reply.sender_name or 'a listed contact'}"
        + (f" answering {', '.join(lt.reference for lt in letters)}" if letters else "")
        + (" (to triage)" if status is ReplyStatus.triage else ""),
    )
    return get(session, reply.id)


def update(session: Session, *, reply_id: int, data: ReplyUpdate, actor: User) -> Reply:
    reply = get(session, reply_id)
    if reply.version != data.version:
        raise Conflict("Someone else changed this reply since you opened it; reload and retry.")
    reply.received_on = data.received_on
    reply.channel = data.channel
    reply.sender_name = data.sender_name.strip()
    reply.sender_reference = data.sender_reference.strip()
    reply.cited_letter_date = data.cited_letter_date
    reply.subject = data.subject.strip()
    reply.summary = data.summary.strip()
    reply.full_text = data.full_text
    _flush(session)
    audit.record(
        session,
        user=actor,
        action="reply.update",
        entity_type="reply",
        entity_id=reply.id,
        summary=f"Edited reply {reply.id}",
    )
    return get(session, reply.id)


def link_letters(
    session: Session, *, reply_id: int, letter_ids: Sequence[int], actor: User
) -> Reply:
    """Link a reply to letters; a reply in triage becomes logged."""
    reply = get(session, reply_id)
    if reply.status is ReplyStatus.dismissed:
        raise Conflict("This reply was dismissed; it cannot be linked.")
    letters = _letters(session, letter_ids)
    _link(session, reply, letters, {})
    reply.status = ReplyStatus.logged
    _flush(session)
    audit.record(
        session,
        user=actor,
        action="reply.link",
        entity_type="reply",
        entity_id=reply.id,
        summary=f"Linked reply {reply.id} to {', '.join(lt.reference for lt in letters)}",
    )
    return get(session, reply.id)


def unlink_letter(session: Session, *, reply_id: int, letter_id: int, actor: User) -> Reply:
    reply = get(session, reply_id)
    link = next((lk for lk in reply.links if lk.letter_id == letter_id), None)
    if link is None:
        raise NotFound("This reply is not linked to that letter.")
    reply.links.remove(link)
    session.flush()
    _reopen(session, [letter_id])
    audit.record(
        session,
        user=actor,
        action="reply.unlink",
        entity_type="reply",
        entity_id=reply.id,
        summary=f"Unlinked reply {reply.id} from letter {letter_id}",
    )
    return get(session, reply.id)


def _reopen(session: Session, letter_ids: Sequence[int]) -> None:
    """A letter no reply answers any more is waiting again."""
    for letter in session.scalars(select(Letter).where(Letter.id.in_(letter_ids))):
        answered = session.scalar(
            select(func.count(ReplyLetter.id)).where(ReplyLetter.letter_id == letter.id)
        )
        if not answered and letter.status is LetterStatus.replied:
            letter.status = LetterStatus.sent
    session.flush()


def dismiss(session: Session, *, reply_id: int, note: str, actor: User) -> Reply:
    reply = get(session, reply_id)
    if reply.links:
        raise Conflict("This reply answers letters; unlink them before dismissing it.")
    reply.status = ReplyStatus.dismissed
    reply.triage_note = (note or "Dismissed")[:1000]
    _flush(session)
    audit.record(
        session,
        user=actor,
        action="reply.dismiss",
        entity_type="reply",
        entity_id=reply.id,
        summary=f"Dismissed reply {reply.id}: {reply.triage_note}",
    )
    return get(session, reply.id)


def delete(session: Session, *, reply_id: int, actor: User) -> None:
    reply = get(session, reply_id)
    letter_ids = [link.letter_id for link in reply.links]
    paths = [a.storage_path for a in reply.attachments]
    positions.detach_reply(session, reply_id=reply.id)
    session.delete(reply)
    session.flush()
    _reopen(session, letter_ids)
    for path in paths:
        _storage_path(path).unlink(missing_ok=True)
    audit.record(
        session,
        user=actor,
        action="reply.delete",
        entity_type="reply",
        entity_id=reply_id,
        summary=f"Deleted reply {reply_id}",
    )


def create_contact_from_sender(
    session: Session, *, reply_id: int, data: ContactFromSender, actor: User
) -> Reply:
    """Triage, on request only: a directory entry for the sender, then set as the sender."""
    reply = get(session, reply_id)
    country = data.country or None
    email = data.email.strip()
    if data.kind == "organisation":
        org = contacts_service.create_organisation(
            session,
            data=OrganisationCreate(name=data.name, type="ministry", country=country),
            actor=actor,
        )
        if email:
            contacts_service.create_contact_point(
                session,
                data=ContactPointCreate(
                    organisation_id=org.id, kind=ContactKind.email, value=email
                ),
                actor=actor,
            )
        reply.sender_organisation_id = org.id
        if reply.country_id is None:
            reply.country_id = org.country_id
    else:
        given, _, family = data.name.strip().rpartition(" ")
        person = contacts_service.create_person(
            session,
            data=PersonCreate(given_name=given, family_name=family or data.name),
            actor=actor,
        )
        if email:
            contacts_service.create_contact_point(
                session,
                data=ContactPointCreate(person_id=person.id, kind=ContactKind.email, value=email),
                actor=actor,
            )
        reply.sender_person_id = person.id
        if data.organisation_id:
            reply.sender_organisation_id = contacts_service.get_organisation(
                session, data.organisation_id
            ).id
    _flush(session)
    audit.record(
        session,
        user=actor,
        action="reply.sender_contact",
        entity_type="reply",
        entity_id=reply.id,
        summary=f"Added {data.name} to the directory as the sender of reply {reply.id}",
    )
    return get(session, reply.id)


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("Someone else changed this reply at the same time; reload.") from None


# --- attachments ----------------------------------------------------------------------------


def _storage_path(relative: str) -> Path:
    return get_settings().files_dir / relative


def add_attachment(
    session: Session, *, reply_id: int, filename: str, content: bytes, actor: User | None
) -> ReplyAttachment:
    reply = get(session, reply_id)
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise PayloadTooLarge(
            f"{filename}: larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB."
        )
    if not content:
        raise InvalidInput(f"{filename}: the file is empty.")
    kind = sniff(content)
    if kind is None:
        raise InvalidInput(
            f"{filename}: only PDF scans and images (PNG, JPEG, TIFF, GIF, WebP) are accepted.",
            errors=[{"field": "attachments", "message": "file type not accepted"}],
        )
    relative = f"replies/{secrets.token_hex(16)}{ALLOWED_TYPES[kind]}"
    path = _storage_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    attachment = ReplyAttachment(
        reply_id=reply.id,
        filename=safe_filename(filename, kind),
        content_type=kind,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        storage_path=relative,
    )
    reply.attachments.append(attachment)
    session.flush()
    audit.record(
        session,
        user=actor,
        action="reply.attachment",
        entity_type="reply",
        entity_id=reply.id,
        summary=f"Attached {attachment.filename} to reply {reply.id}",
    )
    return attachment


def get_attachment(session: Session, attachment_id: int) -> tuple[ReplyAttachment, Path]:
    attachment = session.get(ReplyAttachment, attachment_id)
    if attachment is None:
        raise NotFound(f"No attachment has the id {attachment_id}.")
    path = _storage_path(attachment.storage_path)
    if not path.is_file():
        raise NotFound("The attachment's file is missing from the data directory.")
    return attachment, path


# --- suggestions and inbound email ----------------------------------------------------------


def suggest(
    session: Session,
    *,
    subject: str = "",
    text: str = "",
    sender_person_id: int | None = None,
    sender_organisation_id: int | None = None,
    country: str | None = None,
    cited_letter_date: date | None = None,
) -> list[matching.Suggestion]:
    country_id = None
    if country:
        try:
            country_id = countries_service.get_by_code(session, country).id
        except NotFound:
            country_id = None
    return matching.suggest(
        session,
        matching.MatchInput(
            subject=subject,
            text=text,
            sender_person_id=sender_person_id,
            sender_organisation_id=sender_organisation_id,
            country_id=country_id,
            cited_letter_date=cited_letter_date,
        ),
    )


def find_sender(session: Session, email: str) -> tuple[int | None, int | None]:
    """(person_id, organisation_id) of a directory entry with this email address, if any."""
    if not email:
        return None, None
    cp = session.scalar(
        select(ContactPoint)
        .where(ContactPoint.kind == ContactKind.email, func.lower(ContactPoint.value) == email)
        .order_by(ContactPoint.preferred.desc(), ContactPoint.id)
        .limit(1)
    )
    if cp is None:
        return None, None
    return cp.person_id, cp.organisation_id


def ingest_email(session: Session, *, raw: bytes, actor: User | None) -> tuple[Reply, bool]:
    """Log an email reply; (reply, created). Unsure matches go to triage; no contact is created.

    The same Message-ID twice gives the reply logged the first time (mailbox polling re-reads).
    """
    message = inbound.parse(raw)
    if message.message_id:
        existing = session.scalar(
            select(Reply.id).where(Reply.email_message_id == message.message_id[:250])
        )
        if existing:
            return get(session, existing), False
    person_id, organisation_id = find_sender(session, message.sender_email)
    suggestions = matching.suggest(
        session,
        matching.MatchInput(
            subject=message.subject,
            text=message.text,
            sender_person_id=person_id,
            sender_organisation_id=organisation_id,
            message_ids=[*message.in_reply_to, *message.references],
            address_references=[
                *message.plus_references,
                *(r for a in message.to if (r := matching.reference_from_address(a))),
            ],
        ),
    )
    certain = [s for s in suggestions if s.certain]
    if certain:
        status, note = ReplyStatus.logged, ""
    else:
        status = ReplyStatus.triage
        note = (
            f"Best guess: {suggestions[0].reference} ({'; '.join(suggestions[0].reasons)})"
            if suggestions
            else "No letter matches this email."
        )
        if not (person_id or organisation_id):
            note += " The sender is not in the directory."
    cited = matching.cited_letter_dates(message.text)
    data = ReplyCreate(
        received_on=(message.date.date() if message.date else date.today()),
        channel=Channel.email,
        sender_person_id=person_id,
        sender_organisation_id=organisation_id,
        sender_name=(message.sender_name or message.sender_email or "unknown sender")[:300],
        sender_email=message.sender_email[:320],
        cited_letter_date=cited[0] if cited else None,
        subject=message.subject,
        full_text=message.text[:500_000],
        letter_ids=[s.letter_id for s in certain],
    )
    reply = create(
        session,
        data=data,
        actor=actor,
        status=status,
        matched_by={s.letter_id: s.matched_by[0] for s in certain},
        email_message_id=message.message_id,
        email_in_reply_to=" ".join(message.in_reply_to + message.references),
        triage_note=note,
    )
    skipped = []
    for part in message.attachments:
        if sniff(part.content) is not None and len(part.content) <= MAX_ATTACHMENT_BYTES:
            add_attachment(
                session,
                reply_id=reply.id,
                filename=part.filename,
                content=part.content,
                actor=actor,
            )
        else:
            skipped.append(part.filename)
    if skipped:
        # kept out of storage, but said: someone may need to ask for a scan
        reply.triage_note = (
            f"{reply.triage_note} Attachments not kept (not a PDF or image, or too large): "
            f"{', '.join(skipped)}."
        ).strip()[:1000]
        _flush(session)
    return get(session, reply.id), True


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


# --- form helpers ---------------------------------------------------------------------------


def letter_ids_for_references(session: Session, text: str) -> list[int]:
    """Letters named by reference in free text ("CMC/2009/PAK/0001, CMC-2010-TJK-0001")."""
    refs = matching.references_in(text.upper())
    if not refs:
        return []
    column = func.upper(func.replace(Letter.reference, "-", "/"))
    found: dict[str, int] = dict(
        session.execute(select(column, Letter.id).where(column.in_(refs))).all()
    )
    missing = [r for r in refs if r not in found]
    if missing:
        raise InvalidInput(
            f"No letter has the reference {missing[0]}.",
            errors=[{"field": "letter_refs", "message": "unknown reference"}],
        )
    return [found[r] for r in refs]


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


def suggest_for_reply(session: Session, reply: Reply) -> list[matching.Suggestion]:
    return matching.suggest(
        session,
        matching.MatchInput(
            subject=reply.subject,
            text=f"{reply.summary}\n{reply.full_text}",
            sender_person_id=reply.sender_person_id,
            sender_organisation_id=reply.sender_organisation_id,
            country_id=reply.country_id,
            cited_letter_date=reply.cited_letter_date,
            message_ids=reply.email_in_reply_to.split(),
        ),
    )
