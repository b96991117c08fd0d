"""The results a frontend queries: word forms, the shared lemma table, phrases, sentences, audio.

Each step's results are replaced as a whole in the transaction that checkpoints the step.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from langproc.db.base import Base, JSONType, utcnow

_SOURCEFILE_FK = "sourcefile.id"


def _owned_by_sourcefile() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey(_SOURCEFILE_FK, ondelete="CASCADE"), index=True)


class WordForm(Base):
    __tablename__ = "word_form"
    __table_args__ = (UniqueConstraint("sourcefile_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    sourcefile_id: Mapped[uuid.UUID] = _owned_by_sourcefile()
    position: Mapped[int] = mapped_column(Integer)
    wordform: Mapped[str] = mapped_column(String(200))
    lemma: Mapped[str] = mapped_column(String(200))
    part_of_speech: Mapped[str] = mapped_column(String(50), default="")
    inflection: Mapped[str] = mapped_column(String(200), default="")
    translations: Mapped[list[str]] = mapped_column(JSONType, default=list)
    centrality: Mapped[float] = mapped_column(Float, default=0.0)
    frequency: Mapped[float] = mapped_column(Float, default=0.0)


class Lemma(Base):
    """Shared by every document of a language; described once, reused after."""

    __tablename__ = "lemma"
    __table_args__ = (UniqueConstraint("language", "lemma", "part_of_speech"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    language: Mapped[str] = mapped_column(String(8))
    lemma: Mapped[str] = mapped_column(String(200))
    part_of_speech: Mapped[str] = mapped_column(String(50), default="")
    translations: Mapped[list[str]] = mapped_column(JSONType, default=list)
    etymology: Mapped[str] = mapped_column(Text, default="")
    register: Mapped[str] = mapped_column(String(100), default="")
    cefr_level: Mapped[str] = mapped_column(String(8), default="")
    frequency: Mapped[float] = mapped_column(Float, default=0.0)
    mnemonic: Mapped[str] = mapped_column(Text, default="")
    synonyms: Mapped[list[str]] = mapped_column(JSONType, default=list)
    gender: Mapped[str] = mapped_column(String(20), default="", server_default="")
    article: Mapped[str] = mapped_column(String(60), default="", server_default="")
    plural: Mapped[str] = mapped_column(String(200), default="", server_default="")
    principal_parts: Mapped[list[str]] = mapped_column(
        JSONType, default=list, server_default=text("'[]'")
    )
    # True once an LLM was asked for it (even if it left it out); local-only entries carry just
    # the lemma and frequency.
    described: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Phrase(Base):
    __tablename__ = "phrase"
    __table_args__ = (UniqueConstraint("sourcefile_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    sourcefile_id: Mapped[uuid.UUID] = _owned_by_sourcefile()
    position: Mapped[int] = mapped_column(Integer)
    phrase: Mapped[str] = mapped_column(Text)
    translations: Mapped[list[str]] = mapped_column(JSONType, default=list)
    literal_translation: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")


class Sentence(Base):
    __tablename__ = "sentence"
    __table_args__ = (UniqueConstraint("sourcefile_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    sourcefile_id: Mapped[uuid.UUID] = _owned_by_sourcefile()
    position: Mapped[int] = mapped_column(Integer)
    sentence: Mapped[str] = mapped_column(Text)
    translation: Mapped[str] = mapped_column(Text, default="")
    lemmas: Mapped[list[str]] = mapped_column(JSONType, default=list)
    cefr_level: Mapped[str] = mapped_column(String(8), default="")
    target_lemma: Mapped[str] = mapped_column(String(200), default="", server_default="")
    target_form: Mapped[str] = mapped_column(String(200), default="", server_default="")


class SentenceLemma(Base):
    """Links a sentence to the shared lemmas it uses."""

    __tablename__ = "sentence_lemma"

    sentence_id: Mapped[int] = mapped_column(
        ForeignKey("sentence.id", ondelete="CASCADE"), primary_key=True
    )
    lemma_id: Mapped[int] = mapped_column(
        ForeignKey("lemma.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Audio(Base):
    """A spoken text (`sentence_position` None) or sentence, stored as a blob."""

    __tablename__ = "audio"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    sourcefile_id: Mapped[uuid.UUID] = _owned_by_sourcefile()
    sentence_position: Mapped[int | None] = mapped_column(Integer)
    blob_key: Mapped[str] = mapped_column(String(200), index=True)
    content_type: Mapped[str] = mapped_column(String(100))
    characters: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
