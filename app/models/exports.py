"""Exports run in the background: their options, progress and the file only their owner gets."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, TimestampMixin, UTCDateTime, intpk, str200
from app.models.user import User


class ExportStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ExportJob(TimestampMixin, Base):
    __tablename__ = "export_jobs"

    id: Mapped[intpk]
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[ExportStatus] = mapped_column(
        Enum(ExportStatus, native_enum=False, length=10, validate_strings=True),
        default=ExportStatus.queued,
    )
    format: Mapped[str] = mapped_column(String(20))
    # What was asked for (an ExportRequest as JSON) and a readable description of the source.
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_label: Mapped[str200] = mapped_column(default="")
    total: Mapped[int] = mapped_column(default=0)
    processed: Mapped[int] = mapped_column(default=0)
    exported: Mapped[int] = mapped_column(default=0)
    excluded: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    filename: Mapped[str200] = mapped_column(default="")
    content_type: Mapped[str] = mapped_column(String(100), default="")
    # Relative to the files directory; never shown to users.
    file_path: Mapped[str] = mapped_column(String(300), default="")
    size: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The worker running it renews its lease; an expired lease means that worker died.
    lease_owner: Mapped[str] = mapped_column(String(120), default="")
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    attempts: Mapped[int] = mapped_column(default=0)

    owner: Mapped[User] = relationship(lazy="raise")

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.done:
            return 100
        return int(100 * self.processed / self.total) if self.total else 0
