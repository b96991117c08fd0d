"""TesseractTranscriber against the real tesseract binary and the sample pages."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from starlette.concurrency import run_in_threadpool as run_blocking

from langproc.errors import PermanentError
from langproc.providers.tesseract import (
    TESSERACT_LANGUAGES,
    TesseractTranscriber,
    debian_package,
    speck_ratio,
)
from langproc.steps.images import prepare_image
from langproc.text.normalize import normalize_text
from tests.paths import SAMPLES
from tests.samples.pages import add_noise, character_error_rate, render_page, story_paragraphs


def test_character_error_rate() -> None:
    assert character_error_rate("kitten", "kitten") == 0
    assert character_error_rate("kitten", "sitting") == pytest.approx(3 / 6)
    assert character_error_rate("abc", "") == 1


async def ocr_sample(name: str, *, prepare: bool) -> tuple[str, float]:
    data = (SAMPLES / name).read_bytes()
    content_type = "image/png" if name.endswith(".png") else "image/jpeg"
    if prepare:
        image = await run_blocking(lambda: prepare_image(data, max_pixels=40_000_000))
        data, content_type = image.data, image.content_type
    raw = await TesseractTranscriber(run_blocking).transcribe(data, content_type, "el")
    text = normalize_text(raw)
    expected = normalize_text((SAMPLES / name).with_suffix(".txt").read_text(encoding="utf-8"))
    return text, character_error_rate(expected, text)


@pytest.mark.parametrize("prepare", [False, True])
async def test_greek_paragraph_is_read_with_hyphenation_rejoined(prepare: bool) -> None:
    text, cer = await ocr_sample("el-book-paragraph.png", prepare=prepare)
    assert cer < 0.05, text
    assert "άρχισαν" in text
    assert "φλόγες" in text


@pytest.mark.parametrize("prepare", [False, True])
async def test_greek_photographed_line_is_read(prepare: bool) -> None:
    text, cer = await ocr_sample("el-book-line.jpg", prepare=prepare)
    assert cer < 0.05, text
    assert "Δυστυχία" in text


async def test_missing_language_pack_names_the_debian_package() -> None:
    transcriber = TesseractTranscriber(run_blocking)
    assert "jpn" not in await transcriber.installed_languages(), "test needs jpn absent"
    data = (SAMPLES / "el-book-paragraph.png").read_bytes()
    with pytest.raises(PermanentError, match=r"apt-get install tesseract-ocr-jpn"):
        await transcriber.transcribe(data, "image/png", "ja")


async def test_unknown_language_is_a_permanent_error() -> None:
    data = (SAMPLES / "el-book-paragraph.png").read_bytes()
    with pytest.raises(PermanentError, match=r"does not support language 'xx'"):
        await TesseractTranscriber(run_blocking).transcribe(data, "image/png", "xx")


async def test_missing_binary_says_how_to_install_it() -> None:
    transcriber = TesseractTranscriber(run_blocking, executable="/nonexistent/tesseract")
    data = (SAMPLES / "el-book-paragraph.png").read_bytes()
    with pytest.raises(PermanentError, match=r"apt-get install tesseract-ocr`"):
        await transcriber.transcribe(data, "image/png", "el")


async def test_unreadable_image_is_a_permanent_error() -> None:
    with pytest.raises(PermanentError, match="cannot be read"):
        await TesseractTranscriber(run_blocking).transcribe(b"not an image", "image/png", "el")


def test_language_table_covers_the_common_languages() -> None:
    assert len(TESSERACT_LANGUAGES) >= 25
    expected = {"el": "ell", "fr": "fra", "es": "spa", "de": "deu", "en": "eng", "it": "ita"}
    assert expected.items() <= TESSERACT_LANGUAGES.items()
    assert debian_package("chi_sim") == "tesseract-ocr-chi-sim"


async def test_heic_and_transparent_images_are_converted_for_tesseract() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    with Image.open(SAMPLES / "el-book-paragraph.png") as page:
        heic = io.BytesIO()
        page.convert("RGB").save(heic, format="HEIF", quality=95)
        # Black pixels whose alpha carries the text, on a transparent background.
        grey = page.convert("L")
        clear = Image.new("RGBA", page.size, (0, 0, 0, 0))
        clear.putalpha(grey.point(lambda v: 255 - v))
        transparent = io.BytesIO()
        clear.save(transparent, format="PNG")
    transcriber = TesseractTranscriber(run_blocking)
    for data, content_type in [(heic, "image/heic"), (transparent, "image/png")]:
        text = normalize_text(await transcriber.transcribe(data.getvalue(), content_type, "el"))
        assert "Ιάσωνας πλησίασε" in text, content_type


async def test_small_clean_print_is_not_denoised_away() -> None:
    # A 3x3 median filter erases strokes of letters this small (CER 70 %); it must not run here.
    paragraph = story_paragraphs("fr")[0]
    png = render_page([paragraph], font_name="DejaVuSans.ttf", font_size=13, width=600)
    text = normalize_text(
        await TesseractTranscriber(run_blocking).transcribe(png, "image/png", "fr")
    )
    assert character_error_rate(paragraph, text) < 0.01, text


async def test_speckled_page_is_denoised() -> None:
    paragraph = story_paragraphs("es")[0]
    png = add_noise(render_page([paragraph]), amount=0.03)
    text = normalize_text(
        await TesseractTranscriber(run_blocking).transcribe(png, "image/png", "es")
    )
    assert character_error_rate(paragraph, text) < 0.01, text


def test_speck_ratio_tells_noise_from_print() -> None:
    clean = Image.open(io.BytesIO(render_page(story_paragraphs("de")[:1], font_size=13))).convert(
        "L"
    )
    noisy = Image.open(io.BytesIO(add_noise(render_page(story_paragraphs("de")[:1]), amount=0.01)))
    with Image.open(SAMPLES / "el-book-paragraph.png") as sample:
        assert speck_ratio(sample.convert("L")) < 0.001
    assert speck_ratio(clean) < 0.001
    assert speck_ratio(noisy.convert("L")) > 0.003
