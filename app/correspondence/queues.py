"""The letters' work queues: letters by stage (to approve, ready, sending, failed, overdue),
the rows lists show, the counts per stage, and the campaigns and batches to filter by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.correspondence.followup import list_overdue
from app.correspondence.message import display_subject
from app.correspondence.service import display_status, page, scoped
from app.errors import InvalidInput, NotFound
from app.models import Campaign, Letter, LetterStatus, MergeBatch


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
    query = scoped(select(Letter), campaign_id, batch_id, q)
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
    return page(session, query, [Letter.id], limit, offset)


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
