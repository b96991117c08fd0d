"""The database's clock: leases and due times are compared by one clock, not each process's."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def database_now(session: AsyncSession) -> datetime:
    """The database's current time, in UTC."""
    if session.get_bind().dialect.name == "sqlite":
        # CURRENT_TIMESTAMP has whole seconds on SQLite; this has milliseconds.
        text = (await session.execute(select(func.strftime("%Y-%m-%d %H:%M:%f", "now")))).scalar()
        return datetime.fromisoformat(str(text)).replace(tzinfo=UTC)
    now = (await session.execute(select(func.now()))).scalar_one()
    assert isinstance(now, datetime)
    return now.astimezone(UTC)
