"""Request and response models of the HTTP API (docs/api.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from langproc.db.models import SourcefileKind, SourcefileStatus, StepStatus
from langproc.settings import SUPPORTED_LANGUAGES
from langproc.sourcefiles.intake import LEVELS

# Documented as an enum for clients; the server also accepts other letter cases.
LANGUAGE_ENUM: dict[str, Any] = {"enum": list(SUPPORTED_LANGUAGES)}
LEVEL_ENUM: dict[str, Any] = {"enum": list(LEVELS)}
LEVEL_DESCRIPTION = (
    "The learner's CEFR level (A1-C2, default B1): it sets the level of the example sentences "
    "and which words of the text get them."
)


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


class SourcefileCreate(BaseModel):
    """A text to study, sent as JSON."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        description="The text in the studied language: not blank, at most 100,000 characters "
        "unless the server sets LANGPROC_MAX_TEXT_CHARS.",
        examples=["Ήταν μια φορά…"],
        json_schema_extra={"minLength": 1, "pattern": r"\S"},
    )
    language: str = Field(
        description="ISO 639-1 code of the studied language.",
        examples=["el"],
        json_schema_extra=LANGUAGE_ENUM,
    )
    title: str | None = Field(default=None, max_length=500)
    native_language: str | None = Field(
        default=None, description="Default: en.", examples=["en"], json_schema_extra=LANGUAGE_ENUM
    )
    level: str | None = Field(
        default=None, description=LEVEL_DESCRIPTION, examples=["B1"], json_schema_extra=LEVEL_ENUM
    )


class RetryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[str] | None = Field(
        default=None, description="Steps to re-run with their downstream; default: failed ones."
    )


class Progress(BaseModel):
    completed: int = Field(description="Steps that succeeded or were skipped.", examples=[3])
    total: int = Field(examples=[8])


class StepErrorRead(BaseModel):
    type: str = Field(examples=["TransientError"])
    message: str = Field(examples=["the speech service answered 503; retrying"])
    retryable: bool = Field(description="Whether the engine retries it by itself.")


class StepRead(BaseModel):
    name: str = Field(examples=["translate"])
    status: StepStatus
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


class WordRead(BaseModel):
    """A distinct word form of the text, in order of first appearance."""

    position: int
    wordform: str = Field(examples=["βασιλιάς"])
    lemma: str = Field(examples=["βασιλιάς"])
    part_of_speech: str
    inflection: str
    translations: list[str]
    centrality: float = Field(ge=0, le=1)
    frequency: float = Field(description="Zipf frequency (wordfreq): 0 rare … 8 very common.")


class PhraseRead(BaseModel):
    position: int
    phrase: str
    translations: list[str]
    literal_translation: str
    notes: str


class LemmaRead(BaseModel):
    """An entry of the lemma table shared by all documents of the language."""

    # `register` is a BaseModel attribute: the field is named apart and keeps the API's name.
    model_config = ConfigDict(
        serialize_by_alias=True, validate_by_name=True, validate_by_alias=True
    )

    lemma: str = Field(description="The dictionary form.", examples=["θάλασσα"])
    part_of_speech: str = Field(
        description="noun, verb, adjective, adverb… (empty when no LLM is configured)."
    )
    translations: list[str] = Field(description="Into the learner's language, most usual first.")
    etymology: str = Field(description="Its origin, when the model was sure of it; else empty.")
    register_: str = Field(
        alias="register", description="neutral, formal, informal, colloquial, literary…"
    )
    cefr_level: str = Field(description="A1-C2: the level at which learners meet it.")
    frequency: float = Field(description="Zipf frequency (wordfreq): 0 rare … 8 very common.")
    mnemonic: str = Field(description="A memory aid, when a good one exists; else empty.")
    synonyms: list[str]
    gender: str = Field(
        default="", description="A noun's gender: masculine, feminine, neuter or common."
    )
    article: str = Field(default="", description="A noun's definite article (der, la, η…).")
    plural: str = Field(default="", description="A noun's nominative plural.")
    principal_parts: list[str] = Field(
        default=[], description="A verb's principal parts, as dictionaries list them."
    )


class SentenceRead(BaseModel):
    position: int
    sentence: str
    translation: str
    lemmas: list[str] = Field(description="The lemmas of this text it uses, its target first.")
    cefr_level: str
    target_lemma: str = Field(default="", description="The lemma the sentence was written for.")
    target_form: str = Field(
        default="",
        description="How the target lemma is written in the sentence (to highlight it); empty "
        "if the model's form could not be found in the sentence.",
    )
    audio_url: str | None = Field(description="Set once the sentence has been spoken.")


class SourcefileSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SUMMARY_EXAMPLE]})

    id: uuid.UUID
    title: str | None
    language: str
    native_language: str
    level: str = Field(default="B1", description=LEVEL_DESCRIPTION)
    kind: SourcefileKind
    status: SourcefileStatus
    created_at: datetime
    updated_at: datetime
    progress: Progress


class SourcefileRead(SourcefileSummary):
    model_config = ConfigDict(json_schema_extra={"examples": [READ_EXAMPLE]})

    steps: list[StepRead]
    text: str | None = None
    translation: str | None = None
    words: list[WordRead] = []
    phrases: list[PhraseRead] = []
    lemmas: list[LemmaRead] = []
    sentences: list[SentenceRead] = []
    audio_url: str | None = None
    usage: Usage


class SourcefileList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"items": [SUMMARY_EXAMPLE], "next_cursor": None, "last_event_id": 1042}]
        }
    )

    items: list[SourcefileSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last.")
    last_event_id: int = Field(
        description="The caller's latest event when this page was read: open "
        "`/api/events?last_event_id=…` to follow changes from here on without a replay.",
        examples=[1042],
    )


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


class Health(BaseModel):
    status: str


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
