"""The lifecycle of stored files: registering them, keeping them while rows use them, and
collecting the rest in the background after a safety delay.

A key's references are the rows that name it (a sourcefile's upload, an audio row, a cached
speech result), so they change in the same transactions as those rows and a cascade cannot
miscount them. The collector deletes a `blob` row and unlinks its file in one transaction, under
the row's lock; a writer's touch waits on that lock, and a writer finding the row gone writes
the file again. See docs/architecture.md, "Blob lifecycle".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
from sqlalchemy import ColumnElement, and_, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from langproc.blobs import TMP_SUFFIX, FilesystemBlobStore
from langproc.db.base import insert_on_conflict, utcnow
from langproc.db.models import Blob, CacheEntry, Sourcefile
from langproc.db.results import Audio
from langproc.db.session import SessionFactory, autocommit_scope, session_scope
from langproc.errors import StoredFileGone

log = logging.getLogger(__name__)

BATCH = 200


class DbBlobRegistry:
    """`langproc.blobs.BlobRegistry` on the `blob` table: a touch is one statement, committed
    at once."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    async def touch(self, key: str) -> None:
        now = utcnow()
        async with autocommit_scope(self.sessions) as session:
            await session.execute(
                insert_on_conflict(session, Blob)
                .values(key=key, touched_at=now)
                .on_conflict_do_update(index_elements=[Blob.key], set_={"touched_at": now})
            )


async def retain(session: AsyncSession, keys: Iterable[str]) -> None:
    """Touch `keys` in the caller's transaction, the one that inserts the rows using them.

    A key already collected (its writer took longer than the safety delay) raises
    `StoredFileGone`, so no committed row ever names a missing file.
    """
    wanted = sorted(set(keys))
    if not wanted:
        return
    touched = (
        await session.execute(
            update(Blob)
            .where(Blob.key.in_(wanted))
            .values(touched_at=utcnow())
            .returning(Blob.key)
            .execution_options(synchronize_session=False)
        )
    ).scalars()
    missing = set(wanted) - set(touched)
    if missing:
        raise StoredFileGone(
            f"the stored file {min(missing)} was collected before it was used: try again"
        )


def _unused(cutoff: datetime) -> ColumnElement[bool]:
    return and_(
        Blob.touched_at < cutoff,
        ~exists().where(Sourcefile.blob_key == Blob.key),
        ~exists().where(Audio.blob_key == Blob.key),
        ~exists().where(CacheEntry.blob_key == Blob.key),
    )


async def collect(sessions: SessionFactory, store: FilesystemBlobStore, cutoff: datetime) -> int:
    """Delete the files no row uses that nobody touched since `cutoff`; how many were deleted."""
    total = 0
    while True:
        async with session_scope(sessions) as session:
            candidates = select(Blob.key).where(_unused(cutoff)).limit(BATCH).scalar_subquery()
            keys = (
                await session.execute(
                    delete(Blob)
                    .where(Blob.key.in_(candidates), _unused(cutoff))
                    .returning(Blob.key)
                    .execution_options(synchronize_session=False)
                )
            ).scalars()
            collected = list(keys)
            # Unlinked before the deletion commits: a writer waiting on these rows then finds
            # the file gone and writes it again.
            await anyio.to_thread.run_sync(_unlink_all, [store.path(k) for k in collected])
        total += len(collected)
        if len(collected) < BATCH:
            return total


def _unlink_all(paths: Sequence[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


async def adopt_orphans(
    sessions: SessionFactory, store: FilesystemBlobStore, cutoff: datetime
) -> None:
    """Register files older than `cutoff` that have no row (written before the registry, or
    left by a crash) so that `collect` judges them; remove abandoned temporary files."""
    old = await anyio.to_thread.run_sync(_old_files, store, cutoff)
    for start in range(0, len(old), BATCH):
        batch = old[start : start + BATCH]
        async with session_scope(sessions) as session:
            await session.execute(
                insert_on_conflict(session, Blob)
                .values([{"key": path.name, "touched_at": at} for path, at in batch])
                .on_conflict_do_nothing(index_elements=[Blob.key])
            )


def _old_files(store: FilesystemBlobStore, cutoff: datetime) -> list[tuple[Path, datetime]]:
    old = []
    for path in store.files():
        try:
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except FileNotFoundError:
            continue
        if modified >= cutoff:
            continue
        if path.name.endswith(TMP_SUFFIX):
            path.unlink(missing_ok=True)
        elif len(path.name) <= 200:
            old.append((path, modified))
    return old


class BlobCollector:
    """Runs `adopt_orphans` and `collect` every `interval_s` in the executor's process."""

    def __init__(
        self,
        sessions: SessionFactory,
        store: FilesystemBlobStore,
        *,
        delay_s: float,
        interval_s: float,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.delay_s = delay_s
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def collect_once(self, now: datetime | None = None) -> int:
        """One sweep as of `now`: files untouched for the safety delay and unused are deleted."""
        cutoff = (now or utcnow()) - timedelta(seconds=self.delay_s)
        await adopt_orphans(self.sessions, self.store, cutoff)
        return await collect(self.sessions, self.store, cutoff)

    async def _loop(self) -> None:
        while True:
            try:
                collected = await self.collect_once()
                if collected:
                    log.info("blobs.collected", extra={"count": collected})
            except Exception:
                log.exception("blobs.collect_failed")
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="blob-collector")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
