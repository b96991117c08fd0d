"""initial schema

Revision ID: 43dd61803b8c
Revises:
Create Date: 2026-11-28 14:10:46.477321
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from langproc.db.base import UTCDateTime

revision = "43dd61803b8c"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sourcefile_id", sa.Uuid(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index("ix_event_owner_id", ["owner", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_sourcefile_id"), ["sourcefile_id"], unique=False)

    op.create_table(
        "sourcefile",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("native_language", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("input_text", sa.Text(), nullable=True),
        sa.Column("blob_key", sa.String(length=200), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sourcefile")),
        sa.UniqueConstraint(
            "owner", "idempotency_key", name=op.f("uq_sourcefile_owner_idempotency_key")
        ),
    )
    with op.batch_alter_table("sourcefile", schema=None) as batch_op:
        batch_op.create_index("ix_sourcefile_owner_created", ["owner", "created_at"], unique=False)

    op.create_table(
        "step_run",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sourcefile_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempt_floor", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("error_type", sa.String(length=100), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_retryable", sa.Boolean(), nullable=True),
        sa.Column(
            "output",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "usage",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["sourcefile_id"],
            ["sourcefile.id"],
            name=op.f("fk_step_run_sourcefile_id_sourcefile"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_run")),
        sa.UniqueConstraint("sourcefile_id", "step", name=op.f("uq_step_run_sourcefile_id_step")),
    )
    with op.batch_alter_table("step_run", schema=None) as batch_op:
        batch_op.create_index("ix_step_run_lease", ["status", "lease_expires_at"], unique=False)
        batch_op.create_index(
            "ix_step_run_runnable", ["status", "ready", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_step_run_sourcefile_id"), ["sourcefile_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("step_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_step_run_sourcefile_id"))
        batch_op.drop_index("ix_step_run_runnable")
        batch_op.drop_index("ix_step_run_lease")

    op.drop_table("step_run")
    with op.batch_alter_table("sourcefile", schema=None) as batch_op:
        batch_op.drop_index("ix_sourcefile_owner_created")

    op.drop_table("sourcefile")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_sourcefile_id"))
        batch_op.drop_index("ix_event_owner_id")

    op.drop_table("event")
