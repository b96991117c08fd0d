"""The CLI's way to the API: HTTP to `--server`, or the same app in this process (ASGI)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from langproc.settings import ExecutorPlacement, Settings

# Exit codes of every command (the README lists them).
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
# The server rejected what the user typed (a bad file, language, step name): bad usage.
_USAGE_STATUSES = {400, 413, 415, 422}


class ApiError(Exception):
    """A non-2xx answer, with the server's `detail` and the exit code it maps to."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail

    @property
    def exit_code(self) -> int:
        return EXIT_USAGE if self.status in _USAGE_STATUSES else EXIT_REFUSED


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        return response.text or response.reason_phrase
    if isinstance(detail, list):  # FastAPI's field errors
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in detail)
    return str(detail)


class ApiClient:
    """JSON calls on the langproc API that raise `ApiError` for anything but 2xx."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise ApiError(503, f"cannot reach {self.http.base_url}: {error}") from error
        if response.status_code >= 400:
            raise ApiError(response.status_code, _detail(response))
        return response.json() if response.content else None


@contextlib.asynccontextmanager
async def connect(
    server: str | None, token: str | None, settings: Settings, *, executor: bool
) -> AsyncIterator[ApiClient]:
    """A client on `server`, or on an in-process app (running the executor if asked)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if server is not None:
        async with httpx.AsyncClient(base_url=server, headers=headers, timeout=30) as http:
            yield ApiClient(http)
        return
    from langproc.api.app import create_app

    placement = ExecutorPlacement.INLINE if executor else ExecutorPlacement.OFF
    app = create_app(settings, executor=placement)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        base = "http://langproc"
        async with httpx.AsyncClient(transport=transport, base_url=base, headers=headers) as http:
            yield ApiClient(http)
