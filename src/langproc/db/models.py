"""The tables: a sourcefile, its step runs, the event log, the result cache and stored files."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from langproc.db.base import Base, JSONType, utcnow


class SourcefileStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


# A sourcefile in one of these has stopped: nothing more runs unless a step is re-run.
TERMINAL_SOURCEFILE_STATUSES = frozenset(
    {SourcefileStatus.SUCCEEDED, SourcefileStatus.FAILED, SourcefileStatus.CANCELLED}
)
# A step in one of these has ended; only a re-run moves it again.
TERMINAL_STEP_STATUSES = frozenset(
    {StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED}
)
# The terminal step statuses whose dependents may run.
DONE_STEP_STATUSES = frozenset({StepStatus.SUCCEEDED, StepStatus.SKIPPED})


class SourcefileKind(StrEnum):
    IMAGE = "image"
    TEXT = "text"


class Sourcefile(Base):
    __tablename__ = "sourcefile"
    __table_args__ = (
        UniqueConstraint("owner", "idempotency_key"),
        Index("ix_sourcefile_owner_created", "owner", "created_at"),
        Index("ix_sourcefile_blob_key", "blob_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(8))
    native_language: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(8))
    title: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default=SourcefileStatus.QUEUED)
    input_text: Mapped[str | None] = mapped_column(Text)
    blob_key: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # The learner's CEFR level (A1-C2): the level of the example sentences.
    level: Mapped[str] = mapped_column(String(2), default="B1", server_default="B1")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StepRun(Base):
    """One step of one sourcefile: its state machine, lease, and checkpointed output."""

    __tablename__ = "step_run"
    __table_args__ = (
        UniqueConstraint("sourcefile_id", "step"),
        Index("ix_step_run_runnable", "status", "ready", "next_attempt_at"),
        Index("ix_step_run_lease", "status", "lease_expires_at"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    sourcefile_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sourcefile.id", ondelete="CASCADE"), index=True
    )
    step: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=StepStatus.PENDING)
    # True once every dependency has succeeded or been skipped; `ready_at` says since when.
    ready: Mapped[bool] = mapped_column(Boolean, default=False)
    ready_at: Mapped[datetime | None]
    # Increases with every claim and never goes back: it fences stale executors.
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    # `attempt` when the step was last reset by a retry; attempts of this round = attempt - floor.
    attempt_floor: Mapped[int] = mapped_column(Integer, default=0)
    # Times the step was re-claimed after its lease expired (its process died): counted apart
    # from attempts, so crashes and transient errors each have their own limit.
    crash_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error_type: Mapped[str | None] = mapped_column(String(100))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_retryable: Mapped[bool | None] = mapped_column(Boolean)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class Event(Base):
    """The append-only event log; ids increase across the whole service."""

    __tablename__ = "event"
    # AUTOINCREMENT: SQLite must never reuse the id of a deleted newest event, or a client
    # resuming after it would miss the event that takes its id.
    __table_args__ = (Index("ix_event_owner_id", "owner", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    sourcefile_id: Mapped[uuid.UUID] = mapped_column(index=True)
    owner: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CacheEntry(Base):
    """A memoized provider result (see `langproc.providers.cache`)."""

    __tablename__ = "cache_entry"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    # The stored file the result lives in (speech), kept as long as the entry.
    blob_key: Mapped[str | None] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Blob(Base):
    """A stored file; it is collected once no row uses its key and it was not touched lately.

    The rows that use a key (`sourcefile.blob_key`, `audio.blob_key`, `cache_entry.blob_key`)
    are its references: they are derived, never counted, so a cascade cannot miscount them.
    """

    __tablename__ = "blob"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    # When a writer last relied on the file; the collector waits a safety delay after it.
    touched_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
