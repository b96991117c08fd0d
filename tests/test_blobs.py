"""The blob store's files on disk: a writer leaves no open or stray temporary file behind."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from langproc.blobs import FilesystemBlobStore


class Registry:
    """Keys touched, in memory: these tests are about the files, not the `blob` table."""

    def __init__(self) -> None:
        self.touched: list[str] = []

    async def touch(self, key: str) -> None:
        self.touched.append(key)


async def _write_forever(store: FilesystemBlobStore, entered: asyncio.Event) -> None:
    async with store.writer() as out:
        entered.set()
        while True:
            await out.write(b"x" * 1024)


async def test_a_writer_cancelled_while_opening_its_file_leaves_nothing(tmp_path: Path) -> None:
    """Cancelled while the thread opens its temporary file (a step cancelled or timed out right
    then): the file must still be closed and removed."""
    store = FilesystemBlobStore(tmp_path / "blobs", Registry())
    for turns in range(60):
        entered = asyncio.Event()
        task = asyncio.create_task(_write_forever(store, entered))
        # Cancel after a growing number of loop turns: some cancels land while a thread opens
        # the file.
        for _ in range(turns):
            if entered.is_set():
                break
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0.5)  # the threads finish opening; the discards run on the loop
    gc.collect()  # an unclosed file would warn here (warnings are errors in this suite)
    assert list(store.files()) == []


async def test_a_writer_cancelled_while_writing_leaves_nothing(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs", Registry())
    entered = asyncio.Event()
    task = asyncio.create_task(_write_forever(store, entered))
    await entered.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert list(store.files()) == []


async def test_a_committed_file_is_registered_and_kept(tmp_path: Path) -> None:
    registry = Registry()
    store = FilesystemBlobStore(tmp_path / "blobs", registry)
    key = await store.put(b"audio", ".mp3")
    assert registry.touched == [key]
    assert [p.name for p in store.files()] == [key]
    assert await store.get(key) == b"audio"
