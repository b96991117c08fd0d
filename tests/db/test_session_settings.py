"""Database settings that production on Supabase depends on."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from langproc.db import session as session_module
from langproc.db.session import create_engine
from langproc.settings import Settings


async def test_statement_cache_can_be_turned_off_for_a_transaction_pooler(
    pg_url: str, tmp_path: Path
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path, database_url=pg_url, database_statement_cache=False
    )
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            for _ in range(3):
                assert (await connection.execute(text("SELECT 1"))).scalar() == 1
            raw = await connection.get_raw_connection()
            asyncpg_connection = raw.driver_connection
            assert asyncpg_connection is not None
            assert asyncpg_connection._stmt_cache.get_max_size() == 0
    finally:
        await engine.dispose()


async def test_a_plain_postgres_url_gets_the_async_driver(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path, database_url="postgres://u:p@db.example:6543/postgres"
    )
    assert settings.effective_database_url == "postgresql+asyncpg://u:p@db.example:6543/postgres"
    assert not settings.is_sqlite


async def test_sqlite_is_the_default_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url=None)  # type: ignore[call-arg]
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path / 'langproc.db'}"


async def test_a_connection_the_server_closed_while_idle_is_replaced(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restarted server (or a pooler) drops idle connections: the next checkout must not fail."""
    monkeypatch.setattr(session_module, "PING_AFTER_IDLE_S", 0.0)
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url=pg_url)  # type: ignore[call-arg]
    engine, admin = create_engine(settings), create_engine(settings)
    try:
        async with engine.connect() as connection:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar()
        async with admin.connect() as other:
            killed = await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            assert killed.scalar() is True
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT pg_backend_pid()"))).scalar() != pid
    finally:
        await engine.dispose()
        await admin.dispose()


@pytest.mark.parametrize(("pool", "steps", "kept"), [(20, 32, 36), (40, 8, 40), (4, 1, 5)])
async def test_the_pool_keeps_a_connection_for_every_step_it_may_run(
    tmp_path: Path, pool: int, steps: int, kept: int
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path,
        database_url="postgresql+asyncpg://postgres@127.0.0.1/unused",
        database_pool_size=pool,
        max_concurrent_steps=steps,
    )
    engine = create_engine(settings)
    try:
        assert engine.sync_engine.pool.size() == kept  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
