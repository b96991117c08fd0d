"""Appending events: in the caller's transaction, ordered by commit on every database."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from langproc.db.base import utcnow
from langproc.db.models import Event

CHANNEL = "langproc_events"
# Any constant works; it names the advisory lock that orders event commits on Postgres.
_EVENT_LOCK_KEY = 0x6C616E67
_PUBLISHED_IN = "langproc.events_published_in"


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def publish(
    session: AsyncSession,
    *,
    sourcefile_id: uuid.UUID,
    owner: str,
    type: str,
    payload: dict[str, Any],
) -> None:
    """Append an event in the session's transaction; call it last, just before commit.

    On Postgres a transaction-scoped advisory lock makes event-writing transactions commit in
    id order, so a reader that has seen id N never later finds a committed id below N; NOTIFY is
    delivered at commit.
    """
    at = utcnow()
    # The lock and the NOTIFY are needed once per transaction, however many events it appends.
    transaction = session.get_transaction()
    first = session.info.get(_PUBLISHED_IN) is not transaction
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres and first:
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EVENT_LOCK_KEY})
        await session.execute(text(f"NOTIFY {CHANNEL}"))
    session.info[_PUBLISHED_IN] = transaction
    data = {"sourcefile_id": str(sourcefile_id), **payload, "at": iso(at)}
    session.add(
        Event(sourcefile_id=sourcefile_id, owner=owner, type=type, payload=data, created_at=at)
    )
    await session.flush()
