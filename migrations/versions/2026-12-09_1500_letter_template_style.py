"""letter templates: the style of address; the organisation profile in each letter language

Revision ID: 3d7a9b2c4e58
Revises: 9c4f1e2a7b61
Create Date: 2026-12-09 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3d7a9b2c4e58"
down_revision: str | None = "9c4f1e2a7b61"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "letter_template",
        sa.Column("style", sa.String(length=12), nullable=False, server_default="formal"),
    )
    op.add_column(
        "organisation_profile",
        sa.Column("translations", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )


def downgrade() -> None:
    with op.batch_alter_table("organisation_profile") as batch:
        batch.drop_column("translations")
    with op.batch_alter_table("letter_template") as batch:
        batch.drop_column("style")
