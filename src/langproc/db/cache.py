"""The provider result cache, as rows of the `cache_entry` table.

Each read and each write is one statement on its own (no BEGIN and COMMIT on PostgreSQL): two
of them per provider call, so their round trips count.
"""

from __future__ import annotations

from sqlalchemy import literal, select

from langproc.db.base import insert_on_conflict
from langproc.db.models import Blob, CacheEntry
from langproc.db.session import SessionFactory, autocommit_scope


class DbResultCache:
    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    async def get(self, key: str) -> bytes | None:
        async with autocommit_scope(self.sessions) as session:
            return (
                await session.execute(select(CacheEntry.value).where(CacheEntry.key == key))
            ).scalar_one_or_none()

    async def put(self, key: str, value: bytes, blob_key: str | None = None) -> None:
        """Keep `value` under `key`; with `blob_key`, only while that file's registry row
        exists. The step stored the file moments ago, and a file is collected no sooner than
        the longest step timeout after its last touch, so the row is there: the entry, once
        committed, keeps the file."""
        async with autocommit_scope(self.sessions) as session:
            insert = insert_on_conflict(session, CacheEntry)
            if blob_key is None:
                statement = insert.values(key=key, value=value)
            else:
                registered = select(
                    literal(key, CacheEntry.key.type),
                    literal(value, CacheEntry.value.type),
                    Blob.key,
                ).where(Blob.key == blob_key)
                statement = insert.from_select(["key", "value", "blob_key"], registered)
            await session.execute(statement.on_conflict_do_nothing())
