"""Book-like page images rendered with Pillow from the sample stories, and CER to score OCR."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from tests.paths import SAMPLES

# Debian's fonts-dejavu-core (a dependency of the Makefile's system packages).
FONTS = Path("/usr/share/fonts/truetype/dejavu")
STORY_LANGUAGES = ("el", "fr", "es", "de")


@dataclass(frozen=True)
class Page:
    """A rendered page and the text a perfect reader would give back (paragraphs, no header)."""

    name: str
    language: str
    png: bytes
    text: str


def story_paragraphs(language: str) -> list[str]:
    text = (SAMPLES / f"{language}-story.txt").read_text(encoding="utf-8")
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def render_page(
    paragraphs: list[str],
    *,
    header: str | None = None,
    page_number: str | None = None,
    font_name: str = "DejaVuSerif.ttf",
    font_size: int = 30,
    width: int = 1240,
) -> bytes:
    """A page as PNG: paragraphs with an indented first line and no gap between them (book style),
    ragged right, optionally a small capitals header above and a page number below the body."""
    font = ImageFont.truetype(str(FONTS / font_name), font_size)
    small = ImageFont.truetype(str(FONTS / font_name), round(font_size * 0.8))
    margin = 120
    leading = round(font_size * 1.45)
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    lines: list[tuple[int, str]] = []
    for paragraph in paragraphs:
        indent = 2 * font_size
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if line and measure.textlength(candidate, font=font) > width - 2 * margin - indent:
                lines.append((indent, line))
                indent = 0
                line = word
            else:
                line = candidate
        lines.append((indent, line))
    body_top = margin + (3 * font_size if header else 0)
    height = body_top + leading * len(lines) + margin + (3 * font_size if page_number else 0)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    if header:
        draw.text((width / 2, margin), header, font=small, fill=0, anchor="mt")
    for index, (indent, text) in enumerate(lines):
        draw.text((margin + indent, body_top + index * leading), text, font=font, fill=0)
    if page_number:
        y = body_top + leading * len(lines) + 2 * font_size
        draw.text((width / 2, y), page_number, font=small, fill=0, anchor="mt")
    return png_bytes(page)


def add_noise(png: bytes, *, amount: float = 0.03, seed: int = 1) -> bytes:
    """Salt-and-pepper noise: `amount` of the pixels set to black or white at random."""
    with Image.open(io.BytesIO(png)) as img:
        grey = img.convert("L")
    rng = random.Random(seed)
    size = grey.width * grey.height
    noise = Image.frombytes("L", grey.size, rng.randbytes(size))
    cut = round(255 * amount / 2)
    black = noise.point(lambda v: 255 if v < cut else 0)
    white = noise.point(lambda v: 255 if v > 255 - cut else 0)
    grey.paste(0, mask=black)
    grey.paste(255, mask=white)
    return png_bytes(grey)


def png_bytes(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def single_paragraph_pages() -> list[Page]:
    """Each paragraph of each sample story on a page of its own (12 pages, two typefaces)."""
    pages = []
    for language in STORY_LANGUAGES:
        for index, paragraph in enumerate(story_paragraphs(language)):
            font = "DejaVuSerif.ttf" if index % 2 == 0 else "DejaVuSans.ttf"
            png = render_page([paragraph], font_name=font)
            pages.append(Page(f"{language}-p{index + 1}", language, png, paragraph))
    return pages


def story_pages() -> list[Page]:
    """Each sample story on one page, its three paragraphs in book style."""
    return [
        Page(f"{language}-story", language, render_page(paragraphs), "\n\n".join(paragraphs))
        for language in STORY_LANGUAGES
        for paragraphs in [story_paragraphs(language)]
    ]


def character_error_rate(expected: str, actual: str) -> float:
    """Levenshtein distance between the two texts, per character of `expected`."""
    previous = list(range(len(actual) + 1))
    for i, e in enumerate(expected, start=1):
        current = [i]
        for j, a in enumerate(actual, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (e != a)))
        previous = current
    return previous[-1] / max(len(expected), 1)
