"""CORS origins come from settings, for the Svelte dev server."""

from __future__ import annotations

from langproc.api.app import create_app
from tests.support.engine import MakeRuntime, Recorder, diamond
from tests.support.service import asgi_client

DEV_SERVER = "http://localhost:5173"


async def test_only_configured_origins_are_allowed(
    sqlite_url: str, recorder: Recorder, make_runtime: MakeRuntime
) -> None:
    runtime = make_runtime(sqlite_url, graph=diamond(recorder), cors_origins=[DEV_SERVER])
    async with asgi_client(create_app(runtime=runtime)) as http:
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
