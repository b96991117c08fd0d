"""Real databases for every test: a fresh PostgreSQL database (from a migrated template) and a
fresh SQLite file per test, so that tests can commit from many connections like the service.

PostgreSQL is the one named by LANGPROC_TEST_DATABASE_URL (CI and this machine) or, when unset,
a throwaway server that pytest-postgresql starts from the installed binaries.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from langproc.db.migrate import upgrade


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
