"""Settings that cannot work are refused at start, with what to set."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from langproc.settings import Settings


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
