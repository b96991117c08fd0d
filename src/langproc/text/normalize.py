"""Plain-text normalisation and chunking (pure functions, no I/O)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Final

_SOFT_HYPHEN: Final = "\u00ad"
# Hyphens that, at a line end, split a word: ASCII hyphen-minus, soft hyphen, U+2010 HYPHEN.
_LINE_END_HYPHENS: Final = frozenset({"-", _SOFT_HYPHEN, "\u2010"})
_HORIZONTAL_SPACE = re.compile(r"[ \t\u000b]+")
# A line that is only a page number, maybe dressed as "- 12 -", "— 12 —" or "12.".
_PAGE_NUMBER = re.compile(r"[\s\-\u2010-\u2015.·•|]*\d{1,4}[\s\-\u2010-\u2015.·•|]*")
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")
# Where a sentence ends: terminal punctuation and any closing quotes or brackets, then the
# whitespace that is dropped at a split (none is needed after the CJK full stops).
_SENTENCE_END = re.compile(
    r"(?P<end>[.!?…;][\"'\u201d\u2019\u00bb)\]]*)\s+"
    r"|(?P<cjk>[\u3002\uff01\uff1f][\u201d\u2019\u300d\u300f)\]]*)\s*"
)
_WHITESPACE = re.compile(r"\s+")


def normalize_text(raw: str) -> str:
    """Page text as paragraphs of single lines separated by one blank line.

    NFC; any line ending becomes LF; a word hyphenated across a line break is re-joined (a
    hyphen inside a line is kept); the lines of a paragraph are joined with a space; runs of
    spaces collapse; lines holding only a page number are dropped; soft hyphens are removed.
    """
    text = unicodedata.normalize("NFC", raw)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.replace("\f", "\n\n").replace("\u2029", "\n\n")
    paragraphs: list[str] = []
    lines: list[str] = []
    for raw_line in text.split("\n"):
        line = _HORIZONTAL_SPACE.sub(" ", raw_line).strip()
        if not line:
            if lines:
                paragraphs.append(_join_lines(lines))
                lines = []
        elif not _PAGE_NUMBER.fullmatch(line):
            lines.append(line)
    if lines:
        paragraphs.append(_join_lines(lines))
    return "\n\n".join(p for p in paragraphs if p)


def _join_lines(lines: list[str]) -> str:
    joined = lines[0]
    for line in lines[1:]:
        hyphen = joined[-1]
        if hyphen in _LINE_END_HYPHENS and len(joined) > 1 and joined[-2].isalpha():
            # "λέ-" + "ξη" is one word; before a capital ("Jean-" + "Pierre") the hyphen is real.
            word_goes_on = line[0].isalpha() and not line[0].isupper()
            if word_goes_on or hyphen == _SOFT_HYPHEN:
                joined = joined[:-1] + line
            else:
                joined += line
        else:
            joined += " " + line
    return joined.replace(_SOFT_HYPHEN, "").strip()


def split_into_chunks(text: str, max_chars: int) -> list[str]:
    """Consecutive pieces of `text`, each at most `max_chars` long, in order.

    Whole paragraphs are packed together while they fit. A longer paragraph is cut between
    sentences, a longer sentence between words, and a longer word anywhere. Every chunk is
    stripped. `"\\n\\n".join(chunks)` gives back a normalised text exactly, except that each
    cut inside a paragraph becomes a paragraph break (in place of the space, or nothing, that
    was there); runs of whitespace inside a paragraph that had to be cut become one space.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, not {max_chars}")
    chunks: list[str] = []
    current = ""
    for paragraph in _PARAGRAPH_BREAK.split(text.strip()):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        for index, (separator, piece) in enumerate(_pieces(paragraph, max_chars)):
            glue = "\n\n" if index == 0 else separator
            if current and len(current) + len(glue) + len(piece) <= max_chars:
                current += glue + piece
            else:
                if current:
                    chunks.append(current)
                current = piece
    if current:
        chunks.append(current)
    return chunks


def _pieces(paragraph: str, max_chars: int) -> Iterator[tuple[str, str]]:
    """The paragraph in pieces no longer than max_chars, each with the separator before it."""
    if len(paragraph) <= max_chars:
        yield "", paragraph
        return
    for separator, sentence in _sentences(paragraph):
        if len(sentence) <= max_chars:
            yield separator, sentence
            continue
        for index, word in enumerate(_WHITESPACE.split(sentence)):
            word_separator = separator if index == 0 else " "
            for start in range(0, len(word), max_chars):
                yield (word_separator if start == 0 else ""), word[start : start + max_chars]


def _sentences(paragraph: str) -> Iterator[tuple[str, str]]:
    start = 0
    separator = ""
    for match in _SENTENCE_END.finditer(paragraph):
        cut = match.end("end") if match.group("end") is not None else match.end("cjk")
        if cut > start:
            yield separator, paragraph[start:cut]
        separator = " " if match.end() > cut else ""
        start = match.end()
    if start < len(paragraph):
        yield separator, paragraph[start:]
