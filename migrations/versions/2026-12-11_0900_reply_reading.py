"""reading replies: dated_on, kind, language, kept match reasons, OCR of scans, failing addresses

Revision ID: 5b8e2d4f6a13
Revises: 7e1c5a90d2b4
Create Date: 2026-12-11 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b8e2d4f6a13"
down_revision: str | None = "7e1c5a90d2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("replies") as batch:
        batch.add_column(sa.Column("dated_on", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="reply")
        )
        batch.add_column(
            sa.Column("language", sa.String(length=10), nullable=False, server_default="")
        )
    with op.batch_alter_table("reply_letters") as batch:
        batch.add_column(
            sa.Column("reasons", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("reply_attachments") as batch:
        batch.add_column(
            sa.Column("ocr_status", sa.String(length=20), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("ocr_language", sa.String(length=10), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("ocr_pages", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("ocr_pages_done", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("ocr_text", sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("ocr_error", sa.String(length=500), nullable=False, server_default="")
        )
    with op.batch_alter_table("contact_points") as batch:
        batch.add_column(sa.Column("failing_since", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("failure_reason", sa.String(length=500), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("contact_points") as batch:
        batch.drop_column("failure_reason")
        batch.drop_column("failing_since")
    with op.batch_alter_table("reply_attachments") as batch:
        for name in (
            "ocr_error",
            "ocr_text",
            "ocr_pages_done",
            "ocr_pages",
            "ocr_language",
            "ocr_status",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("reply_letters") as batch:
        batch.drop_column("reasons")
    with op.batch_alter_table("replies") as batch:
        batch.drop_column("language")
        batch.drop_column("kind")
        batch.drop_column("dated_on")
