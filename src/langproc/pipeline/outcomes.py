"""The outcome of a step attempt, and the step row's columns that record it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from langproc.db import failures as db_failures
from langproc.db.models import StepStatus
from langproc.errors import PermanentError, StepError, TransientError
from langproc.events.payloads import ErrorPayload


@dataclass(frozen=True)
class Outcome:
    status: StepStatus
    output: dict[str, Any] | None = None
    error: StepError | None = None
    # For `retrying`: how long to wait before the next attempt, from the checkpoint on.
    retry_in_s: float | None = None


def status_values(outcome: Outcome, now: datetime) -> dict[str, Any]:
    """The step row's columns for `outcome` (its output and usage excepted), `now` by the
    database's clock. The lease ends; `lease_owner` stays, to say which process ran it last."""
    error = outcome.error
    values: dict[str, Any] = {
        "status": outcome.status,
        "lease_expires_at": None,
        "next_attempt_at": (
            None if outcome.retry_in_s is None else now + timedelta(seconds=outcome.retry_in_s)
        ),
        # PostgreSQL text cannot hold NUL; a provider's message must not make the row unwritable.
        "error_type": error.type_name if error else None,
        "error_message": error.message.replace("\x00", "") if error else None,
        "error_retryable": outcome.status == StepStatus.RETRYING if error else None,
    }
    if outcome.status != StepStatus.RETRYING:
        values["finished_at"] = now
    return values


def error_json(values: Mapping[str, Any]) -> ErrorPayload | None:
    if values["error_type"] is None:
        return None
    return {
        "type": values["error_type"],
        "message": values["error_message"],
        "retryable": values["error_retryable"],
    }


def refused(refusal: Exception, round_attempt: int, max_attempts: int) -> Outcome:
    """The outcome of an attempt whose checkpoint the database refused: run again at once if
    the refusal may pass and attempts are left, failed with the database's message otherwise."""
    reason = db_failures.message(refusal)
    if db_failures.is_transient(refusal) and round_attempt < max_attempts:
        error = TransientError(
            f"the database could not store this step's result: {reason}", kind="database"
        )
        return Outcome(StepStatus.RETRYING, error=error, retry_in_s=0.0)
    return Outcome(
        StepStatus.FAILED,
        error=PermanentError(f"the database refused this step's result: {reason}"),
    )
