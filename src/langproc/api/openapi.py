"""What the OpenAPI document shows beyond the request and response models: their examples, and
the error responses each route documents, with the models of those errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def _step(name: str, status: str, attempts: int = 1, **values: Any) -> dict[str, Any]:
    done = status in ("succeeded", "skipped")
    return {
        "name": name,
        "status": status,
        "attempts": attempts,
        "started_at": "2026-11-28T12:00:01Z" if attempts else None,
        "finished_at": "2026-11-28T12:00:03Z" if done else None,
        "next_attempt_at": None,
        "error": None,
        **values,
    }


SUMMARY_EXAMPLE: dict[str, Any] = {
    "id": "3f0c8a2e-5b1d-4c47-9a8e-2d6f1b7c9e40",
    "title": "Ο βασιλιάς",
    "language": "el",
    "native_language": "en",
    "level": "B1",
    "kind": "text",
    "status": "processing",
    "created_at": "2026-11-28T12:00:00Z",
    "updated_at": "2026-11-28T12:00:04Z",
    "progress": {"completed": 3, "total": 8},
}
READ_EXAMPLE: dict[str, Any] = {
    **SUMMARY_EXAMPLE,
    "steps": [
        _step("transcribe", "skipped", attempts=0),
        _step("translate", "succeeded"),
        _step("extract_words", "succeeded"),
        _step("extract_phrases", "running"),
        _step("describe_lemmas", "pending", attempts=0),
        _step("generate_sentences", "pending", attempts=0),
        _step(
            "speak_text",
            "retrying",
            next_attempt_at="2026-11-28T12:00:09Z",
            error={
                "type": "TransientError",
                "message": "the speech service answered 503; retrying",
                "retryable": True,
            },
        ),
        _step("speak_sentences", "pending", attempts=0),
    ],
    "text": "Ήταν μια φορά ένας βασιλιάς.",
    "translation": "Once upon a time there was a king.",
    "words": [],
    "phrases": [],
    "lemmas": [],
    "sentences": [],
    "audio_url": None,
    "usage": {"llm_calls": 2, "input_tokens": 812, "output_tokens": 365, "tts_characters": 0},
}
LIST_EXAMPLE: dict[str, Any] = {
    "items": [SUMMARY_EXAMPLE],
    "next_cursor": None,
    "last_event_id": 1042,
}


# The error models document what the error handlers answer (api/app.py); no route returns them.
class ErrorResponse(BaseModel):
    """Every error the API answers with: what went wrong and what to do."""

    detail: str = Field(examples=["no sourcefile with id 3f0c…"])


class ValidationIssue(BaseModel):
    """One field error of a request that does not match its schema (FastAPI's format)."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int] = Field(examples=[["body", "language"]])
    msg: str = Field(examples=["Field required"])
    type: str = Field(examples=["missing"])


class ValidationErrorResponse(BaseModel):
    """A 422: field errors for a request that does not match its schema, or one message."""

    detail: str | list[ValidationIssue]


ERROR_DESCRIPTIONS: dict[int, tuple[str, str]] = {
    400: (
        "The body cannot be parsed: not UTF-8 JSON, or a broken multipart form.",
        "There was an error parsing the body",
    ),
    401: (
        "Missing or bad credentials: send `Authorization: Bearer <JWT>`.",
        "the token has expired: sign in again",
    ),
    404: (
        "No such sourcefile, or it belongs to another user.",
        "no sourcefile with id 3f0c8a2e-5b1d-4c47-9a8e-2d6f1b7c9e40",
    ),
    409: ("The sourcefile's state does not allow this now.", "steps ['translate'] are running"),
    413: (
        "The upload is over the size limit.",
        "the upload is larger than the limit of 10 MiB: send a smaller photo or split the text",
    ),
    415: (
        "Not a supported file: JPEG, PNG, WebP or HEIC images, or UTF-8 .txt files.",
        "this file type is not supported: send JPEG, PNG, WebP or HEIC images, or UTF-8 .txt files",
    ),
    503: (
        "The database is unavailable; try again shortly.",
        "the database is unavailable, try again shortly (OperationalError)",
    ),
}

_VALIDATION_EXAMPLES = {
    "fields": {
        "summary": "The request does not match its schema",
        "value": {
            "detail": [{"loc": ["body", "language"], "msg": "Field required", "type": "missing"}]
        },
    },
    "value": {
        "summary": "A value is not acceptable",
        "value": {"detail": "language 'xx' is not supported: use an ISO 639-1 code, one of ar, …"},
    },
}


def error_responses(*codes: int | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for error statuses, with the shared error models and an example.

    A `(status, description)` pair says what that status means for the route at hand.
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for item in codes:
        code, description = item if isinstance(item, tuple) else (item, None)
        if code == 422:
            responses[code] = {
                "model": ValidationErrorResponse,
                "description": description or "Malformed input: the detail says what to change.",
                "content": {"application/json": {"examples": _VALIDATION_EXAMPLES}},
            }
            continue
        general, example = ERROR_DESCRIPTIONS[code]
        responses[code] = {
            "model": ErrorResponse,
            "description": description or general,
            "content": {"application/json": {"example": {"detail": example}}},
        }
    return responses
