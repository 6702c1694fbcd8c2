"""Letters (one per recipient, from a template version), merge batches, replies and positions."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin, UTCDateTime, intpk, str200


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


class BatchStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


class PositionStance(enum.StrEnum):
    supports = "supports"
    will_consider = "will_consider"
    opposes = "opposes"
    no_position = "no_position"
    already_party = "already_party"


class ReplyKind(enum.StrEnum):
    """What a message in the replies mailbox is; only a ``reply`` marks its letters replied."""

    reply = "reply"
    acknowledgement = "acknowledgement"  # "your letter has been received / forwarded"
    auto_reply = "auto_reply"  # out of office, Auto-Submitted, X-Autoreply
    bounce = "bounce"  # a delivery failure report


class ReplyStatus(enum.StrEnum):
    logged = "logged"  # matched to its letter(s) by a person or with certainty
    triage = "triage"  # arrived by email and could not be matched with certainty
    dismissed = "dismissed"  # not a reply (spam, out-of-office) — kept for the record


def _enum(kind: type[enum.StrEnum], length: int = 20) -> Enum:
    return Enum(kind, native_enum=False, length=length, validate_strings=True)


class ReferenceCounter(Base):
    """The last number handed out per reference prefix (e.g. ``CMC/2010/TJK/``)."""

    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(String(120), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class MergeBatch(TimestampMixin, Base):
    """One mail merge: a template × a list of recipients, rendered in the background."""

    __tablename__ = "merge_batches"

    id: Mapped[intpk]
    name: Mapped[str200] = mapped_column(default="")
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), default=None, index=True
    )
    template_id: Mapped[int] = mapped_column(ForeignKey("letter_template.id"), index=True)
    # {"segment_id": int | None, "person_ids": [...], "organisation_ids": [...], "filters": {...}}
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reference_pattern: Mapped[str] = mapped_column(String(120), default="")
    letter_date: Mapped[date | None] = mapped_column(Date, default=None)
    status: Mapped[BatchStatus] = mapped_column(_enum(BatchStatus), default=BatchStatus.queued)
    total: Mapped[int] = mapped_column(default=0)
    rendered: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    # Recipients shown, not silently dropped: [{"name":..., "reason": "no post"}, ...] and timings.
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    combined_pdf_path: Mapped[str] = mapped_column(String(500), default="")
    zip_path: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The worker running it renews its lease; an expired lease means that worker died.
    lease_owner: Mapped[str] = mapped_column(String(120), default="")
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    attempts: Mapped[int] = mapped_column(default=0)

    letters: Mapped[list[Letter]] = relationship(
        back_populates="batch", lazy="raise", order_by="Letter.id"
    )


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
    status: Mapped[LetterStatus] = mapped_column(_enum(LetterStatus), default=LetterStatus.draft)
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.email)
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


class Reply(TimestampMixin, Base):
    """An answer that came back: by post, email, fax; perhaps from someone else than we wrote to."""

    __tablename__ = "replies"

    id: Mapped[intpk]
    status: Mapped[ReplyStatus] = mapped_column(_enum(ReplyStatus), default=ReplyStatus.logged)
    received_on: Mapped[date] = mapped_column(Date)
    # The date the sender wrote on the reply itself, beside the day it reached us.
    dated_on: Mapped[date | None] = mapped_column(Date, default=None)
    kind: Mapped[ReplyKind] = mapped_column(_enum(ReplyKind), default=ReplyKind.reply)
    language: Mapped[str] = mapped_column(String(10), default="")
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.post)
    sender_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), default=None, index=True
    )
    sender_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), default=None, index=True
    )
    country_id: Mapped[int | None] = mapped_column(
        ForeignKey("countries.id"), default=None, index=True
    )
    sender_name: Mapped[str] = mapped_column(String(300), default="")
    sender_email: Mapped[str] = mapped_column(String(320), default="")
    sender_reference: Mapped[str] = mapped_column(String(200), default="")
    cited_letter_date: Mapped[date | None] = mapped_column(Date, default=None)
    subject: Mapped[str] = mapped_column(String(500), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    full_text: Mapped[str] = mapped_column(Text, default="")
    email_message_id: Mapped[str] = mapped_column(String(250), default="", index=True)
    email_in_reply_to: Mapped[str] = mapped_column(String(1000), default="")
    triage_note: Mapped[str] = mapped_column(String(1000), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    version: Mapped[int] = mapped_column(default=1)

    links: Mapped[list[ReplyLetter]] = relationship(
        back_populates="reply", lazy="raise", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[ReplyAttachment]] = relationship(
        back_populates="reply", lazy="raise", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class ReplyLetter(Base):
    """Which of our letters a reply answers (one reply may answer several)."""

    __tablename__ = "reply_letters"
    __table_args__ = (UniqueConstraint("reply_id", "letter_id"),)

    id: Mapped[intpk]
    reply_id: Mapped[int] = mapped_column(ForeignKey("replies.id", ondelete="CASCADE"))
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"), index=True)
    # How the link was made: "manual", "reference", "in-reply-to", "reply-to address", ...
    matched_by: Mapped[str] = mapped_column(String(40), default="manual")
    # Why the letter was linked, as the matcher explained it; kept after linking.
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)

    reply: Mapped[Reply] = relationship(back_populates="links", lazy="raise")


class ReplyAttachment(TimestampMixin, Base):
    """A scan or file that came with a reply; stored under the data directory, never inline."""

    __tablename__ = "reply_attachments"

    id: Mapped[intpk]
    reply_id: Mapped[int] = mapped_column(ForeignKey("replies.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(500))
    # Text recognition of a scan: "" (not a scan), queued, running, done, failed.
    ocr_status: Mapped[str] = mapped_column(String(20), default="")
    ocr_language: Mapped[str] = mapped_column(String(10), default="")
    ocr_pages: Mapped[int] = mapped_column(default=0)
    ocr_pages_done: Mapped[int] = mapped_column(default=0)
    ocr_text: Mapped[str] = mapped_column(Text, default="")
    ocr_error: Mapped[str] = mapped_column(String(500), default="")

    reply: Mapped[Reply] = relationship(back_populates="attachments", lazy="raise")


class PositionEntry(TimestampMixin, Base):
    """One entry in a state's position register for a treaty, with its evidence."""

    __tablename__ = "position_entries"
    __table_args__ = (Index("ix_position_entries_country_treaty", "country_id", "treaty_id"),)

    id: Mapped[intpk]
    country_id: Mapped[int] = mapped_column(ForeignKey("countries.id"))
    treaty_id: Mapped[int] = mapped_column(ForeignKey("treaties.id"))
    stance: Mapped[PositionStance] = mapped_column(_enum(PositionStance))
    stated_on: Mapped[date] = mapped_column(Date)
    quote: Mapped[str] = mapped_column(Text, default="")
    reply_id: Mapped[int | None] = mapped_column(
        ForeignKey("replies.id", ondelete="SET NULL"), default=None, index=True
    )
    # Evidence other than a reply: "Statement at the 2nd Meeting of States Parties", a URL ...
    source: Mapped[str] = mapped_column(String(500), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
