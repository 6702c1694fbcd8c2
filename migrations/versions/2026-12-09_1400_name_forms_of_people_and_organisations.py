"""people and organisations: names in other scripts (name_forms)

Revision ID: 9c4f1e2a7b61
Revises: 5b2e7c9d1a43
Create Date: 2026-12-09 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c4f1e2a7b61"
down_revision: str | None = "5b2e7c9d1a43"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("people", "organisations")


def upgrade() -> None:
    # the default fills the rows there are; it stays, since dropping it would make SQLite
    # copy each table (and a copy of people would cascade to their positions)
    for table in _TABLES:
        op.add_column(
            table,
            sa.Column("name_forms", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
        )


def downgrade() -> None:
    for table in _TABLES:
        op.drop_column(table, "name_forms")  # SQLite 3.35 and later drop it in place
