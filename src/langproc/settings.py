"""Configuration: one Settings object read from the environment and `.env`."""

from __future__ import annotations

import os
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Re-exported: the API's schemas and web page read the language codes here.
from langproc.languages import SUPPORTED_LANGUAGES as SUPPORTED_LANGUAGES

# RFC 7518 §3.2: an HS256 key at least as long as the hash output.
MIN_JWT_SECRET_BYTES = 32


class ProviderChoice(StrEnum):
    AUTO = "auto"
    OPENAI = "openai"
    LOCAL = "local"


class AuthMode(StrEnum):
    NONE = "none"
    JWT = "jwt"


class ExecutorPlacement(StrEnum):
    """Where `langproc serve` runs the pipeline executor."""

    AUTO = "auto"  # PROCESS on PostgreSQL with two or more CPUs, else INLINE
    INLINE = "inline"  # in the API's process and event loop
    PROCESS = "process"  # in one child `langproc worker` that serve starts and restarts
    OFF = "off"  # nowhere: API only, `langproc worker`s run elsewhere


class LogFormat(StrEnum):
    CONSOLE = "console"
    JSON = "json"


class Settings(BaseSettings):
    """Everything configurable, from `LANGPROC_*` variables (and `.env`)."""

    model_config = SettingsConfigDict(
        env_prefix="LANGPROC_", env_file=".env", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Path("./var")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("LANGPROC_DATABASE_URL", "DATABASE_URL")
    )
    database_listen_url: str | None = None
    database_pool_size: int = 20
    database_statement_cache: bool = True

    provider: ProviderChoice = ProviderChoice.AUTO
    ocr_provider: ProviderChoice | None = None
    speech_provider: ProviderChoice | None = None
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("LANGPROC_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("LANGPROC_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    text_model: str = "gpt-4.1-mini"
    vision_model: str = "gpt-4.1-mini"
    tts_model: str = "gpt-4o-mini-tts"
    tts_voice: str = "alloy"
    # Speech pace: 1.0 natural, below 1 slower for learners (0.8 is a good learner pace).
    speech_speed: float = Field(default=1.0, ge=0.25, le=4.0)
    provider_timeout_s: float = 120.0

    max_concurrent_provider_calls: int = 8
    max_blocking_threads: int = 4
    max_attempts: int = 5
    max_crashes: int = 3
    retry_base_delay_s: float = 1.0
    retry_max_delay_s: float = 300.0
    max_concurrent_steps: int = 32
    executor: ExecutorPlacement = ExecutorPlacement.AUTO
    lease_s: float = Field(default=30.0, gt=0)
    heartbeat_s: float = Field(default=1.0, gt=0)
    poll_interval_s: float = 5.0
    shutdown_grace_s: float = Field(default=15.0, ge=0)
    # A stored file no row uses is deleted once nobody touched it for this long; it must be
    # longer than any step's timeout (checked at start-up).
    blob_collect_delay_s: float = Field(default=3600.0, gt=0)
    blob_collect_interval_s: float = Field(default=600.0, gt=0)

    max_upload_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    max_text_chars: int = 100_000
    default_native_language: str = "en"

    auth: AuthMode = AuthMode.NONE
    jwt_secret: SecretStr | None = None
    jwks_url: str | None = None
    jwt_audience: str = "authenticated"
    cors_origins: list[str] = []

    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.CONSOLE

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _jwt_needs_keys(self) -> Settings:
        if self.auth != AuthMode.JWT:
            return self
        if self.jwt_secret is None and self.jwks_url is None:
            raise ValueError(
                "LANGPROC_AUTH=jwt needs LANGPROC_JWT_SECRET (HS256) or LANGPROC_JWKS_URL"
            )
        if self.jwt_secret is not None:
            length = len(self.jwt_secret.get_secret_value().encode())
            if length < MIN_JWT_SECRET_BYTES:
                raise ValueError(
                    f"LANGPROC_JWT_SECRET has {length} bytes; an HS256 secret needs at least "
                    f"{MIN_JWT_SECRET_BYTES} (a short one can be guessed): use the project's "
                    "JWT secret as Supabase shows it, or LANGPROC_JWKS_URL"
                )
        return self

    @model_validator(mode="after")
    def _leases_outlast_renewals(self) -> Settings:
        if self.heartbeat_s * 3 > self.lease_s:
            raise ValueError(
                f"LANGPROC_HEARTBEAT_S ({self.heartbeat_s:g}) must be at most a third of "
                f"LANGPROC_LEASE_S ({self.lease_s:g}), so that a lease survives a missed renewal"
            )
        if self.shutdown_grace_s * 2 > self.lease_s:
            raise ValueError(
                f"LANGPROC_SHUTDOWN_GRACE_S ({self.shutdown_grace_s:g}) must be at most half of "
                f"LANGPROC_LEASE_S ({self.lease_s:g}): lower the grace or raise the lease"
            )
        return self

    @cached_property
    def effective_database_url(self) -> str:
        """The configured URL, normalised to an async driver; SQLite under data_dir by default."""
        url = self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'langproc.db'}"
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url.removeprefix(prefix)
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def executor_placement(self) -> ExecutorPlacement:
        """`executor` with AUTO decided: a child process where it has a core of its own and
        hears the API's commits (LISTEN/NOTIFY); on SQLite or one core, the API's process."""
        if self.executor != ExecutorPlacement.AUTO:
            return self.executor
        if self.is_sqlite or (os.cpu_count() or 1) < 2:
            return ExecutorPlacement.INLINE
        return ExecutorPlacement.PROCESS
