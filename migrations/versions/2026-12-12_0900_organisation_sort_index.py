"""directory order: organisations by lower-case name from an index

Revision ID: 3c7e9a1f5b28
Revises: 6a4c8e2b0d17
Create Date: 2026-12-12 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c7e9a1f5b28"
down_revision: str | None = "6a4c8e2b0d17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The directory sorts organisations by lower(name), id: a broad filter (a treaty status, a
    # region, the whole list) then reads its page from this index instead of sorting every match.
    op.create_index("ix_organisations_sort", "organisations", [sa.text("lower(name)"), "id"])


def downgrade() -> None:
    op.drop_index("ix_organisations_sort", table_name="organisations")
