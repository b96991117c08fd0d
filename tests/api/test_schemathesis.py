"""Property-based run of the whole API against its own `/openapi.json`, in-process over ASGI.

Every operation gets generated valid and invalid requests (as a signed-in user, with JWT auth
on); each answer must not be a 5xx and must match what the schema documents for its status.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.types import Receive, Scope, Send

from langproc.api.app import create_app
from langproc.runtime import build_runtime
from langproc.settings import Settings
from tests.pipeline.conftest import NO_PROVIDERS, Recorder, diamond, make_settings

SECRET = "schemathesis-secret-at-least-32-bytes-long"
TOKEN = jwt.encode(
    {"sub": "fuzzer", "aud": "authenticated", "exp": int(time.time()) + 3600},
    SECRET,
    algorithm="HS256",
)


class CurrentApp:
    """The app of the running test: the operations are collected before any database exists."""

    app: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "the live_app fixture sets the app"
        await self.app(scope, receive, send)


CURRENT = CurrentApp()
SPEC = create_app(Settings(_env_file=None)).openapi()  # type: ignore[call-arg]
schema = schemathesis.openapi.from_dict(SPEC).exclude(path_regex=r"/events$")
schema.app = CURRENT


@pytest.fixture
def live_app(db_url: str, tmp_path: Path) -> Iterator[None]:
    """The app on a fresh database. Schemathesis runs its lifespan on its own event loop and
    ends it when the test ends."""
    runtime = build_runtime(
        make_settings(db_url, tmp_path, auth="jwt", jwt_secret=SECRET),
        graph=diamond(Recorder(delay_s=0.01)),
        providers=NO_PROVIDERS,
    )
    CURRENT.app = create_app(runtime=runtime)
    served = schemathesis.openapi.from_asgi("/openapi.json", CURRENT)
    assert served.raw_schema == SPEC, "the generated tests are those of the served document"
    yield
    CURRENT.app = None


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.usefixtures("live_app")
def test_api_answers_as_documented(case: schemathesis.Case) -> None:
    # A cursor is opaque: any string fits its schema, but only a `next_cursor` is accepted.
    opaque = case.query is not None and "cursor" in case.query
    case.call_and_validate(
        headers={"Authorization": f"Bearer {TOKEN}"},
        excluded_checks=[positive_data_acceptance] if opaque else None,
    )
