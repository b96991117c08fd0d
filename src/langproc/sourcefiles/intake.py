"""Checks an upload before anything is stored: what it is (from its bytes), and that it works."""

from __future__ import annotations

from dataclasses import dataclass

from langproc.db.models import SourcefileKind
from langproc.errors import InvalidInput, UnsupportedLanguage, UnsupportedMediaType
from langproc.languages import SUPPORTED_LANGUAGES
from langproc.providers.ports import RunBlocking
from langproc.settings import Settings
from langproc.steps.images import sniff_image_type, validate_image
from langproc.steps.models import DEFAULT_LEVEL, LEVELS

__all__ = ["DEFAULT_LEVEL", "LEVELS", "Intake", "check_language", "check_level", "check_text"]

ACCEPTED = "JPEG, PNG, WebP or HEIC images, or UTF-8 .txt files"


@dataclass(frozen=True)
class Intake:
    kind: SourcefileKind
    text: str | None
    data: bytes | None
    content_type: str | None


def check_language(code: str, field: str = "language") -> str:
    code = code.strip().lower()
    if code not in SUPPORTED_LANGUAGES:
        raise UnsupportedLanguage(
            f"{field} {code!r} is not supported: use an ISO 639-1 code, one of "
            + ", ".join(SUPPORTED_LANGUAGES)
        )
    return code


def check_level(level: str | None) -> str:
    """The learner's CEFR level, A1 to C2 in any letter case; B1 when not given."""
    if level is None or not level.strip():
        return DEFAULT_LEVEL
    code = level.strip().upper()
    if code not in LEVELS:
        raise InvalidInput(
            f"level {level!r} is not a CEFR level: use one of {', '.join(LEVELS)} "
            f"(default {DEFAULT_LEVEL})"
        )
    return code


def check_text(text: str, settings: Settings) -> str:
    if not text.strip():
        raise InvalidInput("the text is empty: send the text to study in the `text` field")
    if "\x00" in text:
        raise InvalidInput("the text contains NUL characters: send plain UTF-8 text")
    if len(text) > settings.max_text_chars:
        raise InvalidInput(
            f"the text has {len(text):,} characters; the limit is {settings.max_text_chars:,}: "
            "split it into several sourcefiles"
        )
    return text


async def check_upload(
    data: bytes,
    settings: Settings,
    run_blocking: RunBlocking,
) -> Intake:
    """Classify an uploaded file by its bytes alone (not its name): a valid image, or UTF-8
    text."""
    if not data:
        raise InvalidInput("the uploaded file is empty: choose a photo of a page or a .txt file")
    if sniff_image_type(data) is not None:
        content_type, _, _ = await run_blocking(validate_image, data, settings.max_image_pixels)
        return Intake(SourcefileKind.IMAGE, None, data, content_type)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedMediaType(
            f"the file is neither a supported image nor UTF-8 text (byte {exc.start:,} is not "
            f"UTF-8): send {ACCEPTED}; save a text file as UTF-8"
        ) from exc
    if "\x00" in text:
        raise UnsupportedMediaType(f"the file is binary, not text: send {ACCEPTED}")
    return Intake(SourcefileKind.TEXT, check_text(text, settings), None, "text/plain")
