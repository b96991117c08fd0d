"""Group commit: writes asked for while another is in flight go together in the next one.

No timer and no added wait: a write asked for when none is in flight starts at once, alone.
Under load, the writes that queue behind it share one transaction, so the cost of a
transaction (BEGIN, locks, the events' lock and NOTIFY, COMMIT) is paid once per group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class GroupWriter(Generic[T, R]):
    def __init__(self, write: Callable[[Sequence[T]], Awaitable[Sequence[R]]], most: int) -> None:
        """`write(items)` answers one result per item, in order; at most `most` per call."""
        self._write = write
        self._most = most
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, item: T) -> R:
        """Write `item` with whatever else is waiting; its result (or the group's exception).

        A caller cancelled while it waits does not stop the write it is part of."""
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group-writer")
        return await done

    async def _drain(self) -> None:
        while self._queue:
            group, self._queue = self._queue[: self._most], self._queue[self._most :]
            try:
                results = await self._write([item for item, _ in group])
            except asyncio.CancelledError:
                for _, done in [*group, *self._queue]:
                    done.cancel()
                self._queue = []
                raise
            except Exception as exc:
                for _, done in group:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for (_, done), result in zip(group, results, strict=True):
                    if not done.done():
                        done.set_result(result)
