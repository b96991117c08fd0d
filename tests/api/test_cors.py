"""CORS origins come from settings, for the Svelte dev server."""

from __future__ import annotations

from pathlib import Path

import httpx

from langproc.api.app import create_app
from langproc.runtime import build_runtime
from tests.pipeline.conftest import NO_PROVIDERS, Recorder, diamond, make_settings

DEV_SERVER = "http://localhost:5173"


async def test_only_configured_origins_are_allowed(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(sqlite_url, tmp_path, cors_origins=[DEV_SERVER])
    runtime = build_runtime(settings, graph=diamond(Recorder()), providers=NO_PROVIDERS)
    app = create_app(runtime=runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            preflight = {"Access-Control-Request-Method": "POST"}
            allowed = await http.options(
                "/api/sourcefiles", headers={"Origin": DEV_SERVER, **preflight}
            )
            other = await http.options(
                "/api/sourcefiles", headers={"Origin": "https://evil.example", **preflight}
            )
            created = await http.post(
                "/api/sourcefiles",
                json={"text": "Bonjour.", "language": "fr"},
                headers={"Origin": DEV_SERVER},
            )

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == DEV_SERVER
    assert "access-control-allow-origin" not in other.headers
    assert created.headers["access-control-allow-origin"] == DEV_SERVER
    assert "Location" in created.headers["access-control-expose-headers"]
