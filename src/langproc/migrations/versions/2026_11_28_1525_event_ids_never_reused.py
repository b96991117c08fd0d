"""event ids are never reused on SQLite (AUTOINCREMENT)

Revision ID: 5e1c0a7d2b94
Revises: 8a55c1491a9c
Create Date: 2026-11-28 15:25:00
"""

from __future__ import annotations

from alembic import op

revision = "5e1c0a7d2b94"
down_revision = "8a55c1491a9c"
branch_labels = None
depends_on = None


def _rebuild(autoincrement: bool) -> None:
    # PostgreSQL's identity never reuses ids; only SQLite's rowid alias needs AUTOINCREMENT.
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "event", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
