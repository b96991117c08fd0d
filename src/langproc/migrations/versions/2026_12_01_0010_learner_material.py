"""learner material: the upload's CEFR level, noun and verb forms of lemmas, sentence targets

Revision ID: 3b7d9e2c4a61
Revises: c7a3e91f0d42
Create Date: 2026-12-01 00:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "3b7d9e2c4a61"
down_revision = "c7a3e91f0d42"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("sourcefile", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("level", sa.String(length=2), server_default="B1", nullable=False)
        )
    with op.batch_alter_table("lemma", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("gender", sa.String(length=20), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("article", sa.String(length=60), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("plural", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("principal_parts", _JSON, server_default=sa.text("'[]'"), nullable=False)
        )
    with op.batch_alter_table("sentence", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("target_lemma", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("target_form", sa.String(length=200), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("sentence", schema=None) as batch_op:
        batch_op.drop_column("target_form")
        batch_op.drop_column("target_lemma")
    with op.batch_alter_table("lemma", schema=None) as batch_op:
        batch_op.drop_column("principal_parts")
        batch_op.drop_column("plural")
        batch_op.drop_column("article")
        batch_op.drop_column("gender")
    with op.batch_alter_table("sourcefile", schema=None) as batch_op:
        batch_op.drop_column("level")
