"""Email replies coming in: logged (matched to our letters, or left in triage when unsure),
bounces passed to the mail module, and email that cannot be read kept raw for a person.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.mail import bounces, inbound
from app.models import (
    Channel,
    LetterStatus,
    Reply,
    ReplyAttachment,
    ReplyKind,
    ReplyLetter,
    ReplyStatus,
    User,
)
from app.replies import langdetect, matching, service
from app.replies.schemas import ReplyCreate


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
            return service.get(session, existing), False
    automatic = bounces.classify(message)
    person_id, organisation_id = service.find_sender(session, message.sender_email)
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
    reply = service.create(
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
    return service.get(session, reply.id), True


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
        if (
            service.sniff(part.content) is not None
            and len(part.content) <= service.MAX_ATTACHMENT_BYTES
        ):
            service.add_attachment(
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
    service.flush_reply(session)


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
    from app.correspondence import lifecycle as correspondence

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
    reply = service.create(
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
    return service.get(session, reply.id)


def keep_unreadable_email(
    session: Session, *, raw: bytes, reason: str, actor: User | None
) -> tuple[Reply, bool]:
    """A message that breaks a bound, kept as it arrived: a reply in triage saying why, the
    raw .eml stored like an attachment. Never parsed: From, Subject and Message-ID are copied
    as raw text from the first header lines. The same bytes twice give the same reply."""
    digest = hashlib.sha256(raw).hexdigest()
    existing = session.scalar(
        select(ReplyAttachment.reply_id).where(
            ReplyAttachment.sha256 == digest, ReplyAttachment.content_type == service.RAW_EMAIL_TYPE
        )
    )
    if existing:
        return service.get(session, existing), False
    head = raw[:16_384]

    def field(name: bytes, limit: int) -> str:
        found = re.search(rb"^" + name + rb":[ \t]*([^\r\n]*)", head, re.IGNORECASE | re.MULTILINE)
        value = found.group(1).decode("utf-8", "replace") if found else ""
        return "".join(ch for ch in value if ch.isprintable())[:limit].strip()

    message_id = field(b"Message-ID", 250)
    if message_id:
        same = session.scalar(select(Reply.id).where(Reply.email_message_id == message_id))
        if same:
            return service.get(session, same), False
    sender = field(b"From", 300)
    reply = service.create(
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
    path = service.attachment_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    reply.attachments.append(
        ReplyAttachment(
            reply_id=reply.id,
            filename="message.eml",
            content_type=service.RAW_EMAIL_TYPE,
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
    return service.get(session, reply.id), True
