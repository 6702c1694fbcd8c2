"""Mail-merge tables: the merge batches that draft and render letters, and the counters their
letter references are numbered from."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin, UTCDateTime, intpk, str200
from app.models.correspondence import Letter, str_enum


class BatchStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


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
    status: Mapped[BatchStatus] = mapped_column(str_enum(BatchStatus), default=BatchStatus.queued)
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
