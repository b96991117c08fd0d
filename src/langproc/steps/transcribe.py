"""transcribe: the page's text, normalised; for text uploads, the uploaded text (skipped)."""

from __future__ import annotations

from functools import partial

from langproc.errors import PermanentError, StepSkipped
from langproc.steps.context import StepContext
from langproc.steps.images import prepare_image
from langproc.steps.models import Text
from langproc.text.normalize import normalize_text

# Uploads were checked against the configured pixel limit; this only guards against bugs.
_SAFETY_MAX_PIXELS = 200_000_000


async def transcribe(ctx: StepContext) -> Text:
    if ctx.source.kind == "text":
        uploaded = Text(text=normalize_text(ctx.source.text or ""))
        raise StepSkipped("a text upload needs no transcription", output=uploaded)
    transcriber = ctx.providers.transcriber
    if transcriber is None:
        raise StepSkipped("no OCR or vision provider is configured")
    prepare = partial(prepare_image, max_pixels=_SAFETY_MAX_PIXELS)
    image = await ctx.run_blocking(prepare, await ctx.blobs.read_source())
    raw = await transcriber.transcribe(image.data, image.content_type, ctx.source.language)
    text = normalize_text(raw)
    if not text:
        raise PermanentError(
            "no text was found on the image: upload a sharper, upright photo of the page"
        )
    return Text(text=text)
