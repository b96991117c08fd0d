"""OCR and lemma quality of the offline provider on the samples (figures for docs/quality.md).

    .venv/bin/python -m bench.ocr_quality            # CER, paragraph breaks, headers, denoise
    .venv/bin/python -m bench.ocr_quality --lemmas   # + the lemma spot-check, before and after

"Before" is the provider as it was: Tesseract's plain text output of the grey page, no denoise,
then `normalize_text`; lemmas straight from simplemma on every token. "After" is the provider
now. Prints figures; never fails on them.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import subprocess

import simplemma
from PIL import Image, ImageFilter
from starlette.concurrency import run_in_threadpool as run_blocking
from tests.paths import SAMPLES
from tests.samples.pages import (
    STORY_LANGUAGES,
    Page,
    add_noise,
    character_error_rate,
    png_bytes,
    render_page,
    single_paragraph_pages,
    story_pages,
    story_paragraphs,
)

from bench._harness import say
from langproc.providers.lexicon import study_words, tokenize
from langproc.providers.tesseract import TesseractTranscriber, tesseract_language
from langproc.text.normalize import normalize_text

SPOT_CHECK = 15


def before(png: bytes, language: str) -> str:
    """The provider as it was: plain text from Tesseract, page numbers dropped by normalize."""
    with Image.open(io.BytesIO(png)) as img:
        grey = png_bytes(img.convert("L"))
    args = ["tesseract", "stdin", "stdout", "-l", tesseract_language(language), "--psm", "3"]
    result = subprocess.run(args, input=grey, capture_output=True, check=True)
    return normalize_text(result.stdout.decode())


def median_filtered(png: bytes) -> bytes:
    with Image.open(io.BytesIO(png)) as img:
        return png_bytes(img.convert("L").filter(ImageFilter.MedianFilter(3)))


def page_sets() -> dict[str, list[Page]]:
    sans = [
        Page(f"{lang}-p{i + 1}", lang, render_page([p], font_name="DejaVuSans.ttf",
             font_size=24, width=1000), p)
        for lang in STORY_LANGUAGES for i, p in enumerate(story_paragraphs(lang))
    ]  # fmt: skip
    small = [
        Page(f"{lang}-p{i + 1}", lang, render_page([p], font_size=14, width=640), p)
        for lang in STORY_LANGUAGES for i, p in enumerate(story_paragraphs(lang))
    ]  # fmt: skip
    single = single_paragraph_pages()
    noisy = [Page(p.name, p.language, add_noise(p.png, amount=0.03), p.text) for p in single]
    return {
        "single paragraph, serif/sans 30 px": single,
        "single paragraph, sans 24 px": sans,
        "single paragraph, serif 14 px": small,
        "single paragraph, 3 % salt-and-pepper": noisy,
        "whole story (3 paragraphs)": story_pages(),
    }


async def ocr_figures() -> None:
    now = TesseractTranscriber(run_blocking)
    never = TesseractTranscriber(run_blocking, denoise=False)
    say("| sample | CER before | CER after |")
    say("|---|---|---|")
    for name in ("el-book-paragraph.png", "el-book-line.jpg"):
        data = (SAMPLES / name).read_bytes()
        kind = "image/png" if name.endswith(".png") else "image/jpeg"
        expected = normalize_text((SAMPLES / name).with_suffix(".txt").read_text("utf-8"))
        old = await run_blocking(before, data, "el")
        new = normalize_text(await now.transcribe(data, kind, "el"))
        old_cer, new_cer = character_error_rate(expected, old), character_error_rate(expected, new)
        say(f"| {name} | {old_cer:.2%} | {new_cer:.2%} |")
    say("")
    say("| pages | n | mean CER before | after | median filter never | always "
          "| wrong paragraph count before | after |")  # fmt: skip
    say("|---|---|---|---|---|---|---|---|")
    for label, pages in page_sets().items():
        rows: list[tuple[float, float, float, float, bool, bool]] = []
        for page in pages:
            old = await run_blocking(before, page.png, page.language)
            new = normalize_text(await now.transcribe(page.png, "image/png", page.language))
            off = normalize_text(await never.transcribe(page.png, "image/png", page.language))
            filtered = await run_blocking(median_filtered, page.png)
            on = normalize_text(await never.transcribe(filtered, "image/png", page.language))
            paragraphs = page.text.count("\n\n")
            rows.append(
                (
                    character_error_rate(page.text, old),
                    character_error_rate(page.text, new),
                    character_error_rate(page.text, off),
                    character_error_rate(page.text, on),
                    old.count("\n\n") != paragraphs,
                    new.count("\n\n") != paragraphs,
                )
            )
        mean = [statistics.mean(row[i] for row in rows) for i in range(4)]
        wrong_before, wrong_after = sum(row[4] for row in rows), sum(row[5] for row in rows)
        say(f"| {label} | {len(rows)} | {mean[0]:.2%} | {mean[1]:.2%} | {mean[2]:.2%} "
              f"| {mean[3]:.2%} | {wrong_before} | {wrong_after} |")  # fmt: skip
    say("")
    for language, header, number in [("fr", "LE VOYAGE DE CLAIRE", "47"),
                                     ("el", "Ο ΠΑΠΠΟΥΣ ΚΑΙ Η ΘΑΛΑΣΣΑ", "A7")]:  # fmt: skip
        png = render_page(story_paragraphs(language)[:2], header=header, page_number=number)
        old = await run_blocking(before, png, language)
        new = normalize_text(await now.transcribe(png, "image/png", language))
        say(f"header page ({language}): before starts {old[:30]!r}, ends {old[-12:]!r}; "
              f"after starts {new[:30]!r}, ends {new[-12:]!r}")  # fmt: skip


def lemma_figures() -> None:
    for language in STORY_LANGUAGES:
        text = (SAMPLES / f"{language}-story.txt").read_text("utf-8")
        forms: list[str] = []
        for word in tokenize(text, language):
            if word.casefold() not in {form.casefold() for form in forms}:
                forms.append(word)
        after = {form.casefold(): lemma for form, lemma in study_words(text, language)}
        step = len(forms) / SPOT_CHECK
        sample = [forms[int(i * step)] for i in range(SPOT_CHECK)]
        say(f"{language} ({len(forms)} distinct words; every {step:.1f}th):")
        for word in sample:
            old = simplemma.lemmatize(word, lang=language)
            new = after.get(word.casefold(), "(left out)")
            say(f"  {word:14} before {old:14} after {new}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lemmas", action="store_true", help="also print the lemma spot-check")
    args = parser.parse_args()
    asyncio.run(ocr_figures())
    if args.lemmas:
        lemma_figures()


if __name__ == "__main__":
    main()
