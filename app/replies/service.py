"""Replies: log them, link them to the letters they answer, triage inbound email, attachments."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
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
from app.db import fold
from app.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from app.mail import bounces, inbound
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
    ReplyKind,
    ReplyLetter,
    ReplyStatus,
    User,
)
from app.replies import langdetect, matching, ocr, positions
from app.replies.schemas import ContactFromSender, ReplyCreate, ReplyUpdate

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
# An email kept as it arrived because it broke a bound (see keep_unreadable_email).
RAW_EMAIL_TYPE = "message/rfc822"
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
    session: Session,
    reply: Reply,
    letters: Sequence[Letter],
    matched_by: dict[int, str],
    *,
    reasons: Mapping[int, Sequence[str]] | None = None,
    actor: User | None = None,
) -> None:
    """Link the letters; each link keeps why it was made: the matcher's reasons when it came
    from a suggestion, else who linked it ("Linked by Ana Ruiz")."""
    have = {link.letter_id for link in reply.links}
    for letter in letters:
        if letter.id not in have:
            kind = matched_by.get(letter.id, "manual")
            why = list((reasons or {}).get(letter.id, ()))
            if not why:
                why = (
                    [f"Matched by {kind}."]
                    if kind != "manual"
                    else [_linked_by(session, reply, actor)]
                )
            reply.links.append(ReplyLetter(letter_id=letter.id, matched_by=kind, reasons=why))
        if letter.status is LetterStatus.sent and reply.kind is ReplyKind.reply:
            letter.status = LetterStatus.replied
    if reply.country_id is None:
        reply.country_id = next((lt.country_id for lt in letters if lt.country_id), None)


def _linked_by(session: Session, reply: Reply, actor: User | None) -> str:
    user = actor or (session.get(User, reply.created_by_id) if reply.created_by_id else None)
    return f"Linked by {user.full_name or user.email}" if user else "Linked by hand"


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
    reasons: Mapping[int, Sequence[str]] | None = None,
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
        kind=data.kind,
        dated_on=data.dated_on,
        language=data.language,
        created_by_id=actor.id if actor else None,
        links=[],
        attachments=[],
    )
    session.add(reply)
    _link(session, reply, letters, matched_by or {}, reasons=reasons, actor=actor)
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
    reply.dated_on = data.dated_on
    reply.language = data.language
    reply.channel = data.channel
    reply.sender_name = data.sender_name.strip()
    reply.sender_reference = data.sender_reference.strip()
    reply.cited_letter_date = data.cited_letter_date
    reply.subject = data.subject.strip()
    reply.summary = data.summary.strip()
    reply.full_text = data.full_text
    if data.kind is not None and data.kind is not reply.kind:
        _change_kind(session, reply, data.kind)
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


def _change_kind(session: Session, reply: Reply, kind: ReplyKind) -> None:
    """A reply that turns out to be an acknowledgement (or the other way round): its letters
    are replied only while a reply of kind ``reply`` answers them."""
    reply.kind = kind
    session.flush()
    letter_ids = [link.letter_id for link in reply.links]
    if kind is ReplyKind.reply:
        for letter in session.scalars(select(Letter).where(Letter.id.in_(letter_ids))):
            if letter.status is LetterStatus.sent:
                letter.status = LetterStatus.replied
    else:
        _reopen(session, letter_ids)


def link_letters(
    session: Session,
    *,
    reply_id: int,
    letter_ids: Sequence[int],
    actor: User,
    from_suggestion: bool = False,
) -> Reply:
    """Link a reply to letters; a reply in triage becomes logged. Letters accepted from the
    suggestions (``from_suggestion``) keep the matcher's reasons, as worked out again here (a
    client's word for them is not taken); others record who linked them."""
    reply = get(session, reply_id)
    if reply.status is ReplyStatus.dismissed:
        raise Conflict("This reply was dismissed; it cannot be linked.")
    letters = _letters(session, letter_ids)
    matched_by: dict[int, str] = {}
    reasons: dict[int, list[str]] = {}
    if from_suggestion:
        for s in suggest_for_reply(session, reply, limit=50):
            if s.letter_id in letter_ids and s.matched_by:
                matched_by[s.letter_id] = s.matched_by[0]
                reasons[s.letter_id] = s.reasons
    _link(session, reply, letters, matched_by, reasons=reasons, actor=actor)
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
    """A letter no reply answers any more is waiting again (acknowledgements, auto-replies
    and bounces linked to it do not answer it)."""
    for letter in session.scalars(select(Letter).where(Letter.id.in_(letter_ids))):
        answered = session.scalar(
            select(func.count(ReplyLetter.id))
            .join(Reply, Reply.id == ReplyLetter.reply_id)
            .where(ReplyLetter.letter_id == letter.id, Reply.kind == ReplyKind.reply)
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
    ocr.queue_attachment(session, attachment)  # scans are read by the worker, once committed
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
    dated_on: date | None = None,
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
            reply_date=dated_on,
        ),
    )


