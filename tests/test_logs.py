"""Logs are one line per event with their fields; JSON on request."""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest

from langproc.logs import REQUEST_ID, configure_logging
from langproc.settings import Settings
from tests.processes import LangprocProcess


def test_json_lines_carry_the_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(_env_file=None, log_format="json"))  # type: ignore[call-arg]
    token = REQUEST_ID.set("req-1")
    try:
        logging.getLogger("langproc.test").info(
            "step.succeeded", extra={"sourcefile_id": "abc", "step": "translate"}
        )
    finally:
        REQUEST_ID.reset(token)
        logging.getLogger().handlers.clear()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "step.succeeded"
    assert line["sourcefile_id"] == "abc"
    assert line["step"] == "translate"
    assert line["request_id"] == "req-1"
    assert line["level"] == "info"


def test_the_access_log_never_records_an_access_token(tmp_path: Path) -> None:
    secret = "a-test-secret-that-is-at-least-32-bytes"
    token = jwt.encode(
        {"sub": "u", "aud": "authenticated", "exp": int(time.time()) + 600}, secret, "HS256"
    )
    env = {
        "LANGPROC_DATA_DIR": str(tmp_path),
        "LANGPROC_AUTH": "jwt",
        "LANGPROC_JWT_SECRET": secret,
        "LANGPROC_LOG_LEVEL": "INFO",
    }
    server = LangprocProcess("serve", env, tmp_path / "serve.log")
    try:
        server.wait_healthy()
        path = f"/api/sourcefiles/{uuid.uuid4()}/events"
        for query in (f"?access_token={token}", f"?last_event_id=1&acc%65ss_token={token}"):
            answer = httpx.get(f"{server.url}{path}{query}", timeout=10)
            assert answer.status_code == 404, answer.text
    finally:
        server.terminate()
    log = (tmp_path / "serve.log").read_text()
    assert f"GET {path}?access_token=[redacted]" in log, log
    assert token not in log
    assert token.split(".")[2] not in log
