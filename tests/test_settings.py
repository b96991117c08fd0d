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
