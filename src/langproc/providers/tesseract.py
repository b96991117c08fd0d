"""Tesseract OCR as a Transcriber: the `tesseract` binary, page image on stdin, its layout (TSV)
on stdout, turned into paragraphs (see `page_layout`) in the language's standard spelling."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Final

from PIL import Image, ImageChops, ImageFilter, UnidentifiedImageError

from langproc.errors import PermanentError, TransientError, describe
from langproc.providers.lexicon import zipf_frequency
from langproc.providers.page_layout import page_text
from langproc.providers.ports import RunBlocking
from langproc.text.normalize import normalize_text
from langproc.text.orthography import normalize_orthography

# ISO 639-1 -> Tesseract's traineddata name (ISO 639-2/T for most, script variants for a few).
TESSERACT_LANGUAGES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "af": "afr", "ar": "ara", "be": "bel", "bg": "bul", "bn": "ben", "bs": "bos",
        "ca": "cat", "cs": "ces", "cy": "cym", "da": "dan", "de": "deu", "el": "ell",
        "en": "eng", "eo": "epo", "es": "spa", "et": "est", "eu": "eus", "fa": "fas",
        "fi": "fin", "fr": "fra", "ga": "gle", "gl": "glg", "he": "heb", "hi": "hin",
        "hr": "hrv", "hu": "hun", "hy": "hye", "id": "ind", "is": "isl", "it": "ita",
        "ja": "jpn", "ka": "kat", "kk": "kaz", "ko": "kor", "la": "lat", "lt": "lit",
        "lv": "lav", "mk": "mkd", "ms": "msa", "mt": "mlt", "nb": "nor", "nl": "nld",
        "nn": "nor", "no": "nor", "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus",
        "sk": "slk", "sl": "slv", "sq": "sqi", "sr": "srp", "sv": "swe", "sw": "swa",
        "ta": "tam", "th": "tha", "tr": "tur", "uk": "ukr", "ur": "urd", "vi": "vie",
        "zh": "chi_sim",
    }
)  # fmt: skip

# Mode 3, fully automatic layout analysis: a book page photo may hold a running header, a page
# number, two facing pages or an inset; mode 4 (one column) would interleave facing pages.
_PAGE_SEGMENTATION: Final = "3"
# A 3x3 median filter removes specks (pages with 3 % salt-and-pepper noise: mean CER 6.0 % ->
# 0.1 %) but erodes small clean print (14 px letters: 0.5 % -> 3.7 %; 13 px: 0.3 % -> 71 %), so
# it runs only where more than this share of pixels are isolated dark dots (the clean samples
# have at most 0.05 %, 1 % noise gives 0.35 %). Figures: bench/ocr_quality.py.
_SPECKLED: Final = 0.002
# Tesseract reads these itself; anything else (HEIC) is converted first.
_READABLE: Final = frozenset({"image/png", "image/jpeg", "image/webp", "image/tiff", "image/bmp"})


def tesseract_language(language: str) -> str:
    """Tesseract's language name for an ISO 639-1 code."""
    code = TESSERACT_LANGUAGES.get(language.lower())
    if code is None:
        known = ", ".join(sorted(TESSERACT_LANGUAGES))
        raise PermanentError(
            f"Tesseract OCR does not support language {language!r}; it knows {known}"
        )
    return code


def debian_package(code: str) -> str:
    """The Debian package holding Tesseract's `code` traineddata."""
    return "tesseract-ocr-" + code.replace("_", "-").lower()


