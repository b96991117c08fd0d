"""Uploaded page images: type sniffing, validation, and preparation for OCR or vision models.

Every function here blocks (decoding pixels); callers run them in the thread pool.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

from langproc.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType, describe

ACCEPTED: Final = "JPEG, PNG, WebP or HEIC images"
# Content type -> the Pillow format allowed to open it (never let Pillow guess among all).
_PILLOW_FORMATS: Final = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/heic": "HEIF",
}
_HEIC_BRANDS: Final = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm"})
# Up to this many distinct colours an image is a screenshot or scan of text: PNG keeps its
# edges crisp at a modest size. Photos have far more colours and go to JPEG.
_PNG_MAX_COLOURS: Final = 4096
_JPEG_QUALITY: Final = 90
# Errors Pillow and its plugins raise for bytes that are not a decodable image.
_DECODE_ERRORS: Final = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError)


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    content_type: str
    width: int
    height: int


def sniff_image_type(data: bytes) -> str | None:
    """The content type of an accepted image format, from its magic bytes; None otherwise."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        box_end = min(int.from_bytes(data[:4], "big"), len(data))
        brands = {data[8:12]} | {data[i : i + 4] for i in range(16, box_end - 3, 4)}
        if brands & _HEIC_BRANDS:
            return "image/heic"
    return None


def validate_image(data: bytes, max_pixels: int) -> tuple[str, int, int]:
    """Check an upload decodes fully as an accepted image; its content type and upright size."""
    content_type, img = _open(data, max_pixels)
    with img:
        width, height = img.size
        if content_type == "image/jpeg":
            # Decoding at 1/8 scale still reads every byte of the scan, at 1/64 of the memory.
            img.draft(img.mode, (max(width // 8, 1), max(height // 8, 1)))
        _load(img)
        if img.getexif().get(_ORIENTATION, 1) in _QUARTER_TURNS:
            width, height = height, width
    return content_type, width, height


def prepare_image(data: bytes, *, max_pixels: int, max_side: int = 2048) -> PreparedImage:
    """The image upright, at most `max_side` pixels long, re-encoded without metadata.

    Transparency is flattened onto white. Images with few colours (screenshots, scans) become
    PNG, others JPEG; EXIF, GPS position included, is not carried over.
    """
    content_type, img = _open(data, max_pixels)
    with img:
        width, height = img.size
        scale = min(1.0, max_side / max(width, height))
        if content_type == "image/jpeg" and scale < 1.0:
            # Let libjpeg decode at a reduced scale (never below the target size).
            img.draft(img.mode, (int(width * scale) + 1, int(height * scale) + 1))
        _load(img)
        try:
            upright = ImageOps.exif_transpose(img)
        except _DECODE_ERRORS:  # unreadable EXIF: keep the image as stored
            upright = img.copy()
    flat = _flatten(upright)
    if max(flat.size) > max_side:
        flat.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if flat.getcolors(_PNG_MAX_COLOURS) is not None:
        flat.save(out, format="PNG", optimize=True)
        content_type = "image/png"
    else:
        flat.save(out, format="JPEG", quality=_JPEG_QUALITY, optimize=True)
        content_type = "image/jpeg"
    return PreparedImage(out.getvalue(), content_type, flat.width, flat.height)


_ORIENTATION: Final = 0x0112
_QUARTER_TURNS: Final = frozenset({5, 6, 7, 8})


@cache
def _register_heif() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()


def _open(data: bytes, max_pixels: int) -> tuple[str, Image.Image]:
    """Open by the sniffed type and check the size in the header, before any pixel is decoded."""
    content_type = sniff_image_type(data)
    if content_type is None:
        raise UnsupportedMediaType(f"this file is not a supported image: send {ACCEPTED}")
    if content_type == "image/heic":
        _register_heif()
    limit = f"the limit is {max_pixels / 1e6:g} megapixels"
    try:
        img = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[content_type]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard (far above ours) fired while reading the header.
        raise PayloadTooLarge(f"the image has too many pixels ({describe(exc)}); {limit}") from exc
    except _DECODE_ERRORS as exc:
        raise InvalidInput(f"the image is truncated or corrupt: {describe(exc)}") from exc
    width, height = img.size
    if width * height > max_pixels:
        img.close()
        raise PayloadTooLarge(
            f"the image is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"{limit}: send a smaller photo"
        )
    if width < 1 or height < 1:
        img.close()
        raise InvalidInput("the image is truncated or corrupt: it has no pixels")
    return content_type, img


def _load(img: Image.Image) -> None:
    try:
        img.load()
    except (Image.DecompressionBombError, *_DECODE_ERRORS) as exc:
        raise InvalidInput(f"the image is truncated or corrupt: {describe(exc)}") from exc


def _flatten(img: Image.Image) -> Image.Image:
    """RGB or greyscale, with any transparency composited onto white."""
    if img.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or "transparency" in img.info:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        white.alpha_composite(rgba)
        return white.convert("RGB")
    if img.mode in {"L", "RGB"}:
        return img
    if img.mode.startswith("I"):  # 16-bit greyscale: scale to 8 bits rather than clip
        return img.convert("I").point(lambda value: value / 256).convert("L")
    if img.mode in {"1", "F"}:
        return img.convert("L")
    return img.convert("RGB")
