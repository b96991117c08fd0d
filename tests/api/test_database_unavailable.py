"""PostgreSQL down, restarting or not migrated: every /api call answers 503 JSON with
Retry-After (docs/api.md), and the service recovers by itself when the database is back."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from langproc.api.app import create_app
from langproc.db.migrate import upgrade
from langproc.db.models import Event, StepRun
from langproc.runtime import Runtime
from tests.pgserver import ThrowawayPostgres
from tests.support.engine import MakeRuntime, Recorder, diamond, submit
from tests.support.service import asgi_client
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

SOME_ID = uuid.uuid4()
ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/sourcefiles", {}),
    ("GET", "/api/sourcefiles?status=failed&limit=2", {}),
    ("POST", "/api/sourcefiles", {"json": {"text": "Καλημέρα.", "language": "el"}}),
    ("POST", "/api/sourcefiles", {"files": {"file": ("a.txt", "Καλημέρα.".encode())},
                                  "data": {"language": "el"}}),
    ("GET", f"/api/sourcefiles/{SOME_ID}", {}),
    ("POST", f"/api/sourcefiles/{SOME_ID}/retry", {}),
    ("POST", f"/api/sourcefiles/{SOME_ID}/cancel", {}),
    ("DELETE", f"/api/sourcefiles/{SOME_ID}", {}),
    ("GET", f"/api/sourcefiles/{SOME_ID}/image", {}),
    ("GET", f"/api/sourcefiles/{SOME_ID}/events", {}),
    ("GET", "/api/events", {}),
    ("GET", f"/api/audio/{SOME_ID}", {}),
]  # fmt: skip


@pytest.fixture
def service(throwaway_pg: ThrowawayPostgres, make_runtime: MakeRuntime) -> Runtime:
    graph = diamond(Recorder(delay_s=0.3))
    return make_runtime(throwaway_pg.url, graph=graph, lease_s=3.0, shutdown_grace_s=1.0)


@pytest.fixture
async def client(service: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(runtime=service), raise_app_exceptions=False) as http:
        yield http


async def _every_route_is_503(http: httpx.AsyncClient, saying: str) -> None:
    for method, path, kwargs in ROUTES:
        response = await http.request(method, path, **kwargs)
        where = f"{method} {path}: {response.text}"
        assert response.status_code == 503, where
        assert int(response.headers["Retry-After"]) > 0, where
        assert response.headers["content-type"] == "application/json", where
        assert saying in response.json()["detail"], where


async def test_unmigrated_then_down_database_answers_503_and_recovers(
    throwaway_pg: ThrowawayPostgres, client: httpx.AsyncClient
) -> None:
    await _every_route_is_503(client, "langproc migrate")

    await asyncio.to_thread(upgrade, throwaway_pg.url)
    created = await client.post("/api/sourcefiles", json={"text": "Καλημέρα.", "language": "el"})
    assert created.status_code == 202, created.text

    await asyncio.to_thread(throwaway_pg.stop)
    await _every_route_is_503(client, "the database is unavailable")
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert "Retry-After" in ready.headers

    await asyncio.to_thread(throwaway_pg.start)
    again = await client.get(f"/api/sourcefiles/{created.json()['id']}")
    assert again.status_code == 200, again.text


@pytest.fixture
async def migrated(throwaway_pg: ThrowawayPostgres) -> None:
    await asyncio.to_thread(upgrade, throwaway_pg.url)


@pytest.mark.usefixtures("migrated")
async def test_postgres_restart_mid_pipelines_loses_none(
    throwaway_pg: ThrowawayPostgres, service: Runtime, client: httpx.AsyncClient
) -> None:
    ids = await submit(service, 50, owner="local")

    async def some_done_some_running() -> bool:
        async with service.sessions() as session:
            rows = dict(
                (
                    await session.execute(select(StepRun.status, func.count()).group_by("status"))
                ).all()
            )
        return rows.get("succeeded", 0) >= 10 and rows.get("running", 0) >= 4

    await eventually(some_done_some_running, within_s=30)
    await asyncio.to_thread(throwaway_pg.stop)
    down = await client.get("/api/sourcefiles")
    assert down.status_code == 503, down.text
    await asyncio.to_thread(throwaway_pg.start)

    async def all_succeeded() -> bool:
        response = await client.get("/api/sourcefiles?limit=100")
        if response.status_code != 200:
            return False
        return [s["status"] for s in response.json()["items"]] == ["succeeded"] * 50

    await eventually(all_succeeded, within_s=60)
    async with service.sessions() as session:
        events = (await session.execute(select(Event).where(Event.type == "step"))).scalars()
        finished = Counter(
            (e.sourcefile_id, e.payload["step"])
            for e in events
            if e.payload["status"] == "succeeded"
        )
    # Every step of every pipeline checkpointed exactly once.
    assert set(finished) == {(sid, step) for sid in ids for step in "abcd"}
    assert set(finished.values()) == {1}
