"""Request and response models of the HTTP API (SPEC §4)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SourcefileCreate(BaseModel):
    """A text to study, sent as JSON."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The text in the studied language.", examples=["Ήταν μια φορά…"])
    language: str = Field(description="ISO 639-1 code of the studied language.", examples=["el"])
    title: str | None = Field(default=None, max_length=500)
    native_language: str | None = Field(default=None, description="Default: en.", examples=["en"])


class RetryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[str] | None = Field(
        default=None, description="Steps to re-run with their downstream; default: failed ones."
    )


class Progress(BaseModel):
    completed: int
    total: int


class StepErrorRead(BaseModel):
    type: str
    message: str
    retryable: bool


class StepRead(BaseModel):
    name: str
    status: str
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None
    error: StepErrorRead | None


class Usage(BaseModel):
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tts_characters: int = 0


class SourcefileSummary(BaseModel):
    id: uuid.UUID
    title: str | None
    language: str
    native_language: str
    kind: str
    status: str
    created_at: datetime
    updated_at: datetime
    progress: Progress


class SourcefileRead(SourcefileSummary):
    steps: list[StepRead]
    text: str | None = None
    translation: str | None = None
    words: list[dict[str, Any]] = []
    phrases: list[dict[str, Any]] = []
    lemmas: list[dict[str, Any]] = []
    sentences: list[dict[str, Any]] = []
    audio_url: str | None = None
    usage: Usage


class SourcefileList(BaseModel):
    items: list[SourcefileSummary]
    next_cursor: str | None


class ErrorResponse(BaseModel):
    detail: str = Field(examples=["no sourcefile with id 3f0c…"])


class Health(BaseModel):
    status: str
