"""Sending approved letters: by email through the outbox (queued, delivered exactly once,
synced back to the letter), by post or another channel recorded by hand, one letter or a whole
batch or campaign; the reply date a sent letter waits for."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.config import get_settings
from app.correspondence.message import build_email
from app.correspondence.service import (
    check_version,
    flush_letter,
    get,
    is_sending,
    record,
    refuse,
    require_coordinator,
    scoped,
)
from app.errors import Conflict, InvalidInput, NotFound
from app.mail import service as mail_service
from app.models import (
    Campaign,
    Channel,
    Letter,
    LetterStatus,
    MergeBatch,
    OutboundEmail,
    OutboxStatus,
    User,
)
from app.models.base import utcnow

DEFAULT_REPLY_DAYS = 30
CHANNEL_LABELS = {
    Channel.email: "email",
    Channel.post: "post",
    Channel.fax: "fax",
    Channel.hand: "hand delivery",
    Channel.diplomatic_bag: "diplomatic bag",
}


def reply_days(session: Session, letter: Letter) -> int:
    if letter.campaign_id is None:
        return DEFAULT_REPLY_DAYS
    days = session.scalar(select(Campaign.reply_days).where(Campaign.id == letter.campaign_id))
    return int(days) if days else DEFAULT_REPLY_DAYS


@dataclass
class SendOutcome:
    letter: Letter
    queued_email: bool = False


def _due_on(session: Session, letter: Letter, sent_on: date) -> date:
    return sent_on + timedelta(days=reply_days(session, letter))


def _require_smtp() -> None:
    if not get_settings().smtp_url:
        raise Conflict(
            "No SMTP server is configured (DEMARCHE_SMTP_URL), so letters cannot be emailed; "
            "ask an administrator, or send the letter by post.",
            title="Email is not configured",
        )


def recipient_email(session: Session, letter: Letter) -> str:
    """The recipient's preferred email address; refuses (422) when there is none or the
    recipient asked not to be emailed."""
    from app.contacts import recipients as contacts_recipients

    if letter.person_id is None and letter.organisation_id is None:
        explicit = letter.email_to or str(letter.context.get("recipient", {}).get("email", ""))
        if explicit:
            return explicit
        raise InvalidInput(f"Letter {letter.reference} has no recipient to email.")
    who = contacts_recipients.recipient(
        session,
        person_id=letter.person_id,
        organisation_id=None if letter.person_id else letter.organisation_id,
        language=letter.language,
    )
    name = who.display_name or letter.recipient_name
    if who.no_email:
        raise InvalidInput(
            f"{name} asked not to be contacted by email (no-email flag); send letter "
            f"{letter.reference} by post or another channel.",
            errors=[{"field": "channel", "message": "recipient refuses email"}],
        )
    if not who.email:
        raise InvalidInput(
            f"{name} has no email address in the contacts directory; add one or send letter "
            f"{letter.reference} by post.",
            errors=[{"field": "channel", "message": "no email address"}],
        )
    return who.email


def send(
    session: Session,
    *,
    letter_id: int,
    channel: Channel,
    actor: User,
    on: date | None = None,
    note: str = "",
    version: int | None = None,
    today: date | None = None,
) -> SendOutcome:
    """Send an approved letter (or one whose sending failed). Email: queued for the worker
    (call ``tasks.send_letter`` after the commit); other channels: recorded as sent on ``on``."""
    today = today or date.today()
    letter = get(session, letter_id)
    check_version(letter, version)
    retry = letter.status in {LetterStatus.failed, LetterStatus.bounced}
    if (letter.status != LetterStatus.approved and not retry) or is_sending(letter):
        raise refuse(letter, "sent")
    if channel == Channel.email:
        _require_smtp()
        address = recipient_email(session, letter)
        letter.channel = Channel.email
        letter.email_to = address
        letter.send_requested_at = utcnow()
        letter.sent_by_id = actor.id
        letter.sent_note = note
        if retry:
            letter.status = LetterStatus.approved
            letter.outbox_id = None
            letter.email_message_id = ""
        flush_letter(session, letter)
        record(session, letter, actor, "send", f"Sending by email to {address}", to=address)
        return SendOutcome(letter, queued_email=True)
    if on is None:
        raise InvalidInput(
            f"Give the date the letter went by {CHANNEL_LABELS[channel]}.",
            errors=[{"field": "date", "message": "required"}],
        )
    if on > today:
        raise InvalidInput(
            "The sending date cannot be in the future.",
            errors=[{"field": "date", "message": "in the future"}],
        )
    letter.channel = channel
    letter.status = LetterStatus.sent
    letter.sent_on = on
    letter.sent_at = utcnow()
    letter.sent_by_id = actor.id
    letter.sent_note = note
    letter.reply_due_on = _due_on(session, letter, on)
    flush_letter(session, letter)
    record(
        session,
        letter,
        actor,
        "send",
        f"Sent by {CHANNEL_LABELS[channel]} on {on.isoformat()}",
        channel=channel.value,
        on=on.isoformat(),
        note=note,
    )
    return SendOutcome(letter)


@dataclass
class BatchOutcome:
    queued: list[int] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


def send_approved(
    session: Session,
    *,
    actor: User,
    batch_id: int | None = None,
    campaign_id: int | None = None,
) -> BatchOutcome:
    """Queue every approved, not yet sending email letter of a batch or campaign. Letters that
    cannot go by email are listed with the reason, never silently dropped."""
    if (batch_id is None) == (campaign_id is None):
        raise InvalidInput("Give exactly one of batch_id or campaign_id.")
    if batch_id is not None and session.get(MergeBatch, batch_id) is None:
        raise NotFound(f"No merge batch has the id {batch_id}.")
    if campaign_id is not None and session.get(Campaign, campaign_id) is None:
        raise NotFound(f"No campaign has the id {campaign_id}.")
    _require_smtp()
    letters = session.scalars(
        scoped(select(Letter), campaign_id, batch_id, "")
        .where(
            Letter.status == LetterStatus.approved,
            Letter.channel == Channel.email,
            Letter.outbox_id.is_(None),
            Letter.send_requested_at.is_(None),
        )
        .order_by(Letter.id)
    ).all()
    out = BatchOutcome()
    for letter in letters:
        try:
            address = recipient_email(session, letter)
        except InvalidInput as exc:
            out.skipped.append({"reference": letter.reference, "reason": exc.detail})
            continue
        letter.email_to = address
        letter.send_requested_at = utcnow()
        letter.sent_by_id = actor.id
        out.queued.append(letter.id)
    session.flush()
    scope = f"batch {batch_id}" if batch_id is not None else f"campaign {campaign_id}"
    audit.record(
        session,
        user=actor,
        action="letter.send_batch",
        entity_type="merge_batch" if batch_id is not None else "campaign",
        entity_id=batch_id if batch_id is not None else campaign_id,
        summary=f"Sending {len(out.queued)} approved letter(s) of {scope} by email",
        details={"letters": out.queued, "skipped": out.skipped},
    )
    for letter in letters:
        if letter.id in out.queued:
            record(session, letter, actor, "send", f"Sending by email to {letter.email_to}")
    return out


def mark_batch_posted(
    session: Session,
    *,
    batch_id: int,
    on: date,
    actor: User,
    note: str = "",
    today: date | None = None,
) -> BatchOutcome:
    """Every approved letter of a batch meant for the post is recorded as posted on ``on``."""
    if session.get(MergeBatch, batch_id) is None:
        raise NotFound(f"No merge batch has the id {batch_id}.")
    letters = session.scalars(
        select(Letter)
        .where(
            Letter.batch_id == batch_id,
            Letter.status == LetterStatus.approved,
            Letter.channel == Channel.post,
        )
        .order_by(Letter.id)
    ).all()
    out = BatchOutcome()
    for letter in letters:
        if is_sending(letter):
            out.skipped.append({"reference": letter.reference, "reason": "being sent by email"})
            continue
        send(
            session,
            letter_id=letter.id,
            channel=Channel.post,
            actor=actor,
            on=on,
            note=note,
            today=today,
        )
        out.queued.append(letter.id)
    if not letters:
        raise Conflict(
            f"Batch {batch_id} has no approved letters to go by post.",
            title="Nothing to mark",
        )
    return out


def queue_email(session: Session, *, letter_id: int) -> int | None:
    """Worker step 1: put the letter's email in the outbox (once). Returns the outbox id, or
    None when the letter is no longer waiting to be sent."""
    letter = get(session, letter_id)
    if letter.outbox_id is not None:
        return letter.outbox_id
    if letter.status != LetterStatus.approved or letter.send_requested_at is None:
        return None
    try:
        message = build_email(session, letter)
    except InvalidInput as exc:
        letter.status = LetterStatus.failed
        letter.send_requested_at = None
        letter.sent_note = exc.detail[:1000]
        flush_letter(session, letter)
        record(session, letter, None, "failed", f"Email not sent: {exc.detail}")
        return None
    row = mail_service.enqueue(session, message, subject_type="letter", subject_id=letter.id)
    letter.outbox_id = row.id
    letter.email_message_id = row.message_id
    flush_letter(session, letter)  # a second worker doing the same loses here (stale version)
    return row.id


def sync_from_outbox(session: Session, *, letter_id: int) -> Letter:
    """Worker step 3 (and a sweep): the outbox said sent or failed; the letter follows."""
    letter = get(session, letter_id)
    if letter.outbox_id is None or letter.status != LetterStatus.approved:
        return letter
    row = session.get(OutboundEmail, letter.outbox_id)
    if row is None:
        return letter
    if row.status == OutboxStatus.sent:
        sent_at = row.sent_at or utcnow()
        letter.status = LetterStatus.sent
        letter.sent_at = sent_at
        letter.sent_on = sent_at.date()
        letter.reply_due_on = _due_on(session, letter, letter.sent_on)
        letter.send_requested_at = None
        flush_letter(session, letter)
        record(
            session,
            letter,
            None,
            "sent",
            f"Email delivered to {letter.email_to}",
            message_id=letter.email_message_id,
        )
    elif row.status == OutboxStatus.failed:
        letter.status = LetterStatus.failed
        letter.send_requested_at = None
        letter.sent_note = row.last_error[:1000]
        flush_letter(session, letter)
        record(session, letter, None, "failed", f"Email failed: {row.last_error}")
    return letter


def resolve_uncertain(session: Session, *, letter_id: int, delivered: bool, actor: User) -> Letter:
    """A worker died while the mail server was accepting this letter's email: a person checked
    (the recipient's mailbox, the server log) and says whether it arrived. If it did not, the
    same email (same Message-ID) is queued again."""
    require_coordinator(actor, "settle the delivery of")
    letter = get(session, letter_id)
    row = outbox_status(session, letter)
    if row is None or row.status != OutboxStatus.uncertain or not is_sending(letter):
        raise Conflict(
            f"The email of letter {letter.reference} is not awaiting a check.",
            title="Not allowed in this state",
        )
    mail_service.resolve_uncertain(session, outbox_id=row.id, delivered=delivered)
    if delivered:
        sync_from_outbox(session, letter_id=letter.id)
        record(session, letter, actor, "resolve", "Confirmed delivered after a worker stopped")
    else:
        record(session, letter, actor, "resolve", "Not delivered: queued again")
    return letter


def pending_letters(session: Session) -> tuple[list[int], list[int]]:
    """(letters waiting to be put in the outbox, letters whose email is in the outbox)."""
    waiting = session.scalars(
        select(Letter.id)
        .where(
            Letter.status == LetterStatus.approved,
            Letter.send_requested_at.is_not(None),
            Letter.outbox_id.is_(None),
        )
        .order_by(Letter.id)
    ).all()
    queued = session.scalars(
        select(Letter.id)
        .where(Letter.status == LetterStatus.approved, Letter.outbox_id.is_not(None))
        .order_by(Letter.id)
    ).all()
    return list(waiting), list(queued)


def outbox_status(session: Session, letter: Letter) -> OutboundEmail | None:
    return session.get(OutboundEmail, letter.outbox_id) if letter.outbox_id else None
