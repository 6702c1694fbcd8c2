"""The outbox: every email Demarche sends, stored before it is sent (exactly-once delivery)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, UTCDateTime, intpk, str200


class OutboxStatus(enum.StrEnum):
    queued = "queued"  # waiting for a worker
    sending = "sending"  # claimed; the message body is not complete at the server yet
    committing = "committing"  # the final dot is on its way: the server may have accepted it
    sent = "sent"
    retry = "retry"  # temporary failure; next_attempt_at says when
    failed = "failed"  # permanent failure (5xx, bad address, too many attempts)
    uncertain = "uncertain"  # a worker died while committing: a person checks before resending


class OutboundEmail(TimestampMixin, Base):
    __tablename__ = "outbound_emails"
    __table_args__ = (Index("ix_outbound_emails_status_next", "status", "next_attempt_at"),)

    id: Mapped[intpk]
    message_id: Mapped[str] = mapped_column(String(250), unique=True)
    # What the email is about, e.g. ("letter", 42); the sending domain reads it back.
    subject_type: Mapped[str] = mapped_column(String(40), default="", index=True)
    subject_id: Mapped[int | None] = mapped_column(default=None, index=True)
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[str] = mapped_column(Text)  # comma-separated envelope recipients
    subject: Mapped[str] = mapped_column(String(500), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=20), default=OutboxStatus.queued
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    claimed_by: Mapped[str] = mapped_column(String(120), default="")
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    server_reply: Mapped[str200] = mapped_column(default="")
