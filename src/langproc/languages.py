"""The languages langproc works in: their ISO 639-1 codes and English names.

Imports nothing of langproc, so that settings, the API and the steps all read this one table.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

LANGUAGE_NAMES: Final[Mapping[str, str]] = MappingProxyType({
    "ar": "Arabic", "bg": "Bulgarian", "ca": "Catalan", "cs": "Czech", "da": "Danish",
    "de": "German", "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian",
    "fi": "Finnish", "fr": "French", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian",
    "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese", "ko": "Korean",
    "lt": "Lithuanian", "lv": "Latvian", "nl": "Dutch", "no": "Norwegian", "pl": "Polish",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sl": "Slovenian",
    "sr": "Serbian", "sv": "Swedish", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian",
    "vi": "Vietnamese", "zh": "Chinese",
})  # fmt: skip

SUPPORTED_LANGUAGES: Final[tuple[str, ...]] = tuple(LANGUAGE_NAMES)


def language_name(code: str) -> str:
    """The English name of a language, or its code when it is not one of ours."""
    return LANGUAGE_NAMES.get(code, code)
