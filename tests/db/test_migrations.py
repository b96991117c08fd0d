"""Migrations run up, down and up again on both databases, and match the models exactly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from langproc.db.base import Base
from langproc.db.migrate import downgrade, is_at_head, upgrade

TABLES = {"sourcefile", "step_run", "event", "cache_entry", "blob", "alembic_version"} | {
    "word_form",
    "lemma",
    "phrase",
    "sentence",
    "sentence_lemma",
    "audio",
}


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _drift(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


@pytest.mark.slow
async def test_upgrade_downgrade_upgrade(db_url: str) -> None:
    engine = create_async_engine(db_url)
    try:
        assert await is_at_head(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == TABLES
            assert await connection.run_sync(_drift) == []
        await asyncio.to_thread(downgrade, db_url, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == {"alembic_version"}
        assert not await is_at_head(engine)
        await asyncio.to_thread(upgrade, db_url)
        assert await is_at_head(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == TABLES
    finally:
        await engine.dispose()
