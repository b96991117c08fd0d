"""A small step graph with parallel branches, and a runtime to run it on either database."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from langproc.api.app import create_app
from langproc.db.models import Event, Sourcefile, SourcefileKind, StepRun
from langproc.db.session import session_scope
from langproc.pipeline.graph import Graph, StepSpec
from langproc.providers.ports import Providers
from langproc.runtime import Runtime, build_runtime
from langproc.settings import Settings
from langproc.sourcefiles.services import NewSourcefile, create_sourcefile
from langproc.steps.context import StepContext
from langproc.steps.models import Text
from tests.fakes.openai_server import FakeOpenAI
from tests.paths import SAMPLES
from tests.waiting import eventually

NO_PROVIDERS = Providers(text=None, transcriber=None, speech=None, lexicon=None)


@dataclass
class Recorder:
    """What the test steps did: start and end times, and per-step behaviour to inject."""

    spans: dict[tuple[uuid.UUID, str], list[tuple[float, float]]] = field(default_factory=dict)
    delay_s: float = 0.2
    behaviour: dict[str, Callable[[StepContext], Any]] = field(default_factory=dict)
    in_flight: dict[tuple[uuid.UUID, str], int] = field(default_factory=dict)
    max_overlap: int = 0

    def step(self, name: str) -> Callable[[StepContext], Any]:
        async def run(ctx: StepContext) -> Text:
            key = (ctx.source.id, name)
            self.in_flight[key] = self.in_flight.get(key, 0) + 1
            self.max_overlap = max(self.max_overlap, self.in_flight[key])
            start = time.monotonic()
            try:
                await asyncio.sleep(self.delay_s)
                inject = self.behaviour.get(name)
                if inject is not None and inspect.isawaitable(injected := inject(ctx)):
                    await injected
                seen = sorted(
                    f"{need}={out['text']}" for need, out in ctx.outputs.items() if out is not None
                )
                return Text(text=f"{name}({','.join(seen)})")
            finally:
                self.in_flight[key] -= 1
                self.spans.setdefault(key, []).append((start, time.monotonic()))

        return run


def diamond(recorder: Recorder) -> Graph:
    """a -> (b, c) -> d"""
    return Graph(
        [
            StepSpec("a", recorder.step("a")),
            StepSpec("b", recorder.step("b"), needs=("a",)),
            StepSpec("c", recorder.step("c"), needs=("a",)),
            StepSpec("d", recorder.step("d"), needs=("b", "c")),
        ]
    )


def make_settings(db_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": db_url,
        "provider": "local",
        "poll_interval_s": 0.5,
        "heartbeat_s": 0.2,
        "lease_s": 5.0,
        "retry_base_delay_s": 0.05,
        "retry_max_delay_s": 0.2,
        "shutdown_grace_s": 2.0,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def runtime(db_url: str, tmp_path: Path, recorder: Recorder) -> AsyncIterator[Runtime]:
    rt = build_runtime(
        make_settings(db_url, tmp_path), graph=diamond(recorder), providers=NO_PROVIDERS
    )
    yield rt
    await rt.stop()


async def submit(rt: Runtime, count: int = 1, owner: str = "u1") -> list[uuid.UUID]:
    ids = []
    async with session_scope(rt.sessions) as session:
        for i in range(count):
            new = NewSourcefile(
                owner=owner,
                language="el",
                native_language="en",
                kind=SourcefileKind.TEXT,
                title=f"t{i}",
                text="κείμενο",
            )
            ids.append((await create_sourcefile(session, rt.graph, new)).id)
    rt.hub.notify()
    return ids


async def wait_for_status(
    rt: Runtime, ids: list[uuid.UUID], statuses: set[str], within_s: float = 20.0
) -> dict[uuid.UUID, str]:
    """The status of each sourcefile once every one is in `statuses`; fails at the deadline."""
    found: dict[uuid.UUID, str] = {}

    async def reached() -> bool:
        async with rt.sessions() as session:
            rows = await session.execute(
                select(Sourcefile.id, Sourcefile.status).where(Sourcefile.id.in_(ids))
            )
            found.clear()
            found.update({row.id: row.status for row in rows})
        return all(found.get(i) in statuses for i in ids)

    await eventually(
        reached, within_s, every_s=0.05, failure=lambda: f"wanted {statuses}, found {found}"
    )
    return found


async def steps_of(rt: Runtime, sourcefile_id: uuid.UUID) -> dict[str, StepRun]:
    async with rt.sessions() as session:
        rows = (
            await session.execute(select(StepRun).where(StepRun.sourcefile_id == sourcefile_id))
        ).scalars()
        return {r.step: r for r in rows}


async def events_of(rt: Runtime, sourcefile_id: uuid.UUID) -> list[Event]:
    async with rt.sessions() as session:
        rows = await session.execute(
            select(Event).where(Event.sourcefile_id == sourcefile_id).order_by(Event.id)
        )
        return list(rows.scalars())


@pytest.fixture
def fake_llm() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(samples_dir=SAMPLES)
    fake.start()
    yield fake
    fake.stop()


@dataclass
class Service:
    """The real language pipeline behind the API, on one database, with an HTTP client."""

    runtime: Runtime
    http: httpx.AsyncClient

    async def submit_text(self, text: str, language: str, **fields: str) -> str:
        response = await self.http.post(
            "/api/sourcefiles", json={"text": text, "language": language, **fields}
        )
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    async def submit_file(self, name: str, data: bytes, language: str) -> str:
        files = {"file": (name, data)}
        response = await self.http.post(
            "/api/sourcefiles", files=files, data={"language": language}
        )
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    async def finished(self, sid: str, within_s: float = 60.0) -> dict[str, Any]:
        """The sourcefile once it succeeded or failed."""
        await wait_for_status(
            self.runtime, [uuid.UUID(sid)], {"succeeded", "failed", "cancelled"}, within_s
        )
        return dict((await self.http.get(f"/api/sourcefiles/{sid}")).json())


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Service]:
    """The language pipeline with providers chosen by `settings`, as `langproc serve` runs it."""
    runtime = build_runtime(settings)
    app = create_app(runtime=runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Service(runtime, http)


def openai_settings(db_url: str, data_dir: Path, fake: FakeOpenAI, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "provider": "openai",
        "openai_base_url": fake.base_url,
        "openai_api_key": "test-key",
        "provider_timeout_s": 2.0,
    }
    return make_settings(db_url, data_dir, **{**values, **overrides})
