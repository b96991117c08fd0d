"""In-process wake-ups: anything waiting for new events or runnable steps waits on the hub."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Hub:
    """A broadcast signal: `notify()` wakes every current waiter; cheap with many waiters."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._subscribers: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call `callback` on every notify (for owners of a level-triggered flag)."""
        self._subscribers.append(callback)

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()
        for callback in self._subscribers:
            callback()

    async def wait(self, within_s: float | None) -> bool:
        """Wait for the next notify; False when `within_s` passed first."""
        event = self._event
        try:
            async with asyncio.timeout(within_s):
                await event.wait()
        except TimeoutError:
            return False
        return True
