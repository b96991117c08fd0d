"""Waiting for a condition in tests, with a deadline instead of a fixed sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def eventually(check: Callable[[], Awaitable[bool]], within_s: float = 20.0) -> float:
    """Poll `check` until it is true; return the seconds it took. Fails after `within_s`."""
    started = time.monotonic()
    for _ in range(int(within_s / 0.01) + 1):
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.01)
    raise AssertionError(f"not true within {within_s} s")
