"""step ready_at

Revision ID: 8a55c1491a9c
Revises: 62c0525b35bf
Create Date: 2026-11-28 14:32:30.786355
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from langproc.db.base import UTCDateTime

revision = "8a55c1491a9c"
down_revision = "62c0525b35bf"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ready_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("step_run", schema=None) as batch_op:
        batch_op.drop_column("ready_at")
