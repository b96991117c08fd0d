"""Content-addressed files for uploads and audio, registered before they are relied on.

A file is never unlinked here: `langproc.db.blobs` collects the ones no row uses any more. Before
a writer relies on a file (writes it, or finds it already there), it *touches* the file's
registry entry, which keeps the collector away from it for the safety delay; the row that uses
the key is then committed well within that delay (see docs/architecture.md, "Blob lifecycle").
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Protocol

import anyio

TMP_SUFFIX = ".tmp"


class BlobRegistry(Protocol):
    """Where a file's key is registered (the `blob` table)."""

    async def touch(self, key: str) -> None: ...


class BlobStore(Protocol):
    async def put(self, data: bytes, suffix: str = "") -> str: ...

    async def get(self, key: str) -> bytes: ...

    def writer(self) -> BlobWriter: ...

    def path(self, key: str) -> Path: ...


class FilesystemBlobStore:
    """Files under `root/<2 hex>/<sha256><suffix>`: writing the same bytes twice is one file."""

    def __init__(self, root: Path, registry: BlobRegistry) -> None:
        self.root = root
        self.registry = registry

    def path(self, key: str) -> Path:
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"bad blob key {key!r}")
        return self.root / key[:2] / key

    async def put(self, data: bytes, suffix: str = "") -> str:
        """Store `data` and return its key."""
        async with self.writer() as out:
            await out.write(data)
            return await out.commit(suffix)

    def writer(self) -> BlobWriter:
        """A file written piece by piece (nothing is held in memory), stored on `commit`."""
        return BlobWriter(self)

    async def get(self, key: str) -> bytes:
        return await anyio.Path(self.path(key)).read_bytes()

    def temp_path(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / f".{uuid.uuid4().hex}{TMP_SUFFIX}"

    def open_temp(self) -> tuple[Path, IO[bytes]]:
        """A new temporary file, open for writing (blocking: call it in a thread)."""
        path = self.temp_path()
        return path, path.open("wb")

    def files(self) -> Iterator[Path]:
        """Every stored file and every unfinished temporary file."""
        if not self.root.is_dir():
            return
        yield from (p for p in self.root.glob(f".*{TMP_SUFFIX}") if p.is_file())
        for folder in self.root.iterdir():
            if folder.is_dir() and len(folder.name) == 2:
                yield from (p for p in folder.iterdir() if p.is_file())


class BlobWriter:
    """Writes to a temporary file while hashing; `commit` registers and moves it in place."""

    def __init__(self, store: FilesystemBlobStore) -> None:
        self._store = store
        self._digest = hashlib.sha256()
        self._tmp: Path | None = None
        self._file: IO[bytes] | None = None

    async def __aenter__(self) -> BlobWriter:
        opening = asyncio.ensure_future(anyio.to_thread.run_sync(self._store.open_temp))
        try:
            self._tmp, self._file = await asyncio.shield(opening)
        except asyncio.CancelledError:
            # The thread opens the file all the same, and `__aexit__` will not run: close and
            # remove it once it is open.
            opening.add_done_callback(_discard_temp)
            raise
        return self

    async def write(self, data: bytes) -> None:
        if self._file is None:
            raise RuntimeError("write() after the blob writer was closed")
        self._digest.update(data)
        await anyio.to_thread.run_sync(self._file.write, data)

    async def commit(self, suffix: str = "") -> str:
        """Register the key, then put the file under it; returns the key."""
        if self._file is None or self._tmp is None:
            raise RuntimeError("commit() after the blob writer was closed")
        file, self._file = self._file, None
        await anyio.to_thread.run_sync(_flush_and_close, file)
        key = self._digest.hexdigest() + suffix
        # Registered first: from here on the collector leaves this key alone for the delay.
        await self._store.registry.touch(key)
        target = self._store.path(key)
        await anyio.to_thread.run_sync(_move, self._tmp, target)
        self._tmp = None
        return key

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            if self._file is not None:
                await anyio.to_thread.run_sync(self._file.close)
                self._file = None
            if self._tmp is not None:
                await anyio.Path(self._tmp).unlink(missing_ok=True)
                self._tmp = None


def _discard_temp(opening: asyncio.Future[tuple[Path, IO[bytes]]]) -> None:
    if opening.cancelled() or opening.exception() is not None:
        return
    path, file = opening.result()
    file.close()
    path.unlink(missing_ok=True)


def _flush_and_close(file: IO[bytes]) -> None:
    file.flush()
    os.fsync(file.fileno())
    file.close()


def _move(tmp: Path, target: Path) -> None:
    # Always replace, even when the file exists: a collector may have just unlinked it.
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
