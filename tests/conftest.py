"""Real databases for every test: a fresh PostgreSQL database (from a migrated template) and a
fresh SQLite file per test, so that tests can commit from many connections like the service.

PostgreSQL is the one named by LANGPROC_TEST_DATABASE_URL (CI and this machine) or, when unset,
a throwaway server that pytest-postgresql starts from the installed binaries.

Also the fixtures that more than one folder uses: runtimes on those databases (the recorded
diamond graph, or any other), a PostgreSQL server a test may stop, and real `langproc`
processes. Their helpers are in tests/support/.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from langproc.db.migrate import upgrade
from langproc.pipeline.graph import Graph
from langproc.providers.ports import Providers
from langproc.runtime import Runtime
from tests.fakes.openai_server import FakeOpenAI
from tests.paths import SAMPLES
from tests.pgserver import ThrowawayPostgres
from tests.support.cluster import Cluster
from tests.support.engine import NO_PROVIDERS, MakeRuntime, Recorder, diamond, new_runtime


def _admin_url(async_url: str) -> str:
    return make_url(async_url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> str:
    """An asyncpg URL of a database we may create other databases from."""
    url = os.environ.get("LANGPROC_TEST_DATABASE_URL")
    if url:
        return url
    proc = request.getfixturevalue("postgresql_proc")
    return (
        f"postgresql+asyncpg://{proc.user}:{proc.password or ''}@{proc.host}:{proc.port}/postgres"
    )


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    name = f"langproc_tpl_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_admin_url(pg_server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    upgrade(make_url(pg_server).set(database=name).render_as_string(hide_password=False))
    yield name
    with psycopg.connect(_admin_url(pg_server), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_server: str, pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    name = f"langproc_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_url(pg_server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(_admin_url(pg_server), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite file for one test."""
    path = tmp_path / "langproc.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{'pg' if request.param == 'postgres' else 'sqlite'}_url"))


@pytest.fixture
async def make_runtime(tmp_path: Path) -> AsyncIterator[MakeRuntime]:
    """Builds runtimes (see `new_runtime`); each is stopped at teardown, started or not, and
    whether or not the test (or an app's lifespan) stopped it already."""
    built: list[Runtime] = []

    def make(
        db_url: str,
        *,
        data_dir: Path | None = None,
        graph: Graph | None = None,
        providers: Providers | None = NO_PROVIDERS,
        **settings: Any,
    ) -> Runtime:
        runtime = new_runtime(
            db_url, data_dir or tmp_path, graph=graph, providers=providers, **settings
        )
        built.append(runtime)
        return runtime

    yield make
    for runtime in built:
        await runtime.stop()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def runtime(db_url: str, recorder: Recorder, make_runtime: MakeRuntime) -> Runtime:
    """The diamond graph, recorded by `recorder`, on either database; not started."""
    return make_runtime(db_url, graph=diamond(recorder))


@pytest.fixture
def sqlite_runtime(sqlite_url: str, recorder: Recorder, make_runtime: MakeRuntime) -> Runtime:
    """`runtime`, on SQLite only."""
    return make_runtime(sqlite_url, graph=diamond(recorder))


@pytest.fixture
def throwaway_pg() -> Iterator[ThrowawayPostgres]:
    """A running PostgreSQL server that the test may stop and start (removed afterwards)."""
    server = ThrowawayPostgres()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def cluster(pg_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """Processes on a fresh PostgreSQL database, all stopped at teardown. The fake LLM answers
    in 300 ms, so that steps are in flight when a process is killed."""
    with FakeOpenAI(latency_ms=300, samples_dir=SAMPLES) as llm:
        group = Cluster(pg_url, tmp_path, llm)
        yield group
        group.stop()
