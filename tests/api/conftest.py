"""An HTTP client on the app (its executor running) with the diamond test graph."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from langproc.api.app import create_app
from langproc.runtime import Runtime
from tests.support.service import asgi_client


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(create_app(runtime=runtime)) as http:
        yield http
