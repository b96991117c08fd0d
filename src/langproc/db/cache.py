"""The provider result cache, as rows of the `cache_entry` table."""

from __future__ import annotations

from sqlalchemy import select

from langproc.db.base import insert_on_conflict
from langproc.db.blobs import retain
from langproc.db.models import CacheEntry
from langproc.db.session import SessionFactory, autocommit_scope, session_scope


class DbResultCache:
    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    async def get(self, key: str) -> bytes | None:
        async with autocommit_scope(self.sessions) as session:
            return (
                await session.execute(select(CacheEntry.value).where(CacheEntry.key == key))
            ).scalar_one_or_none()

    async def put(self, key: str, value: bytes, blob_key: str | None = None) -> None:
        # One transaction: the entry and the mark that keeps its file are written together.
        async with session_scope(self.sessions) as session:
            if blob_key is not None:
                await retain(session, [blob_key])
            await session.execute(
                insert_on_conflict(session, CacheEntry)
                .values(key=key, value=value, blob_key=blob_key)
                .on_conflict_do_nothing()
            )
