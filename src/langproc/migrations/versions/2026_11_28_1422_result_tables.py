"""result tables

Revision ID: 62c0525b35bf
Revises: 9714889a545c
Create Date: 2026-11-28 14:22:02.042333
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from langproc.db.base import UTCDateTime

revision = "62c0525b35bf"
down_revision = "9714889a545c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lemma",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("lemma", sa.String(length=200), nullable=False),
        sa.Column("part_of_speech", sa.String(length=50), nullable=False),
        sa.Column(
            "translations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("etymology", sa.Text(), nullable=False),
        sa.Column("register", sa.String(length=100), nullable=False),
        sa.Column("cefr_level", sa.String(length=8), nullable=False),
        sa.Column("frequency", sa.Float(), nullable=False),
        sa.Column("mnemonic", sa.Text(), nullable=False),
        sa.Column(
            "synonyms",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("described", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lemma")),
        sa.UniqueConstraint(
            "language",
            "lemma",
            "part_of_speech",
            name=op.f("uq_lemma_language_lemma_part_of_speech"),
        ),
    )
    op.create_table(
        "audio",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sourcefile_id", sa.Uuid(), nullable=False),
        sa.Column("sentence_position", sa.Integer(), nullable=True),
        sa.Column("blob_key", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("characters", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sourcefile_id"],
            ["sourcefile.id"],
            name=op.f("fk_audio_sourcefile_id_sourcefile"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audio")),
    )
    with op.batch_alter_table("audio", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audio_blob_key"), ["blob_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_audio_sourcefile_id"), ["sourcefile_id"], unique=False)

    op.create_table(
        "phrase",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sourcefile_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("phrase", sa.Text(), nullable=False),
        sa.Column(
            "translations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("literal_translation", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sourcefile_id"],
            ["sourcefile.id"],
            name=op.f("fk_phrase_sourcefile_id_sourcefile"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phrase")),
        sa.UniqueConstraint(
            "sourcefile_id", "position", name=op.f("uq_phrase_sourcefile_id_position")
        ),
    )
    with op.batch_alter_table("phrase", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_phrase_sourcefile_id"), ["sourcefile_id"], unique=False
        )

    op.create_table(
        "sentence",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sourcefile_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sentence", sa.Text(), nullable=False),
        sa.Column("translation", sa.Text(), nullable=False),
        sa.Column(
            "lemmas",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("cefr_level", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["sourcefile_id"],
            ["sourcefile.id"],
            name=op.f("fk_sentence_sourcefile_id_sourcefile"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sentence")),
        sa.UniqueConstraint(
            "sourcefile_id", "position", name=op.f("uq_sentence_sourcefile_id_position")
        ),
    )
    with op.batch_alter_table("sentence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sentence_sourcefile_id"), ["sourcefile_id"], unique=False
        )

    op.create_table(
        "word_form",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sourcefile_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("wordform", sa.String(length=200), nullable=False),
        sa.Column("lemma", sa.String(length=200), nullable=False),
        sa.Column("part_of_speech", sa.String(length=50), nullable=False),
        sa.Column("inflection", sa.String(length=200), nullable=False),
        sa.Column(
            "translations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("centrality", sa.Float(), nullable=False),
        sa.Column("frequency", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sourcefile_id"],
            ["sourcefile.id"],
            name=op.f("fk_word_form_sourcefile_id_sourcefile"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_word_form")),
        sa.UniqueConstraint(
            "sourcefile_id", "position", name=op.f("uq_word_form_sourcefile_id_position")
        ),
    )
    with op.batch_alter_table("word_form", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_word_form_sourcefile_id"), ["sourcefile_id"], unique=False
        )

    op.create_table(
        "sentence_lemma",
        sa.Column("sentence_id", sa.Integer(), nullable=False),
        sa.Column("lemma_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lemma_id"],
            ["lemma.id"],
            name=op.f("fk_sentence_lemma_lemma_id_lemma"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sentence_id"],
            ["sentence.id"],
            name=op.f("fk_sentence_lemma_sentence_id_sentence"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sentence_id", "lemma_id", name=op.f("pk_sentence_lemma")),
    )
    with op.batch_alter_table("sentence_lemma", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sentence_lemma_lemma_id"), ["lemma_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sentence_lemma", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sentence_lemma_lemma_id"))

    op.drop_table("sentence_lemma")
    with op.batch_alter_table("word_form", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_word_form_sourcefile_id"))

    op.drop_table("word_form")
    with op.batch_alter_table("sentence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sentence_sourcefile_id"))

    op.drop_table("sentence")
    with op.batch_alter_table("phrase", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phrase_sourcefile_id"))

    op.drop_table("phrase")
    with op.batch_alter_table("audio", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audio_sourcefile_id"))
        batch_op.drop_index(batch_op.f("ix_audio_blob_key"))

    op.drop_table("audio")
    op.drop_table("lemma")
