"""The engine under test: a small step graph with parallel branches that records what its
steps did, settings and runtimes for either database, and reads of what a pipeline left."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, update

from langproc.db.base import utcnow
from langproc.db.models import Event, Sourcefile, SourcefileKind, StepRun
from langproc.db.session import session_scope
from langproc.pipeline.engine import Engine
from langproc.pipeline.graph import Graph, StepSpec
from langproc.providers.ports import Providers
from langproc.runtime import Runtime, build_runtime
from langproc.settings import Settings
from langproc.sourcefiles.services import NewSourcefile, create_sourcefile, retry_sourcefile
from langproc.steps.context import StepContext
from langproc.steps.models import Text
from tests.support.waiting import eventually

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


def one_step(recorder: Recorder) -> Graph:
    """a"""
    return Graph([StepSpec("a", recorder.step("a"))])


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


def new_runtime(
    db_url: str,
    data_dir: Path,
    *,
    graph: Graph | None = None,
    providers: Providers | None = NO_PROVIDERS,
    **settings: Any,
) -> Runtime:
    """A runtime with test settings: the language graph unless `graph`, no providers unless
    `providers` is None (then those the settings name). Nothing is started."""
    return build_runtime(
        make_settings(db_url, data_dir, **settings), graph=graph, providers=providers
    )


class MakeRuntime(Protocol):
    """The `make_runtime` fixture: `new_runtime` in the test's tmp_path unless `data_dir`."""

    def __call__(
        self,
        db_url: str,
        *,
        data_dir: Path | None = None,
        graph: Graph | None = None,
        providers: Providers | None = NO_PROVIDERS,
        **settings: Any,
    ) -> Runtime: ...


def another_engine(rt: Runtime) -> Engine:
    """The engine of another process on the same database (a new worker id), as after a crash
    and a restart, or beside this one."""
    return Engine(
        sessions=rt.sessions,
        graph=rt.graph,
        providers=rt.engine.providers,
        blobs=rt.blobs,
        settings=rt.settings,
        hub=rt.hub,
        run_blocking=rt.run_blocking,
        lemmas=rt.engine.lemmas,
    )


async def expire_lease(rt: Runtime, step_run_id: int) -> None:
    """Nobody renewed the step's lease (its process died or stalled), and it has run out."""
    async with session_scope(rt.sessions) as session:
        await session.execute(
            update(StepRun)
            .where(StepRun.id == step_run_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


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


async def retry(
    rt: Runtime, sourcefile_id: uuid.UUID, steps: list[str] | None = None, owner: str = "u1"
) -> None:
    """Retry as the API does: the failed steps, or `steps` and what follows them; then wake
    the executor."""
    async with session_scope(rt.sessions) as session:
        await retry_sourcefile(session, rt.graph, sourcefile_id, owner, steps)
    rt.executor.wake()


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
