"""The outbox. An email is stored first, then delivered by a worker, exactly once:

1. ``enqueue`` stores the finished message (with its Message-ID) in the caller's transaction.
2. ``deliver`` claims it (queued/retry → sending) in a transaction of its own, sends the body,
   marks it ``committing`` just before the final dot, then ``sent``.
3. ``recover`` puts back ``sending`` rows of dead workers (the server discarded the incomplete
   message, so sending again cannot duplicate it) and flags ``committing`` ones as ``uncertain``
   for a person to check: resending those could duplicate, skipping them could lose a letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.config import get_settings
from app.db import transaction
from app.errors import Conflict, InvalidInput, NotFound
from app.mail import smtp
from app.models import OutboundEmail, OutboxStatus
from app.models.base import utcnow
from app.platform import faults, leases

MAX_ATTEMPTS = 8
BACKOFF_SECONDS = [30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600]


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "pdf"


def worker_identity() -> str:
    return leases.identity()


def build_message(
    *,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    sender: str | None = None,
    reply_to: str | None = None,
    attachments: Sequence[Attachment] = (),
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """An email ready for the outbox. ``sender`` is the From (the configured ``mail_from`` when
    not given); the SMTP envelope sender is always the configured one (see ``enqueue``)."""
    settings = get_settings()
    msg = EmailMessage()
    msg["From"] = sender or settings.mail_from
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    domain = (sender or settings.mail_from).rsplit("@", 1)[-1].strip("> ") or "demarche.local"
    msg["Message-ID"] = make_msgid(domain=domain)
    if reply_to:
        msg["Reply-To"] = reply_to
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for item in attachments:
        msg.add_attachment(
            item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename
        )
    return msg


def enqueue(
    session: Session,
    message: EmailMessage,
    *,
    subject_type: str = "",
    subject_id: int | None = None,
) -> OutboundEmail:
    recipients = [a.strip() for a in str(message["To"]).split(",") if a.strip()]
    if not recipients:
        raise InvalidInput("The email has no recipient.")
    row = OutboundEmail(
        message_id=str(message["Message-ID"]),
        subject_type=subject_type,
        subject_id=subject_id,
        # The envelope sender (bounces) is the configured one, whoever the From names.
        sender=_address(get_settings().mail_from),
        recipients=",".join(_address(r) for r in recipients),
        subject=str(message["Subject"] or "")[:500],
        raw=message.as_bytes(),
        status=OutboxStatus.queued,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def _address(value: str) -> str:
    from email.utils import parseaddr

    return parseaddr(value)[1] or value


def get(session: Session, outbox_id: int) -> OutboundEmail:
    row = session.get(OutboundEmail, outbox_id)
    if row is None:
        raise NotFound(f"No outgoing email has the id {outbox_id}.")
    return row


def due(session: Session, *, limit: int = 100, now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    return list(
        session.scalars(
            select(OutboundEmail.id)
            .where(
                OutboundEmail.status.in_([OutboxStatus.queued, OutboxStatus.retry]),
                or_(OutboundEmail.next_attempt_at.is_(None), OutboundEmail.next_attempt_at <= now),
            )
            .order_by(OutboundEmail.id)
            .limit(limit)
        )
    )


def _set(outbox_id: int, expected: Sequence[OutboxStatus], **values: Any) -> bool:
    """Move a row between states in its own transaction; False if it was not in ``expected``."""
    with transaction() as session:
        result = session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id == outbox_id, OutboundEmail.status.in_(list(expected)))
            .values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _fault(point: str) -> None:
    """Test-only fault injection (see ``app.platform.faults``)."""
    faults.fault(point)


def deliver(outbox_id: int) -> OutboxStatus:
    """Send one queued email if it is still queued; returns the row's status afterwards."""
    settings = get_settings()
    if not settings.smtp_url:
        raise Conflict("No SMTP server is configured (DEMARCHE_SMTP_URL).")
    config = smtp.parse_url(settings.smtp_url)
    now = utcnow()
    claimed = _set(
        outbox_id,
        [OutboxStatus.queued, OutboxStatus.retry],
        status=OutboxStatus.sending,
        claimed_by=worker_identity(),
        claimed_at=now,
        attempts=OutboundEmail.attempts + 1,
    )
    with transaction() as session:
        row = get(session, outbox_id)
        if not claimed:
            return row.status
        sender, recipients, raw, attempts = (
            row.sender,
            row.recipients.split(","),
            row.raw,
            row.attempts,
        )
    _fault("claimed")

    def before_commit() -> None:
        _fault("sending")
        if not _set(outbox_id, [OutboxStatus.sending], status=OutboxStatus.committing):
            raise smtp.PermanentFailure("The email was taken over by another worker.")
        _fault("committing")

    try:
        reply = smtp.send(
            config,
            sender=sender,
            recipients=recipients,
            raw=raw,
            timeout=settings.smtp_timeout,
            before_commit=before_commit,
        )
    except smtp.TemporaryFailure as exc:
        if attempts >= MAX_ATTEMPTS:
            _set(
                outbox_id,
                [OutboxStatus.sending, OutboxStatus.committing],
                status=OutboxStatus.failed,
                last_error=f"Gave up after {attempts} attempts: {exc}"[:1000],
            )
            return OutboxStatus.failed
        delay = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
        _set(
            outbox_id,
            [OutboxStatus.sending, OutboxStatus.committing],
            status=OutboxStatus.retry,
            last_error=str(exc)[:1000],
            next_attempt_at=utcnow() + timedelta(seconds=delay),
        )
        return OutboxStatus.retry
    except smtp.PermanentFailure as exc:
        _set(
            outbox_id,
            [OutboxStatus.sending, OutboxStatus.committing],
            status=OutboxStatus.failed,
            last_error=str(exc)[:1000],
        )
        return OutboxStatus.failed
    _set(
        outbox_id,
        [OutboxStatus.committing],
        status=OutboxStatus.sent,
        sent_at=utcnow(),
        server_reply=reply,
        last_error="",
    )
    _fault("sent")
    return OutboxStatus.sent


