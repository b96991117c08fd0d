"""The app under a real uvicorn on loopback, and event streams that learn of events only by
wake-ups.

httpx's ASGI transport hands over a response only once it is complete, so streams that stay
open are tested over real sockets.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import uvicorn
from fastapi import FastAPI

from langproc.events import stream
from langproc.events.stream import EventFeed, Tail
from langproc.runtime import Runtime


@dataclass(frozen=True)
class Served:
    url: str
    port: int
    app: FastAPI
    runtime: Runtime
    server: uvicorn.Server

    @property
    def connections(self) -> int:
        """Connections uvicorn still holds, and their request tasks (both must drain)."""
        state = self.server.server_state
        return max(len(state.connections), len(state.tasks))


# Far above any test's deadline: an event that arrives in time was not found by polling.
NEVER_S = 3600.0


def without_polling(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `runtime`'s streams learn of new events only from hub wake-ups (a local commit, or a
    NOTIFY through its LISTEN connection): the tail and idle streams never poll."""
    monkeypatch.setattr(stream, "RECHECK_S", NEVER_S)
    runtime.events = EventFeed(runtime.sessions, Tail(runtime.sessions, runtime.hub, NEVER_S))
