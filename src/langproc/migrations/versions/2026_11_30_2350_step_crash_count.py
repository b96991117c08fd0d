"""step_run.crash_count: abandoned re-claims, counted apart from attempts

Revision ID: c7a3e91f0d42
Revises: 5e1c0a7d2b94
Create Date: 2026-11-30 23:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "c7a3e91f0d42"
down_revision = "5e1c0a7d2b94"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("crash_count", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("step_run", schema=None) as batch_op:
        batch_op.drop_column("crash_count")
