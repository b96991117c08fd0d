"""Property-based run of the whole API against its own `/openapi.json`, in-process over ASGI.

Every operation gets generated valid and invalid requests (as a signed-in user, with JWT auth
on); each answer must not be a 5xx and must match what the schema documents for its status.
"""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

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

# The operations to generate tests for; each test checks that the live app serves this document.
SPEC = create_app(Settings(_env_file=None)).openapi()  # type: ignore[call-arg]
schema = schemathesis.openapi.from_dict(SPEC).exclude(path_regex=r"/events$")


@pytest.fixture
def live_app(db_url: str, tmp_path: Path) -> FastAPI:
    """The app on a fresh database; schemathesis runs its lifespan on its own event loop and
    ends it when the test ends."""
    runtime = build_runtime(
        make_settings(db_url, tmp_path, auth="jwt", jwt_secret=SECRET),
        graph=diamond(Recorder(delay_s=0.01)),
        providers=NO_PROVIDERS,
    )
    app = create_app(runtime=runtime)
    served = schemathesis.openapi.from_asgi("/openapi.json", app)
    assert served.raw_schema == SPEC
    return app


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_as_documented(case: schemathesis.Case, live_app: FastAPI) -> None:
    case.call_and_validate(app=live_app, headers={"Authorization": f"Bearer {TOKEN}"})
