"""blob registry: stored files, what uses them, and cached speech by file

Revision ID: 3b7f2c9d1e60
Revises: 3b7d9e2c4a61
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from langproc.db.base import UTCDateTime

revision = "3b7f2c9d1e60"
down_revision = "3b7d9e2c4a61"
branch_labels = None
depends_on = None


def upgrade() -> None:
    blob = op.create_table(
        "blob",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("touched_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_blob")),
    )
    with op.batch_alter_table("blob") as batch_op:
        batch_op.create_index(batch_op.f("ix_blob_touched_at"), ["touched_at"], unique=False)
    with op.batch_alter_table("cache_entry") as batch_op:
        batch_op.add_column(sa.Column("blob_key", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_cache_entry_blob_key"), ["blob_key"], unique=False)
    with op.batch_alter_table("sourcefile") as batch_op:
        batch_op.create_index("ix_sourcefile_blob_key", ["blob_key"], unique=False)
    # Speech used to be cached hex-encoded in the entry; it is spoken again on demand now.
    op.execute(
        "DELETE FROM cache_entry WHERE "
        + (
            "position('\"data_hex\"'::bytea in value) > 0"
            if op.get_bind().dialect.name == "postgresql"
            else "instr(value, CAST('\"data_hex\"' AS BLOB)) > 0"
        )
    )
    # Files in use now are registered as touched now; the collector adopts the others.
    connection = op.get_bind()
    keys = connection.execute(
        sa.text(
            "SELECT blob_key FROM sourcefile WHERE blob_key IS NOT NULL "
            "UNION SELECT blob_key FROM audio"
        )
    ).scalars()
    now = datetime.now(UTC)
    rows = [{"key": key, "touched_at": now} for key in keys]
    if rows:
        op.bulk_insert(blob, rows)


def downgrade() -> None:
    with op.batch_alter_table("sourcefile") as batch_op:
        batch_op.drop_index("ix_sourcefile_blob_key")
    with op.batch_alter_table("cache_entry") as batch_op:
        batch_op.drop_index(batch_op.f("ix_cache_entry_blob_key"))
        batch_op.drop_column("blob_key")
    with op.batch_alter_table("blob") as batch_op:
        batch_op.drop_index(batch_op.f("ix_blob_touched_at"))
    op.drop_table("blob")
