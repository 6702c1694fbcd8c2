"""contact points: indexes that answer an owner's best point of each kind

Revision ID: 5b2e7c9d1a43
Revises: 823e33b21a2d
Create Date: 2026-12-02 13:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b2e7c9d1a43"
down_revision: str | None = "823e33b21a2d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OWNERS = (("person", "person_id"), ("organisation", "organisation_id"))


def upgrade() -> None:
    # the new indexes start with the owner's column, so they serve every lookup by owner too
    for owner, column in _OWNERS:
        op.create_index(
            f"ix_contact_points_{owner}_best",
            "contact_points",
            [column, "kind", "preferred", "id"],
        )
        op.drop_index(f"ix_contact_points_{column}", table_name="contact_points")


def downgrade() -> None:
    for owner, column in _OWNERS:
        op.create_index(f"ix_contact_points_{column}", "contact_points", [column])
        op.drop_index(f"ix_contact_points_{owner}_best", table_name="contact_points")
