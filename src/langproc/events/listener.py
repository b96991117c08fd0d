"""Cross-process wake-ups on Postgres: one LISTEN connection per process feeds the hub.

A dropped connection is re-opened with backoff; while it is down, waiters fall back to polling
(their own timeouts), so nothing is missed, only later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from langproc.events.hub import Hub
from langproc.events.publish import CHANNEL

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 10.0


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


class PgListener:
    def __init__(self, dsn: str, hub: Hub) -> None:
        self.dsn = dsn
        self.hub = hub
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="events.listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = 0.5
        while True:
            lost = asyncio.Event()
            connection: Any = None
            try:
                connection = await asyncpg.connect(
                    self.dsn, server_settings=self._named(), timeout=CONNECT_TIMEOUT_S
                )
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                await connection.add_listener(CHANNEL, self._on_notify)
                self.connected.set()
                delay = 0.5
                # Anything committed while we were away is found by the woken waiters.
                self.hub.notify()
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(5):
                            await lost.wait()
                    if not lost.is_set() and connection.is_closed():
                        break
                    if not lost.is_set():
                        # Bounded: a silently dropped network must not hang the listener.
                        await connection.execute("SELECT 1", timeout=CONNECT_TIMEOUT_S)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "events.listener_down",
                    extra={"error": f"{type(exc).__name__}: {exc}"[:300], "retry_in_s": delay},
                )
            finally:
                self.connected.clear()
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=1)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    def _named(self) -> dict[str, str]:
        """Name the connection for operators (`pg_stat_activity`) unless the URL names it."""
        return {} if "application_name=" in self.dsn else {"application_name": "langproc-listener"}

    def _on_notify(self, *_args: Any) -> None:
        self.hub.notify()
