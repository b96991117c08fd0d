"""The provider result cache's rows: stored at once, read back, a second store is harmless."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from langproc.db.blobs import DbBlobRegistry
from langproc.db.cache import DbResultCache
from langproc.db.models import CacheEntry
from langproc.db.session import create_engine, create_session_factory
from langproc.settings import Settings


async def test_a_stored_result_is_read_back_from_another_connection(
    db_url: str, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url=db_url)  # type: ignore[call-arg]
    writer_engine, reader_engine = create_engine(settings), create_engine(settings)
    try:
        writer = DbResultCache(create_session_factory(writer_engine))
        reader = DbResultCache(create_session_factory(reader_engine))
        assert await reader.get("k1") is None
        await writer.put("k1", b"first")
        # Committed as it returns: another process's cache sees it at once.
        assert await reader.get("k1") == b"first"
        await writer.put("k1", b"second")  # a race between two executors: the first one stays
        assert await reader.get("k1") == b"first"
    finally:
        await writer_engine.dispose()
        await reader_engine.dispose()


async def test_an_entry_names_a_file_only_while_the_file_is_registered(
    db_url: str, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url=db_url)  # type: ignore[call-arg]
    engine = create_engine(settings)
    try:
        sessions = create_session_factory(engine)
        cache = DbResultCache(sessions)
        await DbBlobRegistry(sessions).touch("b" * 64)

        await cache.put("with-file", b"{}", blob_key="b" * 64)
        await cache.put("file-gone", b"{}", blob_key="c" * 64)  # collected: not kept, no error

        async with sessions() as session:
            rows = (await session.execute(select(CacheEntry.key, CacheEntry.blob_key))).all()
        assert [tuple(row) for row in rows] == [("with-file", "b" * 64)]
        assert await cache.get("file-gone") is None
    finally:
        await engine.dispose()
