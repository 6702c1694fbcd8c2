"""directory filters: the people working at organisations read from one index

Revision ID: 6a4c8e2b0d17
Revises: 2f7b9c1d3e5a
Create Date: 2026-12-11 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "6a4c8e2b0d17"
down_revision: str | None = "2f7b9c1d3e5a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # (organisation, end date, person): the people working now at the organisations a filter
    # picks (a treaty status, a region, a type) come from the index alone; it starts with the
    # organisation, so it also serves every lookup the single-column index served.
    op.create_index(
        "ix_positions_org_current", "positions", ["organisation_id", "end_date", "person_id"]
    )
    op.drop_index("ix_positions_organisation_id", table_name="positions")


def downgrade() -> None:
    op.create_index("ix_positions_organisation_id", "positions", ["organisation_id"])
    op.drop_index("ix_positions_org_current", table_name="positions")
