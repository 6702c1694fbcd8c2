"""Contacts imports as recorded batches (so one can be rolled back) and remembered mappings."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, TimestampMixin, UTCDateTime, intpk


class ImportBatchStatus(enum.StrEnum):
    done = "done"
    undone = "undone"


class ImportBatch(TimestampMixin, Base):
    """What one import wrote: the records it created and the ones it changed (with their
    version after the import and their values before), so undo can tell what was touched
    since and put the rest back."""

    __tablename__ = "import_batches"

    id: Mapped[intpk]
    filename: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[ImportBatchStatus] = mapped_column(
        Enum(ImportBatchStatus, native_enum=False, length=10, validate_strings=True),
        default=ImportBatchStatus.done,
    )
    # {"created": 12, "updated": 3, "skipped": 1, ...}
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"created": [{"type": "person", "id": 1, "version": 1}], "updated": [{..., "before": {}}]}
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    undone_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class ImportMapping(TimestampMixin, Base):
    """The column mapping last used for a set of headers, offered again for the same file."""

    __tablename__ = "import_mappings"

    id: Mapped[intpk]
    # A hash of the file's folded header row.
    header_key: Mapped[str] = mapped_column(String(64), unique=True)
    headers: Mapped[list[str]] = mapped_column(JSON, default=list)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
