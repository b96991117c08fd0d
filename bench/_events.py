"""Event lag as a browser sees it: one `GET /api/events` stream open for the whole run, each
event's `at` (set in the transaction that commits it) against the moment it arrives here."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import datetime

import httpx


class EventWatcher(threading.Thread):
    """Follows the all-sourcefiles event stream on its own event loop and keeps each lag."""

    def __init__(self, base_url: str) -> None:
        super().__init__(name="bench-events", daemon=True)
        self.base_url = base_url
        self.lags_s: list[float] = []
        self.errors: list[str] = []
        self.connected = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()  # type: ignore[assignment]
        try:
            await self._follow()
        except asyncio.CancelledError:
            pass
        except httpx.HTTPError as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            self.connected.set()

    async def _follow(self) -> None:
        timeout = httpx.Timeout(30, read=None)
        async with (
            httpx.AsyncClient(base_url=self.base_url, timeout=timeout) as client,
            client.stream("GET", "/api/events") as response,
        ):
            response.raise_for_status()
            self.connected.set()
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    arrived = time.time()
                    at = json.loads(line[5:]).get("at")
                    if at:
                        sent = datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()
                        self.lags_s.append(arrived - sent)

    def stop(self) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self.join(30)