def find_sender(session: Session, email: str) -> tuple[int | None, int | None]:
    """(person_id, organisation_id) of a directory entry with this email address, if any."""
    if not email:
        return None, None
    cp = session.scalar(
        select(ContactPoint)
        .where(ContactPoint.kind == ContactKind.email, fold(ContactPoint.value) == email)
        .order_by(ContactPoint.preferred.desc(), ContactPoint.id)
        .limit(1)
    )
    if cp is None:
        return None, None
    return cp.person_id, cp.organisation_id


def ingest_email(
    session: Session, *, raw: bytes, actor: User | None, keep_unreadable: bool = False
) -> tuple[Reply, bool]:
    """Log an email reply; (reply, created). Unsure matches go to triage; no contact is created.

    The same Message-ID twice gives the reply logged the first time (mailbox polling re-reads).
    Auto-replies, acknowledgements of receipt and bounces are logged with their kind and never
    mark a letter replied; a bounce marks its letter bounced and flags the address as failing.
    A message that breaks a bound of ``app.mail.limits`` raises UnreadableEmail, or with
    ``keep_unreadable`` (the mailbox poller) is kept raw in triage and never parsed again.
    """
    try:
        message = inbound.parse(raw)
    except inbound.UnreadableEmail as exc:
        if not keep_unreadable:
            raise
        return keep_unreadable_email(session, raw=raw, reason=exc.detail, actor=actor)
    if message.message_id:
        existing = session.scalar(
            select(Reply.id).where(Reply.email_message_id == message.message_id[:250])
        )
        if existing:
            return get(session, existing), False
    automatic = bounces.classify(message)
    person_id, organisation_id = find_sender(session, message.sender_email)
    if automatic is not None and automatic.kind is ReplyKind.bounce:
        return _ingest_bounce(session, message, automatic, actor, person_id, organisation_id), True
    suggestions = matching.suggest(
        session,
        matching.MatchInput(
            subject=message.subject,
            text=message.text,
            sender_person_id=person_id,
            sender_organisation_id=organisation_id,
            message_ids=[
                *message.in_reply_to,
                *message.references,
                *(automatic.message_ids if automatic else ()),
            ],
            address_references=[
                *message.plus_references,
                *(r for a in message.to if (r := matching.reference_from_address(a))),
                *(automatic.references if automatic else ()),
            ],
        ),
    )
    certain = [s for s in suggestions if s.certain]
    language = langdetect.detect(f"{message.subject}\n{message.text[:20_000]}")
    kind = automatic.kind if automatic else _kind_of_text(message.text, language)
    if certain:
        status, note = ReplyStatus.logged, ""
    elif automatic is not None:
        status, note = ReplyStatus.dismissed, "No letter matches it."
    else:
        status = ReplyStatus.triage
        note = (
            f"Best guess: {suggestions[0].reference} ({'; '.join(suggestions[0].reasons)})"
            if suggestions
            else "No letter matches this email."
        )
        if not (person_id or organisation_id):
            note += " The sender is not in the directory."
    if automatic is not None:
        note = f"Automatic message ({automatic.why}); it does not mark a letter replied. {note}"
    elif kind is ReplyKind.acknowledgement:
        note = f"Acknowledgement of receipt; the letter stays unanswered. {note}"
    cited = matching.cited_letter_dates(message.text)
    data = ReplyCreate(
        received_on=(message.date.date() if message.date else date.today()),
        kind=kind,
        language=language,
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
        triage_note=note.strip(),
    )
    if not reply.language:
        reply.language = language
    _keep_attachments(session, reply, message, actor)
    return get(session, reply.id), True


def _kind_of_text(text: str, language: str) -> ReplyKind:
    """An email that only acknowledges receipt (or says our letter was forwarded) is no answer."""
    from app.replies import stance

    if text and stance.is_acknowledgement(text[:50_000], language=language):
        return ReplyKind.acknowledgement
    return ReplyKind.reply


def _keep_attachments(
    session: Session, reply: Reply, message: inbound.InboundEmail, actor: User | None
) -> None:
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
        elif reply.kind is not ReplyKind.bounce:  # a bounce's report parts are not news
            skipped.append(part.filename)
    if skipped:
        # kept out of storage, but said: someone may need to ask for a scan
        reply.triage_note = (
            f"{reply.triage_note} Attachments not kept (not a PDF or image, or too large): "
            f"{', '.join(skipped)}."
        ).strip()[:1000]
    _flush(session)


