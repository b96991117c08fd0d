"""The app in-process: an HTTP client on it over ASGI (its lifespan running), and the real
language pipeline behind it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from langproc.api.app import create_app
from langproc.runtime import Runtime, build_runtime
from langproc.settings import Settings
from tests.fakes.openai_server import FakeOpenAI
from tests.support.engine import make_settings, wait_for_status


@asynccontextmanager
async def asgi_client(app: FastAPI, **transport: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client on `app` while its lifespan runs (which starts and stops its runtime)."""
    async with app.router.lifespan_context(app):
        asgi = httpx.ASGITransport(app=app, **transport)
        async with httpx.AsyncClient(transport=asgi, base_url="http://test") as http:
            yield http


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
    async with asgi_client(create_app(runtime=runtime)) as http:
        yield Service(runtime, http)


def openai_settings(db_url: str, data_dir: Path, fake: FakeOpenAI, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "provider": "openai",
        "openai_base_url": fake.base_url,
        "openai_api_key": "test-key",
        "provider_timeout_s": 2.0,
    }
    return make_settings(db_url, data_dir, **{**values, **overrides})
