"""Replies: log them, link them to the letters they answer, change their state, attachments.

Email that comes in is logged by ``intake``; what the pages list (a reply's view, the inbox,
overdue letters, the form's choices) is read by ``listing``.

Just over 600 lines: each state change sits beside the checks and audit entries it shares
with the others (linking, unlinking, closing, attachments); split, one set of rules would
scatter.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.audit import service as audit
from app.config import get_settings
from app.contacts import service as contacts_service
from app.contacts.schemas import ContactPointCreate, OrganisationCreate, PersonCreate
from app.countries import service as countries_service
from app.db import fold
from app.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from app.models import (
    ContactKind,
    ContactPoint,
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
from app.replies import matching, positions, scans
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


def reply_query() -> Any:
    return select(Reply).options(selectinload(Reply.links), selectinload(Reply.attachments))


def get(session: Session, reply_id: int) -> Reply:
    reply = session.scalar(
        reply_query().where(Reply.id == reply_id).execution_options(populate_existing=True)
    )
    if reply is None:
        raise NotFound(f"No reply has the id {reply_id}.")
    return reply


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
    flush_reply(session)
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
    flush_reply(session)
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
    flush_reply(session)
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
        attachment_path(path).unlink(missing_ok=True)
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
    flush_reply(session)
    audit.record(
        session,
        user=actor,
        action="reply.sender_contact",
        entity_type="reply",
        entity_id=reply.id,
        summary=f"Added {data.name} to the directory as the sender of reply {reply.id}",
    )
    return get(session, reply.id)


def flush_reply(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("Someone else changed this reply at the same time; reload.") from None


# --- attachments ----------------------------------------------------------------------------


def attachment_path(relative: str) -> Path:
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
    path = attachment_path(relative)
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
    scans.queue_attachment(session, attachment)  # scans are read by the worker, once committed
    return attachment


def get_attachment(session: Session, attachment_id: int) -> tuple[ReplyAttachment, Path]:
    attachment = session.get(ReplyAttachment, attachment_id)
    if attachment is None:
        raise NotFound(f"No attachment has the id {attachment_id}.")
    path = attachment_path(attachment.storage_path)
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
