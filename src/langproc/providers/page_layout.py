"""Page text from Tesseract's TSV layout: running headers and page numbers dropped, paragraphs
rebuilt from block and line geometry (pure functions, no I/O).

Tesseract splits a paragraph wherever its layout analysis starts a new block or paragraph, which
on a single-paragraph page can be mid-sentence; a break is kept only where the text before it
ends a sentence (and the text after it does not go on in lower case), or where a blank line's
worth of space sets the two apart (a title above the text).
"""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass, field
from typing import Final

_TSV_COLUMNS: Final = 12
_WORD_LEVEL: Final = "5"
_LINE_LEVEL: Final = "4"
# Consecutive lines further apart than this many line pitches have a blank line between them.
_APART: Final = 1.6
# Running headers and page numbers: at most this many words and this share of the body's width.
_SHORT_WORDS: Final = 8
_SHORT_WIDTH: Final = 0.75
# A header is set in the body's size or smaller; a larger all-capitals line is a title.
_HEADER_MAX_HEIGHT: Final = 1.25
_MAX_EDGE_LINES: Final = 3
_CLOSERS: Final = "\"'»”’)]›"
_SENTENCE_END: Final = frozenset(".!?…:")
# The Greek question mark is the semicolon (U+037E becomes U+003B under NFC).
_GREEK_SENTENCE_END: Final = _SENTENCE_END | {";"}
_DIGIT = re.compile(r"\d")


@dataclass
class Line:
    """One line of words, as Tesseract grouped it into a block and a paragraph."""

    paragraph: tuple[int, int]
    left: int
    top: int
    right: int
    bottom: int
    words: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def height(self) -> int:
        return self.bottom - self.top


def page_text(tsv: str, language: str) -> str:
    """The page's text: paragraphs separated by a blank line, their lines by a newline."""
    lines = drop_running_lines(parse_tsv(tsv))
    return join_paragraphs(lines, language)


def parse_tsv(tsv: str) -> list[Line]:
    """Lines with their words in Tesseract's reading order, empty lines left out."""
    lines: dict[tuple[int, int, int], Line] = {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < _TSV_COLUMNS or not cells[0].isdigit():
            continue
        level, block, paragraph, line = cells[0], int(cells[2]), int(cells[3]), int(cells[4])
        left, top, width, height = (int(cell) for cell in cells[6:10])
        key = (block, paragraph, line)
        if level == _LINE_LEVEL:
            lines[key] = Line((block, paragraph), left, top, left + width, top + height)
        elif level == _WORD_LEVEL and cells[11].strip() and key in lines:
            lines[key].words.append(cells[11].strip())
    return [line for line in lines.values() if line.words]


def drop_running_lines(lines: list[Line]) -> list[Line]:
    """Without running headers and page numbers: short lines at the top or bottom edge, set
    apart from the body, all in capitals or mostly digits. Anything less sure is kept."""
    kept = list(lines)
    for _ in range(_MAX_EDGE_LINES):
        dropped = False
        for edge in (_topmost, _bottommost):
            if len(kept) < 3:
                return kept
            candidate, neighbour = edge(kept)
            if _running_line(candidate, neighbour, kept):
                kept.remove(candidate)
                dropped = True
        if not dropped:
            break
    return kept


def join_paragraphs(lines: list[Line], language: str) -> str:
    """Tesseract's paragraphs, joined where the break between them falls inside a sentence."""
    if not lines:
        return ""
    pitch = _line_pitch(lines)
    ends = _GREEK_SENTENCE_END if language.lower() == "el" else _SENTENCE_END
    text = lines[0].text
    for previous, line in itertools.pairwise(lines):
        if line.paragraph == previous.paragraph:
            text += "\n" + line.text
            continue
        ends_sentence = text.rstrip(_CLOSERS)[-1:] in ends and not line.text[:1].islower()
        set_apart = line.top - previous.top > _APART * pitch
        text += ("\n\n" if ends_sentence or set_apart else "\n") + line.text
    return text


def _line_pitch(lines: list[Line]) -> float:
    """The usual distance from one line's top to the next one's within a paragraph."""
    pitches = [
        line.top - previous.top
        for previous, line in itertools.pairwise(lines)
        if line.paragraph == previous.paragraph and line.top > previous.top
    ]
    if pitches:
        return statistics.median(pitches)
    return 1.45 * statistics.median(line.height for line in lines)


def _topmost(lines: list[Line]) -> tuple[Line, Line]:
    ordered = sorted(lines, key=lambda line: line.top)
    return ordered[0], ordered[1]


def _bottommost(lines: list[Line]) -> tuple[Line, Line]:
    ordered = sorted(lines, key=lambda line: line.bottom, reverse=True)
    return ordered[0], ordered[1]


def _running_line(line: Line, neighbour: Line, lines: list[Line]) -> bool:
    body = [other for other in lines if other is not line]
    pitch = _line_pitch(body)
    if abs(line.top - neighbour.top) <= _APART * pitch:
        return False
    body_width = max(other.right for other in body) - min(other.left for other in body)
    if len(line.words) > _SHORT_WORDS or line.right - line.left > _SHORT_WIDTH * body_width:
        return False
    characters = [char for char in line.text if char.isalnum()]
    letters = [char for char in characters if char.isalpha()]
    digits = len(_DIGIT.findall(line.text))
    if digits and 2 * digits >= len(characters):
        return True
    body_height = statistics.median(other.height for other in body)
    capitals = len(letters) >= 2 and all(char.isupper() for char in letters)
    return capitals and line.height <= _HEADER_MAX_HEIGHT * body_height
