"""Letters through their life: approval, sending by email (through the outbox) or by hand,
follow-up of unanswered letters.

States::

    draft ──approve──▶ approved ──send──▶ sent ──(reply logged)──▶ replied
      ▲                   │  (email: "sending" until the outbox reports)   └──close──▶ closed
      └──withdraw/edit────┘                 └──▶ failed / bounced ──send again──▶ sent

A letter is *sending* while it is approved and its email has been requested or queued; the
outbox (``app.mail``) delivers it exactly once and ``sync_from_outbox`` moves the letter to
``sent`` or ``failed``. Approval needs a coordinator; a second coordinator as well when the
setting ``DEMARCHE_LETTER_SECOND_APPROVAL`` or the letter's campaign (``second_approval``) asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import exists, func, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.audit import service as audit
from app.config import get_settings

# Re-exported: other domains (replies) read references back through this service.
from app.correspondence.addressing import address_token as address_token
from app.correspondence.addressing import reference_from_address as reference_from_address
from app.correspondence.addressing import reply_address as reply_address
from app.correspondence.message import build_email as build_email
from app.correspondence.message import display_subject as display_subject
from app.correspondence.message import fill_in as fill_in
from app.correspondence.message import html_to_text as html_to_text
from app.correspondence.message import letter_pdf as letter_pdf
from app.correspondence.message import rendered_body as rendered_body
from app.correspondence.message import rendered_subject as rendered_subject
from app.db import fold
from app.errors import Conflict, InvalidInput, NotFound
from app.letters.sandbox import own_text
from app.mail import service as mail_service
from app.models import (
    AuditEntry,
    Campaign,
    Channel,
    Letter,
    LetterStatus,
    MergeBatch,
    OutboundEmail,
    OutboxStatus,
    ReplyLetter,
    Role,
    User,
)
from app.models.base import utcnow

FOLLOW_UP_TEMPLATE = "follow-up-reminder"
DEFAULT_REPLY_DAYS = 30
HAND_CHANNELS = (Channel.post, Channel.fax, Channel.hand, Channel.diplomatic_bag)
CHANNEL_LABELS = {
    Channel.email: "email",
    Channel.post: "post",
    Channel.fax: "fax",
    Channel.hand: "hand delivery",
    Channel.diplomatic_bag: "diplomatic bag",
}
CLOSABLE = {
    LetterStatus.draft,
    LetterStatus.approved,
    LetterStatus.sent,
    LetterStatus.failed,
    LetterStatus.bounced,
}


def get_by_address_token(session: Session, token: str) -> Letter | None:
    """The letter whose reference travels as ``token`` in an address, if any."""
    wanted = token.strip().upper()
    exact = session.scalar(select(Letter).where(func.upper(Letter.reference) == wanted))
    if exact is not None:
        return exact
    candidates = session.scalars(
        select(Letter).where(
            func.upper(func.replace(Letter.reference, "/", "-")) == wanted.replace("/", "-")
        )
    ).all()
    return next((c for c in candidates if address_token(c.reference).upper() == wanted), None)


# ---------------------------------------------------------------------------- queries


def get(session: Session, letter_id: int) -> Letter:
    letter = session.get(Letter, letter_id)
    if letter is None:
        raise NotFound(f"No letter has the id {letter_id}.")
    return letter


def get_by_reference(session: Session, reference: str) -> Letter | None:
    return session.scalar(select(Letter).where(Letter.reference == reference))


def is_sending(letter: Letter) -> bool:
    return letter.status == LetterStatus.approved and (
        letter.outbox_id is not None or letter.send_requested_at is not None
    )


def display_status(letter: Letter) -> str:
    """The status people see: adds "sending" and "awaiting second approval"."""
    if is_sending(letter):
        return "sending"
    if letter.status == LetterStatus.draft and letter.approved_by_id is not None:
        return "awaiting second approval"
    return letter.status.value


def needs_second_approval(session: Session, letter: Letter) -> bool:
    if get_settings().letter_second_approval:
        return True
    if letter.campaign_id is None:
        return False
    return bool(
        session.scalar(select(Campaign.second_approval).where(Campaign.id == letter.campaign_id))
    )


def reply_days(session: Session, letter: Letter) -> int:
    if letter.campaign_id is None:
        return DEFAULT_REPLY_DAYS
    days = session.scalar(select(Campaign.reply_days).where(Campaign.id == letter.campaign_id))
    return int(days) if days else DEFAULT_REPLY_DAYS


@dataclass
class LetterRow:
    """A letter as lists show it (plain data)."""

    id: int
    reference: str
    recipient_name: str
    subject: str
    status: str
    channel: str
    letter_date: date | None
    sent_on: date | None
    reply_due_on: date | None
    days_overdue: int
    campaign_id: int | None
    batch_id: int | None
    version: int
    email_to: str


def row(letter: Letter, today: date | None = None) -> LetterRow:
    today = today or date.today()
    overdue = 0
    if letter.status == LetterStatus.sent and letter.reply_due_on and letter.reply_due_on < today:
        overdue = (today - letter.reply_due_on).days
    return LetterRow(
        id=letter.id,
        reference=letter.reference,
        recipient_name=letter.recipient_name,
        subject=display_subject(letter),  # as stored: a list never runs a template
        status=display_status(letter),
        channel=letter.channel.value,
        letter_date=letter.letter_date,
        sent_on=letter.sent_on,
        reply_due_on=letter.reply_due_on,
        days_overdue=overdue,
        campaign_id=letter.campaign_id,
        batch_id=letter.batch_id,
        version=letter.version,
        email_to=letter.email_to,
    )


def _page(
    session: Session, query: Any, order: Sequence[Any], limit: int, offset: int
) -> tuple[list[Letter], int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(*order).limit(limit).offset(offset)).all()
    return list(rows), total


def _scoped(query: Any, campaign_id: int | None, batch_id: int | None, q: str) -> Any:
    if campaign_id is not None:
        query = query.where(Letter.campaign_id == campaign_id)
    if batch_id is not None:
        query = query.where(Letter.batch_id == batch_id)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(
            fold(Letter.reference).like(like)
            | fold(Letter.recipient_name).like(like)
            | fold(Letter.subject).like(like)
        )
    return query


def list_queue(
    session: Session,
    *,
    stage: str,
    campaign_id: int | None = None,
    batch_id: int | None = None,
    q: str = "",
    today: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Letter], int]:
    """Letters at one stage: ``approval`` (drafts), ``ready`` (approved, not sending),
    ``sending``, ``failed`` (failed or bounced), ``overdue``."""
    query = _scoped(select(Letter), campaign_id, batch_id, q)
    pending = Letter.outbox_id.is_not(None) | Letter.send_requested_at.is_not(None)
    if stage == "approval":
        query = query.where(Letter.status == LetterStatus.draft)
    elif stage == "ready":
        query = query.where(Letter.status == LetterStatus.approved, ~pending)
    elif stage == "sending":
        query = query.where(Letter.status == LetterStatus.approved, pending)
    elif stage == "failed":
        query = query.where(Letter.status.in_([LetterStatus.failed, LetterStatus.bounced]))
    elif stage == "overdue":
        return list_overdue(
            session,
            campaign_id=campaign_id,
            batch_id=batch_id,
            q=q,
            today=today,
            limit=limit,
            offset=offset,
        )
    else:
        raise InvalidInput(f"Unknown stage {stage!r}.")
    return _page(session, query, [Letter.id], limit, offset)


def list_overdue(
    session: Session,
    *,
    campaign_id: int | None = None,
    batch_id: int | None = None,
    q: str = "",
    today: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Letter], int]:
    """Sent letters past their reply date with no reply linked to them, longest waiting first."""
    today = today or date.today()
    query = _scoped(select(Letter), campaign_id, batch_id, q).where(
        Letter.status == LetterStatus.sent,
        Letter.reply_due_on.is_not(None),
        Letter.reply_due_on < today,
        ~exists().where(ReplyLetter.letter_id == Letter.id),
    )
    return _page(session, query, [Letter.reply_due_on, Letter.id], limit, offset)


def campaign_choices(session: Session) -> list[tuple[int, str]]:
    return [
        (cid, name)
        for cid, name in session.execute(
            select(Campaign.id, Campaign.name).order_by(Campaign.name)
        ).all()
    ]


def recent_batches(session: Session, limit: int = 20) -> list[MergeBatch]:
    return list(session.scalars(select(MergeBatch).order_by(MergeBatch.id.desc()).limit(limit)))


def get_batch(session: Session, batch_id: int) -> MergeBatch:
    batch = session.get(MergeBatch, batch_id)
    if batch is None:
        raise NotFound(f"No merge batch has the id {batch_id}.")
    return batch


def stage_counts(session: Session, *, today: date | None = None) -> dict[str, int]:
    return {
        stage: list_queue(session, stage=stage, today=today, limit=1)[1]
        for stage in ("approval", "ready", "sending", "failed", "overdue")
    }


# ---------------------------------------------------------------------------- approval


def _check_version(letter: Letter, version: int | None) -> None:
    if version is not None and version != letter.version:
        raise Conflict(
            f"Letter {letter.reference} was changed by someone else since you opened it "
            f"(version {letter.version}, you had {version}); reload and try again."
        )


def _flush(session: Session, letter: Letter) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(
            f"Letter {letter.reference} was changed at the same time by someone else; reload."
        ) from None


def _record(
    session: Session,
    letter: Letter,
    actor: User | None,
    action: str,
    summary: str,
    **details: Any,
) -> None:
    audit.record(
        session,
        user=actor,
        action=f"letter.{action}",
        entity_type="letter",
        entity_id=letter.id,
        summary=f"{letter.reference}: {summary}",
        details={"status": display_status(letter), **details},
    )


def _refuse(letter: Letter, doing: str) -> Conflict:
    return Conflict(
        f"Letter {letter.reference} cannot be {doing}: it is {display_status(letter)}.",
        title="Not allowed in this state",
    )


def _require_coordinator(actor: User, doing: str) -> None:
    if not actor.role.at_least(Role.coordinator):
        from app.errors import Forbidden

        raise Forbidden(f"Only a coordinator can {doing} a letter.")


def approve(session: Session, *, letter_id: int, actor: User, version: int | None = None) -> Letter:
    """A coordinator approves a draft; with second approval on, two different coordinators."""
    _require_coordinator(actor, "approve")
    letter = get(session, letter_id)
    _check_version(letter, version)
    if letter.status != LetterStatus.draft:
        raise _refuse(letter, "approved")
    if not letter.subject.strip() or not letter.body_html.strip():
        raise InvalidInput(f"Letter {letter.reference} has no subject or no text to approve.")
    from app.letters.fields import empty_marks, placeholder

    if empty := empty_marks(letter.subject, letter.body_html):
        marks = ", ".join(placeholder(name) for name in empty)
        raise InvalidInput(
            f"Letter {letter.reference} has empty merge fields ({marks}). Fill them in the "
            "letter's text, or mark them optional in the template with | default(...), then "
            "approve it.",
            errors=[{"field": "body_html", "message": f"empty merge fields: {marks}"}],
        )
    now = utcnow()
    if needs_second_approval(session, letter):
        if letter.approved_by_id is None:
            letter.approved_by_id, letter.approved_at = actor.id, now
            _flush(session, letter)
            _record(session, letter, actor, "approve", "First approval; a second is needed")
            return letter
        if letter.approved_by_id == actor.id:
            raise Conflict(
                f"You already approved {letter.reference}; the second approval must come from "
                "another coordinator.",
                title="Second approver needed",
            )
        letter.second_approved_by_id, letter.second_approved_at = actor.id, now
    else:
        letter.approved_by_id, letter.approved_at = actor.id, now
    letter.status = LetterStatus.approved
    _flush(session, letter)
    _record(session, letter, actor, "approve", "Approved")
    return letter


def _clear_approval(letter: Letter) -> None:
    letter.status = LetterStatus.draft
    letter.approved_by_id = letter.approved_at = None
    letter.second_approved_by_id = letter.second_approved_at = None


def withdraw_approval(
    session: Session, *, letter_id: int, actor: User, version: int | None = None
) -> Letter:
    letter = get(session, letter_id)
    _check_version(letter, version)
    if is_sending(letter):
        raise Conflict(
            f"Letter {letter.reference} is already being sent by email; its approval can no "
            "longer be withdrawn.",
            title="Not allowed in this state",
        )
    partly = letter.status == LetterStatus.draft and letter.approved_by_id is not None
    if letter.status != LetterStatus.approved and not partly:
        raise _refuse(letter, "withdrawn from approval")
    _clear_approval(letter)
    _flush(session, letter)
    _record(session, letter, actor, "withdraw_approval", "Approval withdrawn")
    return letter


def can_edit(letter: Letter, role: Role) -> bool:
    """Drafts are edited by anyone who drafts letters; an approved text only by a coordinator."""
    if letter.status not in {LetterStatus.draft, LetterStatus.approved} or is_sending(letter):
        return False
    return letter.approved_by_id is None or role.at_least(Role.coordinator)


def edit_text(
    session: Session,
    *,
    letter_id: int,
    subject: str,
    body_html: str,
    actor: User,
    version: int | None = None,
) -> Letter:
    """Change a letter's subject or text; an approved letter goes back to draft."""
    from app.letters import service as letters_service

    letter = get(session, letter_id)
    _check_version(letter, version)
    if letter.status not in {LetterStatus.draft, LetterStatus.approved} or is_sending(letter):
        raise _refuse(letter, "edited")
    if letter.approved_by_id is not None and not actor.role.at_least(Role.coordinator):
        from app.errors import Forbidden

        # Campaigners edit drafts; an approved text changes only with a coordinator, whose
        # edit withdraws the approval.
        raise Forbidden(
            f"Letter {letter.reference} is approved; only a coordinator can change its text."
        )
    if not subject.strip() or not body_html.strip():
        raise InvalidInput(
            "A letter needs a subject and a text.",
            errors=[
                {"field": "subject" if not subject.strip() else "body_html", "message": "required"}
            ],
        )
    letters_service.check_variant(subject=subject, body=body_html)
    # The text must fill in from this letter's context: tried in the renderer, under its
    # limits, before anything changes. The subject is kept filled in, as lists show it.
    filled_subject, _ = fill_in(subject, body_html, letter.context)
    letter.subject, letter.body_html = own_text(filled_subject, "")[0], body_html
    letter.pdf_path, letter.pages = "", 0
    _flush(session, letter)  # the before_flush guard withdraws the approval, audit-logged
    _record(session, letter, actor, "edit", "Text edited")
    return letter