def _ingest_bounce(
    session: Session,
    message: inbound.InboundEmail,
    automatic: bounces.Automatic,
    actor: User | None,
    person_id: int | None,
    organisation_id: int | None,
) -> Reply:
    """A delivery failure report: logged as a bounce linked to the letter(s) it returns, each
    letter marked bounced with the reason, the address flagged as failing in the directory.
    Never left in triage: without a letter of ours it is dismissed, the report kept."""
    from app.correspondence import service as correspondence

    found = bounces.letters_bounced(session, automatic)
    failed = ", ".join(dict.fromkeys(f.recipient for f in automatic.failures if f.recipient))
    if found:
        status = ReplyStatus.logged
        note = (
            "; ".join(f"{b.letter.reference} bounced ({b.reason})" for b in found)
            + f". Found by {automatic.why}."
        )
    else:
        status = ReplyStatus.dismissed
        note = (
            f"Delivery failure report ({automatic.why})"
            + (f" for {failed}" if failed else "")
            + "; no letter of ours matches it."
        )
    answerable = [b for b in found if b.letter.status in matching.ANSWERABLE]
    data = ReplyCreate(
        received_on=(message.date.date() if message.date else date.today()),
        kind=ReplyKind.bounce,
        channel=Channel.email,
        sender_person_id=person_id,
        sender_organisation_id=organisation_id,
        sender_name=(message.sender_name or message.sender_email or "Mail delivery system")[:300],
        sender_email=message.sender_email[:320],
        subject=message.subject,
        full_text=message.text[:500_000],
        letter_ids=[b.letter.id for b in answerable],
    )
    reply = create(
        session,
        data=data,
        actor=actor,
        status=status,
        matched_by={b.letter.id: b.matched_by for b in found},
        email_message_id=message.message_id,
        email_in_reply_to=" ".join(automatic.message_ids)[:1000],
        triage_note=note,
    )
    for b in found:
        if b.letter.status not in matching.ANSWERABLE:  # already bounced: linked all the same
            session.add(
                ReplyLetter(
                    reply_id=reply.id, letter_id=b.letter.id, matched_by=b.matched_by, reasons=[]
                )
            )
    session.flush()
    today = date.today()
    for b in found:
        if b.letter.status is LetterStatus.sent and b.letter.channel is Channel.email:
            correspondence.mark_bounced(
                session, letter_id=b.letter.id, reason=b.reason, actor=actor
            )
        address = b.letter.email_to or b.failure.recipient
        bounces.flag_failing(
            session, address=address, reason=b.failure.reason, on=today, actor=actor
        )
    _keep_attachments(session, reply, message, actor)
    return get(session, reply.id)


def keep_unreadable_email(
    session: Session, *, raw: bytes, reason: str, actor: User | None
) -> tuple[Reply, bool]:
    """A message that breaks a bound, kept as it arrived: a reply in triage saying why, the
    raw .eml stored like an attachment. Never parsed: From, Subject and Message-ID are copied
    as raw text from the first header lines. The same bytes twice give the same reply."""
    digest = hashlib.sha256(raw).hexdigest()
    existing = session.scalar(
        select(ReplyAttachment.reply_id).where(
            ReplyAttachment.sha256 == digest, ReplyAttachment.content_type == RAW_EMAIL_TYPE
        )
    )
    if existing:
        return get(session, existing), False
    head = raw[:16_384]

    def field(name: bytes, limit: int) -> str:
        found = re.search(rb"^" + name + rb":[ \t]*([^\r\n]*)", head, re.IGNORECASE | re.MULTILINE)
        value = found.group(1).decode("utf-8", "replace") if found else ""
        return "".join(ch for ch in value if ch.isprintable())[:limit].strip()

    message_id = field(b"Message-ID", 250)
    if message_id:
        same = session.scalar(select(Reply.id).where(Reply.email_message_id == message_id))
        if same:
            return get(session, same), False
    sender = field(b"From", 300)
    reply = create(
        session,
        data=ReplyCreate(
            received_on=date.today(),
            channel=Channel.email,
            sender_name=sender or "unknown sender",
            subject=field(b"Subject", 200),
        ),
        actor=actor,
        status=ReplyStatus.triage,
        email_message_id=message_id,
        triage_note=f"Not read: {reason} The message is kept as it arrived (message.eml) "
        "and is not parsed again.",
    )
    relative = f"replies/{secrets.token_hex(16)}.eml"
    path = _storage_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    reply.attachments.append(
        ReplyAttachment(
            reply_id=reply.id,
            filename="message.eml",
            content_type=RAW_EMAIL_TYPE,
            size=len(raw),
            sha256=digest,
            storage_path=relative,
        )
    )
    session.flush()
    audit.record(
        session,
        user=actor,
        action="reply.unreadable",
        entity_type="reply",
        entity_id=reply.id,
        summary=f"Kept an unreadable email raw in triage: {reason}"[:500],
    )
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


def suggest_for_reply(
    session: Session, reply: Reply, *, limit: int = 10
) -> list[matching.Suggestion]:
    return matching.suggest(
        session,
        matching.MatchInput(
            subject=reply.subject,
            text=f"{reply.full_text}\n{reply.summary}",
            sender_person_id=reply.sender_person_id,
            sender_organisation_id=reply.sender_organisation_id,
            country_id=reply.country_id,
            cited_letter_date=reply.cited_letter_date,
            message_ids=reply.email_in_reply_to.split(),
            reply_date=reply.dated_on or reply.received_on,
        ),
        limit=limit,
    )
