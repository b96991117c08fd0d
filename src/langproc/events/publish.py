"""Appending events: in the caller's transaction, ordered by commit on every database."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from langproc.db.base import utcnow
from langproc.db.models import Event
from langproc.events.payloads import EventPayload

CHANNEL = "langproc_events"
# Any constant works; it names the advisory lock that orders event commits on Postgres.
_EVENT_LOCK_KEY = 0x6C616E67
_PUBLISHED_IN = "langproc.events_published_in"
_LOCK_AND_NOTIFY = text(f"SELECT pg_advisory_xact_lock(:key), pg_notify('{CHANNEL}', '')")
_EVENT = cast(Table, Event.__table__)


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class NewEvent:
    """An event to append: its sourcefile, the owner who may see it, its type and payload."""

    sourcefile_id: uuid.UUID
    owner: str
    type: str
    payload: EventPayload


async def publish(session: AsyncSession, events: Sequence[NewEvent]) -> None:
    """Append events in the session's transaction, in the order given, in one statement; call
    it last, just before commit.

    On Postgres a transaction-scoped advisory lock makes event-writing transactions commit in
    id order, so a reader that has seen id N never later finds a committed id below N; NOTIFY is
    delivered at commit. Both are taken in one round trip, once per transaction.
    """
    if not events:
        return
    transaction = session.get_transaction()
    first = session.info.get(_PUBLISHED_IN) is not transaction
    if first and session.get_bind().dialect.name == "postgresql":
        await session.execute(_LOCK_AND_NOTIFY, {"key": _EVENT_LOCK_KEY})
    session.info[_PUBLISHED_IN] = transaction
    at = utcnow()
    stamp = iso(at)
    rows = [
        {
            "sourcefile_id": e.sourcefile_id,
            "owner": e.owner,
            "type": e.type,
            "payload": {"sourcefile_id": str(e.sourcefile_id), **e.payload, "at": stamp},
            "created_at": at,
        }
        for e in events
    ]
    # One multi-row INSERT of the table (no ORM unit of work): ids follow the order given.
    await session.execute(insert(_EVENT).values(rows))
