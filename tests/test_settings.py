"""Settings that cannot work are refused at start, with what to set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from langproc.settings import Settings
from tests.processes import free_port


def test_jwt_auth_without_keys_is_refused() -> None:
    with pytest.raises(ValidationError, match="LANGPROC_JWT_SECRET"):
        Settings(_env_file=None, auth="jwt")  # type: ignore[call-arg]


def test_jwt_auth_with_a_secret_is_accepted() -> None:
    settings = Settings(_env_file=None, auth="jwt", jwt_secret="s" * 32)  # type: ignore[call-arg]
    assert settings.jwt_audience == "authenticated"


def test_a_shutdown_grace_not_well_under_the_lease_is_refused() -> None:
    with pytest.raises(ValidationError, match="LANGPROC_SHUTDOWN_GRACE_S"):
        Settings(_env_file=None, lease_s=30, shutdown_grace_s=30)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="LANGPROC_SHUTDOWN_GRACE_S"):
        Settings(_env_file=None, lease_s=30, shutdown_grace_s=20)  # type: ignore[call-arg]


def test_a_heartbeat_that_could_miss_the_lease_is_refused() -> None:
    with pytest.raises(ValidationError, match="LANGPROC_HEARTBEAT_S"):
        Settings(_env_file=None, lease_s=3, heartbeat_s=2)  # type: ignore[call-arg]


def test_the_default_grace_heartbeat_and_lease_are_accepted() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.shutdown_grace_s * 2 <= settings.lease_s


@pytest.mark.parametrize("secret", ["", "short", "s" * 31, "é" * 15])
def test_a_jwt_secret_under_32_bytes_is_refused(secret: str) -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(_env_file=None, auth="jwt", jwt_secret=secret)  # type: ignore[call-arg]


def test_serve_refuses_to_start_with_a_short_jwt_secret(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LANGPROC_", "OPENAI_"))}
    env = {**clean, "LANGPROC_DATA_DIR": str(tmp_path), "LANGPROC_AUTH": "jwt"}
    done = subprocess.run(
        [sys.executable, "-m", "langproc", "serve", "--port", str(free_port())],
        env={**env, "LANGPROC_JWT_SECRET": "too-short"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "LANGPROC_JWT_SECRET has 9 bytes" in done.stderr
    assert "Traceback" not in done.stderr


PG = "postgresql://postgres@127.0.0.1/x"


@pytest.mark.parametrize(
    ("database_url", "cpus", "chosen", "placement"),
    [
        (PG, 2, "auto", "process"),
        (PG, 1, "auto", "inline"),
        (None, 8, "auto", "inline"),  # SQLite: no NOTIFY to wake a second process at once
        (None, 8, "process", "process"),
        (PG, 8, "inline", "inline"),
        (PG, 8, "off", "off"),
    ],
)
def test_serve_places_its_executor_by_database_and_cores(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str | None,
    cpus: int,
    chosen: str,
    placement: str,
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    settings = Settings(_env_file=None, database_url=database_url, executor=chosen)  # type: ignore[call-arg]
    assert settings.executor_placement == placement


def test_an_unknown_executor_placement_is_refused() -> None:
    with pytest.raises(ValidationError, match="'auto', 'inline', 'process' or 'off'"):
        Settings(_env_file=None, executor="thread")  # type: ignore[call-arg]
