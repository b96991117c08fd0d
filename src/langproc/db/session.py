"""Async engine and session factories, built from settings (never at import time)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from langproc.settings import Settings

log = logging.getLogger(__name__)

SessionFactory = async_sessionmaker[AsyncSession]
# asyncpg's prepared statements per connection (SQLAlchemy's default is 100): the engine's and
# the reads' statements (IN lists of every length among them) all fit, so none is re-prepared.
STATEMENT_CACHE_SIZE = 500
# A connection idle this long is checked before use (a restarted server or a pooler that
# closed it); one in constant use is not.
PING_AFTER_IDLE_S = 2.0
_IDLE_SINCE = "langproc_idle_since"
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
    connect_args: dict[str, Any] = {"prepared_statement_cache_size": STATEMENT_CACHE_SIZE}
    if not settings.database_statement_cache:
        connect_args["statement_cache_size"] = 0
        connect_args["prepared_statement_cache_size"] = 0
    engine = create_async_engine(
        url,
        pool_size=kept_connections(settings),
        max_overflow=settings.database_pool_size,
        # Most recently used first: under load a few hot connections serve everything (and
        # skip the ping below); the rest stay idle.
        pool_use_lifo=True,
        connect_args=connect_args,
    )
    event.listen(engine.sync_engine.pool, "checkin", _checked_in)
    event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    return engine


async def warm_pool(engine: AsyncEngine, connections: int) -> None:
    """Open `connections` pooled connections now (PostgreSQL), so that the first burst of
    requests does not pay for opening them (about 10 ms of CPU each, on the event loop that
    answers them). A database that cannot be reached is not an error here: the pool opens
    connections when it can, and requests meanwhile get 503."""
    if engine.dialect.name != "postgresql":
        return
    try:
        async with AsyncExitStack() as opened:
            await asyncio.gather(
                *(opened.enter_async_context(engine.connect()) for _ in range(connections))
            )
    except (OSError, SQLAlchemyError) as exc:
        log.warning("could not open the database connections ahead of use: %s", exc)


def kept_connections(settings: Settings) -> int:
    """Connections a process's pool keeps open: LANGPROC_DATABASE_POOL_SIZE, and at least one
    per step it may run plus the claim, the checkpoints, the heartbeat and a request. A pool
    smaller than what the steps use at once closes a connection at every check-in past its size
    and opens another at the next checkout: 270 connections opened in a 200-pipeline run instead
    of 48, and 15% more CPU."""
    return max(settings.database_pool_size, settings.max_concurrent_steps + 4)


def _checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    """`pool_pre_ping` for connections idle a while only: its ping costs three round trips
    (BEGIN, `;`, ROLLBACK), paid on every checkout it would be a third of a short transaction's."""
    idle_since = record.info.get(_IDLE_SINCE)
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        # The pool drops this connection and checks out (or opens) another.
        raise DisconnectionError(f"the connection is gone: {exc}") from exc


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


@asynccontextmanager
async def autocommit_scope(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """For statements that each stand alone (reads, an idempotent insert): on Postgres with no
    BEGIN and COMMIT round trips around them; on SQLite in one transaction, as usual."""
    async with factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session
        else:
            async with session.begin():
                yield session
