"""directory position filter: trigram indexes on titles (PostgreSQL)

Revision ID: 9d4b6f2a8c71
Revises: 3c7e9a1f5b28
Create Date: 2026-12-12 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d4b6f2a8c71"
down_revision: str | None = "3c7e9a1f5b28"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_positions_title_words", "positions", "title"),
    ("ix_organisations_office_title_words", "organisations", "office_title"),
]


def upgrade() -> None:
    # "Titles containing 'ambassador'" reads a trigram index instead of every position. pg_trgm
    # ships with PostgreSQL and is a trusted extension: the database owner may create it.
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        op.create_index(
            name,
            table,
            [sa.text(f"lower({column}) gin_trgm_ops")],
            postgresql_using="gin",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, _column in INDEXES:
        op.drop_index(name, table_name=table)
