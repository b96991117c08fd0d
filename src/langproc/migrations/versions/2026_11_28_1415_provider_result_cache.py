"""provider result cache

Revision ID: 9714889a545c
Revises: 43dd61803b8c
Create Date: 2026-11-28 14:15:48.698807
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from langproc.db.base import UTCDateTime

revision = "9714889a545c"
down_revision = "43dd61803b8c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cache_entry",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_cache_entry")),
    )


def downgrade() -> None:
    op.drop_table("cache_entry")