def edits_withdraw_approval(session: Session, _ctx: Any, _instances: Any) -> None:
    """Whoever edits an approved letter's subject or text (this package or another), the
    approval goes: the text approved is no longer the text to be sent. A session hook (before
    flush), installed on every session by app.hooks at startup."""
    for obj in list(session.dirty):
        if not isinstance(obj, Letter) or obj.approved_by_id is None:
            continue
        if obj.status not in {LetterStatus.approved, LetterStatus.draft} or is_sending(obj):
            continue
        state = inspect(obj)
        changed = []
        for name in ("subject", "body_html"):
            hist = state.attrs[name].history
            if hist.added and (not hist.deleted or hist.deleted[0] != hist.added[0]):
                changed.append(name)
        if not changed:
            continue
        _clear_approval(obj)
        session.add(
            AuditEntry(
                user_id=None,
                actor="system",
                action="letter.withdraw_approval",
                entity_type="letter",
                entity_id=str(obj.id),
                summary=f"{obj.reference}: approval withdrawn because the text was edited",
                details={"changed": changed, "status": "draft"},
            )
        )


# ---------------------------------------------------------------------------- sending


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
    _check_version(letter, version)
    retry = letter.status in {LetterStatus.failed, LetterStatus.bounced}
    if (letter.status != LetterStatus.approved and not retry) or is_sending(letter):
        raise _refuse(letter, "sent")
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
        _flush(session, letter)
        _record(session, letter, actor, "send", f"Sending by email to {address}", to=address)
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
    _flush(session, letter)
    _record(
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
        _scoped(select(Letter), campaign_id, batch_id, "")
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
            _record(session, letter, actor, "send", f"Sending by email to {letter.email_to}")
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
        _flush(session, letter)
        _record(session, letter, None, "failed", f"Email not sent: {exc.detail}")
        return None
    row = mail_service.enqueue(session, message, subject_type="letter", subject_id=letter.id)
    letter.outbox_id = row.id
    letter.email_message_id = row.message_id
    _flush(session, letter)  # a second worker doing the same loses here (stale version)
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
        _flush(session, letter)
        _record(
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
        _flush(session, letter)
        _record(session, letter, None, "failed", f"Email failed: {row.last_error}")
    return letter


def resolve_uncertain(session: Session, *, letter_id: int, delivered: bool, actor: User) -> Letter:
    """A worker died while the mail server was accepting this letter's email: a person checked
    (the recipient's mailbox, the server log) and says whether it arrived. If it did not, the
    same email (same Message-ID) is queued again."""
    _require_coordinator(actor, "settle the delivery of")
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
        _record(session, letter, actor, "resolve", "Confirmed delivered after a worker stopped")
    else:
        _record(session, letter, actor, "resolve", "Not delivered: queued again")
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


# ---------------------------------------------------------------------------- after sending


def close(
    session: Session, *, letter_id: int, actor: User, note: str = "", version: int | None = None
) -> Letter:
    """No more follow-up: the letter is closed (an unsent draft is abandoned)."""
    letter = get(session, letter_id)
    _check_version(letter, version)
    if letter.status not in CLOSABLE or is_sending(letter):
        raise _refuse(letter, "closed")
    letter.status = LetterStatus.closed
    if note:
        letter.sent_note = note[:1000]
    _flush(session, letter)
    _record(session, letter, actor, "close", "Closed" + (f": {note}" if note else ""))
    return letter


def mark_replied(session: Session, *, letter_id: int, actor: User | None) -> Letter:
    """For the replies domain: a reply to this letter was logged."""
    letter = get(session, letter_id)
    if letter.status == LetterStatus.replied:
        return letter
    if letter.status not in {
        LetterStatus.sent,
        LetterStatus.closed,
        LetterStatus.failed,
        LetterStatus.bounced,
    }:
        raise _refuse(letter, "marked as replied")
    letter.status = LetterStatus.replied
    _flush(session, letter)
    _record(session, letter, actor, "replied", "A reply was logged")
    return letter


def mark_bounced(session: Session, *, letter_id: int, reason: str, actor: User | None) -> Letter:
    """For inbound delivery reports: the email came back."""
    letter = get(session, letter_id)
    if letter.status != LetterStatus.sent or letter.channel != Channel.email:
        raise _refuse(letter, "marked as bounced")
    letter.status = LetterStatus.bounced
    letter.sent_note = reason[:1000]
    _flush(session, letter)
    _record(session, letter, actor, "bounced", f"Email bounced: {reason}")
    return letter


def _next_follow_up_reference(session: Session, reference: str) -> str:
    n = 1
    while get_by_reference(session, f"{reference}/R{n}") is not None:
        n += 1
    return f"{reference}/R{n}"


def _milestone_context(
    session: Session, letter: Letter, today: date, language: str
) -> dict[str, Any] | None:
    if letter.campaign_id is None:
        return None
    from app.campaigns import service as campaigns_service
    from app.letters.context import local_date

    campaign = campaigns_service.get(session, letter.campaign_id)
    upcoming = [
        m
        for m in campaigns_service.milestones(session, campaign, today=today)
        if m.due_date >= today
    ]
    if not upcoming:
        return None
    m = upcoming[0]
    return {
        "name": m.title,
        "date": local_date(m.due_date, language),
        "days_left": (m.due_date - today).days,
    }


def follow_up(
    session: Session, *, letter_id: int, actor: User, today: date | None = None
) -> Letter:
    """One step: a draft reminder from the follow-up template, addressed like the original,
    its context carried over (new reference and date, the next milestone)."""
    from app.letters import localise
    from app.letters import service as letters_service
    from app.letters.context import build_context, local_date

    today = today or date.today()
    original = get(session, letter_id)
    if original.status not in {LetterStatus.sent, LetterStatus.bounced}:
        raise _refuse(original, "followed up (only sent letters without a reply can be)")
    template = letters_service.get_by_slug(session, FOLLOW_UP_TEMPLATE)
    if template is None:
        raise NotFound(
            f"The follow-up reminder template ('{FOLLOW_UP_TEMPLATE}') is missing; "
            "run `demarche migrate` to load the built-in letter library."
        )
    version = letters_service.pick_version(template, original.language)
    reference = _next_follow_up_reference(session, original.reference)
    lang = version.language
    # Every registered field present (blank), then the original letter's values over them.
    context = build_context(language=lang, letter_date=today, reference=reference)
    for group, value in (original.context or {}).items():
        if isinstance(value, dict) and isinstance(context.get(group), dict):
            context[group] = {**context[group], **value}
        else:
            context[group] = value
    letter_ctx = dict(context.get("letter") or {})
    letter_ctx.update(
        reference=reference,
        date=local_date(today, lang),
        language=lang,
        original_reference=original.reference,
        original_date=local_date(original.sent_on or original.letter_date, lang),
    )
    context["letter"] = letter_ctx
    # The treaty's next meeting, named in the letter's language; without one, the campaign's
    # next milestone in English letters (its title is English).
    treaty_key = str((context.get("treaty") or {}).get("key") or "")
    facts = letters_service.next_meeting_facts(session, treaty_key, today) if treaty_key else {}
    if facts:
        context["milestone"] = localise.milestone(facts, lang, today)
    elif lang == "en" and (milestone := _milestone_context(session, original, today, lang)):
        context["milestone"] = {**(context.get("milestone") or {}), **milestone}
    letter = Letter(
        reference=reference,
        campaign_id=original.campaign_id,
        batch_id=None,
        template_version_id=version.id,
        follow_up_of_id=original.id,
        language=lang,
        recipient_key=original.recipient_key,
        person_id=original.person_id,
        organisation_id=original.organisation_id,
        country_id=original.country_id,
        recipient_name=original.recipient_name,
        context=context,
        subject="",
        body_html="",
        letter_date=today,
        status=LetterStatus.draft,
        channel=original.channel,
        email_to=original.email_to,
    )
    # Its own text from the start, filled in from the carried-over context (gaps marked).
    letter.subject, letter.body_html = letters_service.fill(version.subject, version.body, context)
    session.add(letter)
    session.flush()
    _record(
        session,
        letter,
        actor,
        "follow_up",
        f"Follow-up drafted for {original.reference}",
        follow_up_of=original.id,
    )
    _record(session, original, actor, "followed_up", f"Follow-up {reference} drafted")
    return letter
