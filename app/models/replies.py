"""Replies to our letters (with the letters they answer and their scans) and the position
register they feed: what a state said about a treaty, and where it said it."""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin, intpk
from app.models.correspondence import Channel, str_enum


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


class Reply(TimestampMixin, Base):
    """An answer that came back: by post, email, fax; perhaps from someone else than we wrote to."""

    __tablename__ = "replies"

    id: Mapped[intpk]
    status: Mapped[ReplyStatus] = mapped_column(str_enum(ReplyStatus), default=ReplyStatus.logged)
    received_on: Mapped[date] = mapped_column(Date)
    # The date the sender wrote on the reply itself, beside the day it reached us.
    dated_on: Mapped[date | None] = mapped_column(Date, default=None)
    kind: Mapped[ReplyKind] = mapped_column(str_enum(ReplyKind), default=ReplyKind.reply)
    language: Mapped[str] = mapped_column(String(10), default="")
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), default=Channel.post)
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
    stance: Mapped[PositionStance] = mapped_column(str_enum(PositionStance))
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
