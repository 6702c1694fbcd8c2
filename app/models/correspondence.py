"""Letters: one per recipient (from a template version, by hand or as a follow-up), with the
statuses they go through and the channels they are sent by."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin, UTCDateTime, intpk

if TYPE_CHECKING:
    from app.models.mailmerge import MergeBatch


class LetterStatus(enum.StrEnum):
    draft = "draft"
    approved = "approved"
    sent = "sent"
    replied = "replied"
    closed = "closed"
    failed = "failed"
    bounced = "bounced"


class Channel(enum.StrEnum):
    email = "email"
    post = "post"
    fax = "fax"
    hand = "hand"
    diplomatic_bag = "diplomatic_bag"


def str_enum(kind: type[enum.StrEnum], length: int = 20) -> Enum:
    """A string-valued enum column, checked on write (the letters, merge and replies tables)."""
    return Enum(kind, native_enum=False, length=length, validate_strings=True)


class Letter(TimestampMixin, Base):
    """One letter to one recipient; remembers the exact template version it came from."""

    __tablename__ = "letters"
    __table_args__ = (
        UniqueConstraint("batch_id", "recipient_key"),
        Index("ix_letters_campaign_status", "campaign_id", "status"),
    )

    id: Mapped[intpk]
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), default=None
    )
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("merge_batches.id", ondelete="SET NULL"), default=None, index=True
    )
    template_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("template_version.id"), default=None, index=True
    )
    follow_up_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("letters.id", ondelete="SET NULL"), default=None, index=True
    )
    language: Mapped[str] = mapped_column(String(8), default="en")
    # "person:12" or "organisation:7": one letter per recipient per batch.
    recipient_key: Mapped[str] = mapped_column(String(40), default="")
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None, index=True
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), default=None, index=True
    )
    country_id: Mapped[int | None] = mapped_column(
        ForeignKey("countries.id"), default=None, index=True
    )
    recipient_name: Mapped[str] = mapped_column(String(300), default="")
    # The plain-data merge context, frozen at merge time: re-rendering gives the same text.
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    subject: Mapped[str] = mapped_column(String(500), default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    letter_date: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[LetterStatus] = mapped_column(str_enum(LetterStatus), default=LetterStatus.draft)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), default=Channel.email)
    pdf_path: Mapped[str] = mapped_column(String(500), default="")
    pages: Mapped[int] = mapped_column(default=0)
    render_error: Mapped[str] = mapped_column(String(1000), default="")
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    second_approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    second_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sent_on: Mapped[date | None] = mapped_column(Date, default=None)
    sent_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    sent_note: Mapped[str] = mapped_column(String(1000), default="")
    # Set when someone asks for the email to be sent; the worker then fills outbox_id.
    send_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_emails.id", ondelete="SET NULL"), default=None
    )
    email_to: Mapped[str] = mapped_column(String(320), default="")
    email_message_id: Mapped[str] = mapped_column(String(250), default="", index=True)
    reply_due_on: Mapped[date | None] = mapped_column(Date, default=None)
    version: Mapped[int] = mapped_column(default=1)

    batch: Mapped[MergeBatch | None] = relationship(back_populates="letters", lazy="raise")

    __mapper_args__ = {"version_id_col": version}
