"""What each event says (docs/api.md, "Events"), as types. `publish` adds `sourcefile_id` and
`at` to every payload when it stores it."""

from __future__ import annotations

from typing import TypedDict


class Progress(TypedDict):
    completed: int
    total: int


class ErrorPayload(TypedDict):
    type: str
    message: str
    retryable: bool


class StepEventPayload(TypedDict):
    """A `step` event: one step's new state."""

    step: str
    status: str
    attempt: int
    error: ErrorPayload | None
    next_attempt_at: str | None
    progress: Progress


class SourcefileEventPayload(TypedDict):
    """A `sourcefile` event: the sourcefile's new status."""

    status: str
    progress: Progress


EventPayload = StepEventPayload | SourcefileEventPayload
