"""Waiting for a condition in tests: poll it until a deadline, then fail. Never a fixed sleep,
never a quiet return at the deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[bool]],
    within_s: float = 20.0,
    *,
    every_s: float = 0.01,
    failure: Callable[[], str] | None = None,
) -> None:
    """Poll `check` until it is true; raise AssertionError (with `failure()`) after `within_s`."""
    deadline = time.monotonic() + within_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(_missed(check, within_s, failure))
        await asyncio.sleep(every_s)


def wait_until(
    check: Callable[[], T],
    within_s: float = 30.0,
    *,
    every_s: float = 0.05,
    failure: Callable[[], str] | None = None,
) -> T:
    """Blocking `eventually` for tests that drive subprocesses and threads: `check()` once it
    is truthy. An exception from `check` ends the wait at once."""
    deadline = time.monotonic() + within_s
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(_missed(check, within_s, failure))
        time.sleep(every_s)
    return found


def _missed(
    check: Callable[..., object], within_s: float, failure: Callable[[], str] | None
) -> str:
    detail = f": {failure()}" if failure is not None else ""
    return f"{check.__name__} not true within {within_s} s{detail}"
