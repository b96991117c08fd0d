"""Async engine and session factories, built from settings (never at import time)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from langproc.settings import Settings

SessionFactory = async_sessionmaker[AsyncSession]
# The execution option that marks a reader's connection.
READ_ONLY = "langproc_read_only"


def create_engine(settings: Settings) -> AsyncEngine:
    """An engine for the configured database: WAL SQLite, or asyncpg ready for a pooler."""
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        # Writers BEGIN IMMEDIATE: they take the write lock up front, so that two writers queue
        # on the busy timeout instead of failing to upgrade a lock. Readers (sessions from
        # `create_read_session_factory`) BEGIN DEFERRED and never take it: WAL lets them read
        # while a writer writes.
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    connect_args: dict[str, Any] = {}
    if not settings.database_statement_cache:
        connect_args["statement_cache_size"] = 0
        connect_args["prepared_statement_cache_size"] = 0
    return create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions for transactions that write (on SQLite they hold the write lock throughout)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def create_read_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions for transactions that only read: on SQLite they never wait for a writer nor
    make one wait. Same pool as the writers'."""
    return async_sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


@asynccontextmanager
async def session_scope(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """The one place outside requests that commits: commit on success, roll back on error."""
    async with factory() as session, session.begin():
        yield session
