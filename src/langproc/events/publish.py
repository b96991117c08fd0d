"""Appending events: in the caller's transaction, ordered by commit on every database."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
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
    events: Sequence[tuple[str, dict[str, Any]]],
) -> None:
    """Append a sourcefile's events (type, payload) in the session's transaction, in one
    statement; call it last, just before commit.

    On Postgres a transaction-scoped advisory lock makes event-writing transactions commit in
    id order, so a reader that has seen id N never later finds a committed id below N; NOTIFY is
    delivered at commit.
    """
    if not events:
        return
    at = utcnow()
    # The lock and the NOTIFY are needed once per transaction, however many events it appends.
    transaction = session.get_transaction()
    first = session.info.get(_PUBLISHED_IN) is not transaction
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres and first:
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _EVENT_LOCK_KEY})
        await session.execute(text(f"NOTIFY {CHANNEL}"))
    session.info[_PUBLISHED_IN] = transaction
    stamp = {"at": iso(at)}
    rows = [
        {
            "sourcefile_id": sourcefile_id,
            "owner": owner,
            "type": type_,
            "payload": {"sourcefile_id": str(sourcefile_id), **payload, **stamp},
            "created_at": at,
        }
        for type_, payload in events
    ]
    # In the order given, so that ids follow it (one multi-row INSERT, not one per event).
    await session.execute(insert(Event).values(rows))
