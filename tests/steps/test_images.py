"""sniff_image_type, validate_image and prepare_image on real and crafted images."""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib

import pytest
from PIL import Image, ImageFile

from langproc.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from langproc.steps.images import prepare_image, sniff_image_type, validate_image
from tests.paths import SAMPLES

LIMIT = 40_000_000


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def photo(width: int, height: int) -> Image.Image:
    """An image with many colours, like a photograph."""
    return Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))


def halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue."""
    img = Image.new("RGB", (width, height), (255, 0, 0))
    img.paste((0, 0, 255), (width // 2, 0, width, height))
    return img


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of blank rows: tiny on disk, width x height pixels once decoded."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    idat = b"".join(compressor.compress(row * 1000) for _ in range(height // 1000))
    idat += compressor.compress(row * (height % 1000)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


@pytest.fixture
def no_pixel_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_sniffing_by_magic_bytes() -> None:
    img = halves(8, 8)
    assert sniff_image_type(encode(img, "JPEG")) == "image/jpeg"
    assert sniff_image_type(encode(img, "PNG")) == "image/png"
    assert sniff_image_type(encode(img, "WEBP")) == "image/webp"
    assert sniff_image_type(encode(img, "GIF")) is None
    assert sniff_image_type(b"plain text, not an image") is None
    assert sniff_image_type(b"") is None


def test_samples_validate() -> None:
    line = (SAMPLES / "el-book-line.jpg").read_bytes()
    assert validate_image(line, LIMIT) == ("image/jpeg", 1217, 131)
    paragraph = (SAMPLES / "el-book-paragraph.png").read_bytes()
    assert validate_image(paragraph, LIMIT) == ("image/png", 414, 102)


def test_exif_rotated_jpeg_is_turned_upright() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned left: rotate 90° clockwise to show
    data = encode(halves(200, 100), "JPEG", exif=exif, quality=95)
    assert validate_image(data, LIMIT) == ("image/jpeg", 100, 200)
    prepared = prepare_image(data, max_pixels=LIMIT)
    assert (prepared.width, prepared.height) == (100, 200)
    with Image.open(io.BytesIO(prepared.data)) as img:
        assert img.size == (100, 200)
        rgb = img.convert("RGB")
        top, bottom = rgb.getpixel((50, 20)), rgb.getpixel((50, 180))
        assert isinstance(top, tuple)
        assert isinstance(bottom, tuple)
        assert top[0] > 200 > top[2]  # red, the stored left half, is now on top
        assert bottom[2] > 200 > bottom[0]
        assert img.getexif().get(0x0112) is None


def test_heic_is_accepted() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    data = encode(photo(300, 200), "HEIF")
    assert sniff_image_type(data) == "image/heic"
    assert validate_image(data, LIMIT) == ("image/heic", 300, 200)
    prepared = prepare_image(data, max_pixels=LIMIT)
    assert (prepared.content_type, prepared.width, prepared.height) == ("image/jpeg", 300, 200)


def test_webp_is_accepted() -> None:
    data = encode(halves(64, 32), "WEBP", lossless=True)
    assert validate_image(data, LIMIT) == ("image/webp", 64, 32)
    assert prepare_image(data, max_pixels=LIMIT).content_type == "image/png"


@pytest.mark.usefixtures("no_pixel_decoding")
@pytest.mark.parametrize("side", [7_000, 10_000, 30_000])
def test_decompression_bomb_is_refused_before_decoding(side: int) -> None:
    data = png_bomb(side, side)
    assert len(data) < 150_000
    with pytest.raises(PayloadTooLarge, match="the limit is 40 megapixels"):
        validate_image(data, LIMIT)
    with pytest.raises(PayloadTooLarge, match="the limit is 40 megapixels"):
        prepare_image(data, max_pixels=LIMIT)


@pytest.mark.usefixtures("no_pixel_decoding")
def test_bomb_is_refused_when_pillow_only_warns() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(PayloadTooLarge, match="megapixels"):
            validate_image(png_bomb(10_000, 10_000), LIMIT)


def test_image_within_the_limit_decodes() -> None:
    data = png_bomb(3_000, 2_000)
    assert validate_image(data, LIMIT) == ("image/png", 3000, 2000)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_image_is_invalid(fmt: str) -> None:
    data = encode(photo(400, 300), fmt)
    truncated = data[: len(data) * 6 // 10]
    with pytest.raises(InvalidInput, match="the image is truncated or corrupt: "):
        validate_image(truncated, LIMIT)
    with pytest.raises(InvalidInput, match="the image is truncated or corrupt: "):
        prepare_image(truncated, max_pixels=LIMIT)


def test_garbage_after_magic_bytes_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="truncated or corrupt"):
        validate_image(b"\xff\xd8\xff" + os.urandom(2000), LIMIT)


@pytest.mark.parametrize(
    "data", [os.urandom(4096), b"just some text\n", encode(halves(8, 8), "GIF"), b""]
)
def test_other_bytes_are_unsupported(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaType, match="JPEG, PNG, WebP or HEIC"):
        validate_image(data, LIMIT)
    with pytest.raises(UnsupportedMediaType):
        prepare_image(data, max_pixels=LIMIT)


def test_large_photo_is_downscaled_to_jpeg() -> None:
    data = encode(photo(2600, 1950), "JPEG", quality=80)
    prepared = prepare_image(data, max_pixels=LIMIT, max_side=2048)
    assert (prepared.content_type, prepared.width, prepared.height) == ("image/jpeg", 2048, 1536)
    with Image.open(io.BytesIO(prepared.data)) as img:
        assert img.size == (2048, 1536)


def test_small_image_keeps_its_size() -> None:
    prepared = prepare_image(encode(photo(300, 500), "PNG"), max_pixels=LIMIT)
    assert (prepared.content_type, prepared.width, prepared.height) == ("image/jpeg", 300, 500)


def test_text_screenshot_stays_png_and_transparency_becomes_white() -> None:
    img = Image.new("RGBA", (3000, 600), (0, 0, 0, 0))
    img.paste((0, 0, 0, 255), (100, 100, 400, 150))
    prepared = prepare_image(encode(img, "PNG"), max_pixels=LIMIT, max_side=1500)
    assert (prepared.content_type, prepared.width, prepared.height) == ("image/png", 1500, 300)
    with Image.open(io.BytesIO(prepared.data)) as out:
        assert out.mode == "RGB"
        assert out.getpixel((10, 10)) == (255, 255, 255)
        assert out.getpixel((100, 60)) == (0, 0, 0)


def test_sample_paragraph_screenshot_is_kept_as_png() -> None:
    prepared = prepare_image((SAMPLES / "el-book-paragraph.png").read_bytes(), max_pixels=LIMIT)
    assert (prepared.content_type, prepared.width, prepared.height) == ("image/png", 414, 102)


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    img = Image.new("I;16", (10, 10), 0x8000)
    prepared = prepare_image(encode(img, "PNG"), max_pixels=LIMIT)
    with Image.open(io.BytesIO(prepared.data)) as out:
        assert out.mode == "L"
        assert out.getpixel((5, 5)) == 128
