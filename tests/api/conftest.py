"""An app on either database with the diamond test graph, and an HTTP client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from langproc.api.app import create_app
from langproc.runtime import Runtime, build_runtime
from tests.pipeline.conftest import NO_PROVIDERS, Recorder, diamond, make_settings


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def runtime(db_url: str, tmp_path: Path, recorder: Recorder) -> Runtime:
    return build_runtime(
        make_settings(db_url, tmp_path), graph=diamond(recorder), providers=NO_PROVIDERS
    )


@pytest.fixture
async def app(runtime: Runtime) -> AsyncIterator[FastAPI]:
    application = create_app(runtime=runtime)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
