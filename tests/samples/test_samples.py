"""The offline provider over the sample stories and images: real Tesseract, simplemma, wordfreq.

Pages are rendered from the stories with Pillow (see `pages.py`): each paragraph alone, in two
typefaces, clean and with salt-and-pepper noise, and each story whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import wordfreq
from starlette.concurrency import run_in_threadpool as run_blocking

from langproc.providers.lexicon import LocalLexicon
from langproc.providers.tesseract import TesseractTranscriber
from langproc.text.normalize import normalize_text
from tests.paths import SAMPLES
from tests.samples.pages import (
    STORY_LANGUAGES,
    Page,
    add_noise,
    character_error_rate,
    render_page,
    single_paragraph_pages,
    story_pages,
    story_paragraphs,
)

# Letters only polytonic Greek has (Greek Extended), and the micro sign Tesseract writes for μ.
POLYTONIC_OR_MICRO = re.compile("[\u1f00-\u1fff\u00b5\u0313\u0314\u0342\u0345]")


async def read(png: bytes, language: str) -> str:
    raw = await TesseractTranscriber(run_blocking).transcribe(png, "image/png", language)
    return normalize_text(raw)


def noisy_pages() -> list[Page]:
    return [
        Page(f"{page.name}-noisy", page.language, add_noise(page.png, amount=0.03), page.text)
        for page in single_paragraph_pages()
    ]


def small_sans_pages() -> list[Page]:
    return [
        Page(f"{language}-p{index + 1}-sans24", language, png, paragraph)
        for language in STORY_LANGUAGES
        for index, paragraph in enumerate(story_paragraphs(language))
        for png in [render_page([paragraph], font_name="DejaVuSans.ttf", font_size=24, width=1000)]
    ]


@pytest.mark.parametrize("pages", [noisy_pages, small_sans_pages], ids=["noisy", "sans24"])
async def test_single_paragraph_pages_come_back_as_one_paragraph(
    pages: Callable[[], list[Page]],
) -> None:
    broken: dict[str, str] = {}
    error_rates: list[float] = []
    for page in pages():
        text = await read(page.png, page.language)
        error_rates.append(character_error_rate(page.text, text))
        if "\n\n" in text:
            broken[page.name] = text
    assert not broken, broken
    assert sum(error_rates) / len(error_rates) < 0.01, error_rates


async def test_paragraphs_of_a_story_page_are_kept() -> None:
    for page in story_pages():
        text = await read(page.png, page.language)
        assert text.count("\n\n") == 2, text
        assert character_error_rate(page.text, text) < 0.02, text


async def test_greek_output_has_no_micro_sign_or_polytonic_letters() -> None:
    pages = [page for page in single_paragraph_pages() + story_pages() if page.language == "el"]
    texts = [await read(page.png, "el") for page in pages]
    paragraph = (SAMPLES / "el-book-paragraph.png").read_bytes()
    texts.append(await read(paragraph, "el"))
    found = {m.group() for text in texts for m in POLYTONIC_OR_MICRO.finditer(text)}
    assert not found, texts
    assert "μέχρι" in texts[0]
    lexicon = LocalLexicon()
    lemmas = {lemma for text in texts for _, lemma in lexicon.study_words(text, "el")}
    assert not {m.group() for lemma in lemmas for m in POLYTONIC_OR_MICRO.finditer(lemma)}


@pytest.mark.parametrize(
    ("language", "header", "page_number"),
    # "A7" is a page number as OCR misreads it.
    [("fr", "LE VOYAGE DE CLAIRE", "47"), ("el", "Ο ΠΑΠΠΟΥΣ ΚΑΙ Η ΘΑΛΑΣΣΑ", "A7")],
)
async def test_running_header_and_page_number_are_dropped(
    language: str, header: str, page_number: str
) -> None:
    paragraphs = story_paragraphs(language)[:2]
    png = render_page(paragraphs, header=header, page_number=page_number)
    text = await read(png, language)
    assert header.split()[1] not in text
    # The stories hold no digits; Tesseract may read the A of "A7" as a Greek alpha.
    assert not re.search(r"[AΑ4]?7", text), text
    assert character_error_rate("\n\n".join(paragraphs), text) < 0.02, text
    assert page_number not in {form for form, _ in LocalLexicon().study_words(text, language)}


async def test_a_header_that_might_be_text_is_kept() -> None:
    paragraphs = story_paragraphs("fr")[:1]
    text = await read(render_page(paragraphs, header="Le voyage de Claire"), "fr")
    assert text.startswith("Le voyage de Claire\n\n"), text


@pytest.mark.parametrize("language", STORY_LANGUAGES)
def test_story_words_are_study_words_with_wordfreq_frequencies(language: str) -> None:
    text = (SAMPLES / f"{language}-story.txt").read_text(encoding="utf-8")
    lexicon = LocalLexicon()
    pairs = lexicon.study_words(text, language)
    forms = {form for form, _ in pairs}
    assert "Lyon" not in forms
    assert not any(char.isdigit() for form in forms for char in form)
    for form, _ in pairs:
        expected = wordfreq.zipf_frequency(form, language)
        assert lexicon.zipf_frequency(form, language) == expected
    lemmas = dict(pairs)
    known_slips = {
        "el": ("γιαγιά", {"παππούς"}),
        "fr": ("voisine", {"voisiner"}),
        "es": ("flores", {"florar"}),
        "de": ("jeden", {"jed"}),
    }
    form, wrong = known_slips[language]
    assert lemmas[form] not in wrong, lemmas
