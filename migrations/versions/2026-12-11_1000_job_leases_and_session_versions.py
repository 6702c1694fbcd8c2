"""job leases for merges and exports; a session version per user

Revision ID: 8d2f4a6c1e39
Revises: 5b8e2d4f6a13
Create Date: 2026-12-11 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "8d2f4a6c1e39"
down_revision: str | None = "5b8e2d4f6a13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("merge_batches", "export_jobs"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("lease_owner", sa.String(length=120), nullable=False, server_default="")
            )
            batch.add_column(
                sa.Column(
                    "lease_expires_at", app.models.base.UTCDateTime(timezone=True), nullable=True
                )
            )
            batch.add_column(
                sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
            )
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="1")
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")
    for table in ("export_jobs", "merge_batches"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("attempts")
            batch.drop_column("lease_expires_at")
            batch.drop_column("lease_owner")