class TesseractTranscriber:
    """Transcribes page images with the local Tesseract binary (no network)."""

    def __init__(
        self,
        run_blocking: RunBlocking,
        *,
        executable: str = "tesseract",
        timeout_s: float = 120.0,
        denoise: bool = True,
    ) -> None:
        self._run_blocking = run_blocking
        self._denoise = denoise
        self._executable = executable
        self._timeout_s = timeout_s
        self._installed: frozenset[str] | None = None

    async def transcribe(self, image: bytes, content_type: str, language: str) -> str:
        code = tesseract_language(language)
        if code not in await self.installed_languages():
            raise PermanentError(
                f"the Tesseract language pack for {language!r} ({code}) is not installed; "
                f"install it with `apt-get install {debian_package(code)}`"
            )
        tsv: str = await self._run_blocking(self._recognize, image, content_type, code)
        # Hyphenated words are re-joined before the spelling is normalised: "άρ-" alone looks
        # like a monosyllable, which loses its accent.
        text = normalize_text(page_text(tsv, language))
        return normalize_orthography(text, language, lambda word: zipf_frequency(word, language))

    async def installed_languages(self) -> frozenset[str]:
        """The traineddata names `tesseract --list-langs` reports (asked once, then cached)."""
        if self._installed is None:
            self._installed = await self._run_blocking(self._list_languages)
        return self._installed

    def _list_languages(self) -> frozenset[str]:
        result = self._call(["--list-langs"], b"")
        # Tesseract 5 prints the list on stdout, 3.x on stderr; the first line is a header.
        listing = result.stdout or result.stderr
        lines = listing.decode("utf-8", errors="replace").splitlines()[1:]
        return frozenset(line.strip() for line in lines if line.strip())

    def _recognize(self, image: bytes, content_type: str, code: str) -> str:
        args = ["stdin", "stdout", "-l", code, "--psm", _PAGE_SEGMENTATION, "tsv"]
        result = self._call(args, _grayscale_png(image, content_type, denoise=self._denoise))
        return result.stdout.decode("utf-8", errors="replace")

    def _call(self, args: list[str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
        try:
            result = subprocess.run(
                [self._executable, *args],
                input=stdin,
                capture_output=True,
                timeout=self._timeout_s,
                # One OpenMP thread per process: several run at once from the thread pool, and
                # OpenMP's default of a thread per core makes concurrent runs many times slower.
                env={**os.environ, "OMP_THREAD_LIMIT": "1"},
                check=False,
            )
        except FileNotFoundError:
            raise PermanentError(
                f"Tesseract OCR is not installed ({self._executable!r} not found); "
                "install it with `apt-get install tesseract-ocr`"
            ) from None
        except subprocess.TimeoutExpired:
            raise TransientError(f"tesseract did not finish within {self._timeout_s:g} s") from None
        if result.returncode != 0:
            detail = result.stderr.decode("utf-8", errors="replace").strip().splitlines()
            message = detail[-1] if detail else "no message"
            raise PermanentError(f"tesseract failed (exit {result.returncode}): {message}")
        return result


def speck_ratio(grey: Image.Image) -> float:
    """The share of pixels that are dark and have no dark neighbour: salt-and-pepper noise."""
    dark = grey.point(lambda value: 255 if value < 128 else 0)
    near_dark = dark.filter(ImageFilter.Kernel((3, 3), [1, 1, 1, 1, 0, 1, 1, 1, 1], scale=1))
    isolated = ImageChops.multiply(dark, ImageChops.invert(near_dark))
    return isolated.histogram()[255] / (grey.width * grey.height)


@cache
def _register_heif() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()


def _grayscale_png(image: bytes, content_type: str, *, denoise: bool) -> bytes:
    """The image as 8-bit grey PNG, transparency flattened onto white, maybe denoised.

    Tesseract's own colour-to-grey conversion measurably loses word gaps on photographed pages
    (the sample book-title photo reads "Φτιάξετη" through it, "Φτιάξε τη" through this).
    """
    if content_type not in _READABLE:
        _register_heif()
    try:
        with Image.open(io.BytesIO(image)) as img:
            img.load()
            if img.mode in {"RGBA", "LA", "PA"} or "transparency" in img.info:
                rgba = img.convert("RGBA")
                flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                flat.alpha_composite(rgba)
                grey = flat.convert("L")
            else:
                grey = img.convert("L")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise PermanentError(f"the image cannot be read for OCR: {describe(exc)}") from exc
    if denoise and speck_ratio(grey) > _SPECKLED:
        grey = grey.filter(ImageFilter.MedianFilter(3))
    out = io.BytesIO()
    grey.save(out, format="PNG")
    return out.getvalue()
