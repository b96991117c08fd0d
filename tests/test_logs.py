"""Logs are one line per event with their fields; JSON on request."""

from __future__ import annotations

import json
import logging

import pytest

from langproc.logs import REQUEST_ID, configure_logging
from langproc.settings import Settings


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
