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
