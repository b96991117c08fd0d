"""The composition root shared by `serve` and `worker`: builds the database, providers, engine,
executor and listener from settings, and starts and stops them in the right order."""

from __future__ import annotations

import asyncio
import functools
import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

import anyio
from sqlalchemy.ext.asyncio import AsyncEngine

from langproc.blobs import FilesystemBlobStore
from langproc.db.blobs import BlobCollector, DbBlobRegistry
from langproc.db.cache import DbResultCache
from langproc.db.session import (
    SessionFactory,
    create_engine,
    create_read_session_factory,
    create_session_factory,
    warm_pool,
)
from langproc.events.hub import Hub
from langproc.events.listener import PgListener, asyncpg_dsn
from langproc.events.stream import EventFeed, Tail
from langproc.pipeline.engine import Engine
from langproc.pipeline.executor import Executor
from langproc.pipeline.graph import Graph
from langproc.providers.factory import build_providers
from langproc.providers.ports import Providers, RunBlocking
from langproc.settings import Settings
from langproc.sourcefiles.language import LANGUAGE_GRAPH
from langproc.sourcefiles.results import StoredLemmas

P = ParamSpec("P")
T = TypeVar("T")


def make_run_blocking(limiter: anyio.CapacityLimiter) -> RunBlocking:
    """Run blocking calls in threads, at most `limiter.total_tokens` at a time.

    A thread cannot be stopped: a cancelled caller returns at once, but the thread keeps its
    slot until it really ends, so the bound holds.
    """
    threads: set[asyncio.Task[Any]] = set()

    def ended(thread: asyncio.Task[Any], token: object) -> None:
        limiter.release_on_behalf_of(token)
        threads.discard(thread)
        if not thread.cancelled():
            thread.exception()  # the caller, if still waiting, has it; do not warn

    async def run_blocking(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        token = object()
        await limiter.acquire_on_behalf_of(token)
        call = functools.partial(func, *args, **kwargs)
        thread = asyncio.ensure_future(anyio.to_thread.run_sync(call, abandon_on_cancel=True))
        threads.add(thread)
        thread.add_done_callback(functools.partial(ended, token=token))
        return await asyncio.shield(thread)

    return run_blocking


def freeze_start_up_objects() -> None:
    """What start-up built (modules, the app, compiled schemas: most of the heap) lives as long
    as the process: keep it out of the collector's full passes, which otherwise scan all of it
    and stop the event loop for 50-110 ms at a time under load. For the long-running commands
    only: a test run or a one-shot command would keep its garbage of the moment for good."""
    gc.freeze()


@dataclass(kw_only=True)
class Runtime:
    settings: Settings
    db: AsyncEngine
    sessions: SessionFactory
    readers: SessionFactory
    blobs: FilesystemBlobStore
    hub: Hub
    graph: Graph
    engine: Engine
    executor: Executor
    run_blocking: RunBlocking
    events: EventFeed
    collector: BlobCollector
    listener: PgListener | None = None
    executor_started: bool = field(default=False)

    async def start(self, *, executor: bool) -> None:
        await warm_pool(self.db, self.settings.database_pool_size)
        if self.listener is not None:
            self.listener.start()
        if executor:
            self.executor.start()
            self.collector.start()
            self.executor_started = True

    async def stop(self) -> None:
        if self.executor_started:
            await self.collector.stop()
            await self.executor.stop(self.settings.shutdown_grace_s)
        if self.listener is not None:
            await self.listener.stop()
        for close in self.engine.providers.closers:
            await close()
        await self.db.dispose()


def _check_collect_delay(settings: Settings, graph: Graph) -> None:
    # A step's files are in use from the moment it stores them until its checkpoint names them.
    longest = max(graph[name].timeout_s for name in graph.names)
    if settings.blob_collect_delay_s <= longest:
        raise ValueError(
            f"LANGPROC_BLOB_COLLECT_DELAY_S is {settings.blob_collect_delay_s:g} s: it must be "
            f"longer than the longest step timeout ({longest:g} s)"
        )


def _listener(settings: Settings, hub: Hub) -> PgListener | None:
    """The LISTEN connection on PostgreSQL; None on SQLite."""
    if settings.is_sqlite:
        return None
    listen_url = settings.database_listen_url or settings.effective_database_url
    return PgListener(asyncpg_dsn(listen_url), hub)


def build_runtime(
    settings: Settings, *, graph: Graph | None = None, providers: Providers | None = None
) -> Runtime:
    db = create_engine(settings)
    sessions = create_session_factory(db)
    readers = create_read_session_factory(db)
    blobs = FilesystemBlobStore(settings.data_dir / "blobs", DbBlobRegistry(sessions))
    hub = Hub()
    run_blocking = make_run_blocking(anyio.CapacityLimiter(settings.max_blocking_threads))
    graph = graph or LANGUAGE_GRAPH
    _check_collect_delay(settings, graph)
    providers = providers or build_providers(settings, run_blocking, DbResultCache(sessions), blobs)
    engine = Engine(
        sessions=sessions,
        graph=graph,
        providers=providers,
        blobs=blobs,
        settings=settings,
        hub=hub,
        run_blocking=run_blocking,
        lemmas=StoredLemmas(readers),
    )
    executor = Executor(
        engine,
        capacity=settings.max_concurrent_steps,
        poll_interval_s=settings.poll_interval_s,
        heartbeat_s=settings.heartbeat_s,
    )
    collector = BlobCollector(
        sessions,
        blobs,
        delay_s=settings.blob_collect_delay_s,
        interval_s=settings.blob_collect_interval_s,
    )
    return Runtime(
        settings=settings,
        db=db,
        sessions=sessions,
        readers=readers,
        blobs=blobs,
        hub=hub,
        graph=graph,
        engine=engine,
        executor=executor,
        run_blocking=run_blocking,
        events=EventFeed(readers, Tail(readers, hub)),
        collector=collector,
        listener=_listener(settings, hub),
    )