def recover(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Release emails held by dead workers (or past their lease). See the module docstring."""
    now = now or utcnow()
    lease = timedelta(seconds=get_settings().mail_lease_seconds)
    counts = {"requeued": 0, "uncertain": 0}
    rows = session.scalars(
        select(OutboundEmail).where(
            OutboundEmail.status.in_([OutboxStatus.sending, OutboxStatus.committing])
        )
    ).all()
    for row in rows:
        expires = row.claimed_at + lease if row.claimed_at else None
        if not leases.is_stale(row.claimed_by, expires, now):
            continue
        if row.status == OutboxStatus.sending:
            row.status = OutboxStatus.retry
            row.next_attempt_at = now
            row.last_error = f"Worker {row.claimed_by} stopped before the message was complete."
            counts["requeued"] += 1
        else:
            row.status = OutboxStatus.uncertain
            row.last_error = (
                f"Worker {row.claimed_by} stopped while the server was accepting the message; "
                "check the recipient's mailbox or the server log before sending again."
            )
            counts["uncertain"] += 1
    session.flush()
    return counts


def resolve_uncertain(session: Session, *, outbox_id: int, delivered: bool) -> OutboundEmail:
    """A person's decision on an uncertain email: it arrived (mark sent) or send it again."""
    row = get(session, outbox_id)
    if row.status != OutboxStatus.uncertain:
        raise Conflict(f"Email {outbox_id} is {row.status.value}, not uncertain.")
    if delivered:
        row.status = OutboxStatus.sent
        row.sent_at = row.claimed_at or utcnow()
    else:
        row.status = OutboxStatus.retry
        row.next_attempt_at = utcnow()
    session.flush()
    return row
