"""Bad uploads get a clear 4xx and leave nothing behind; good images of every kind are taken."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pillow_heif
from PIL import Image

from langproc.runtime import Runtime
from tests.paths import SAMPLES
from tests.steps.test_images import png_bomb

EL = {"language": "el"}


def _stored_blobs(runtime: Runtime) -> list[Path]:
    root = runtime.blobs.root
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_bad_uploads_are_refused_and_leave_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    jpeg = (SAMPLES / "el-book-line.jpg").read_bytes()
    cases = [
        ("photo.jpg", jpeg[: len(jpeg) // 2], 422, "truncated"),
        ("bomb.png", png_bomb(30_000, 30_000), 413, "megapixel"),
        ("empty.jpg", b"", 422, "empty"),
        ("notes.txt", "Ήταν μια φορά".encode("utf-16"), 415, "UTF-8"),
        ("tool.exe", b"MZ\x90\x00" + bytes(200), 415, "JPEG, PNG, WebP or HEIC"),
        ("notes.txt", b"MZ\x90\x00" + bytes(200), 415, "JPEG, PNG, WebP or HEIC"),
    ]
    for name, data, status, words in cases:
        response = await client.post("/api/sourcefiles", files={"file": (name, data)}, data=EL)
        assert response.status_code == status, (name, response.text)
        assert words.lower() in response.json()["detail"].lower(), (name, response.text)
    assert (await client.get("/api/sourcefiles")).json()["items"] == []
    assert _stored_blobs(runtime) == [], "nothing half-created remains"


async def test_every_accepted_image_kind(client: httpx.AsyncClient) -> None:
    picture = Image.new("RGB", (64, 48), "white")
    made = {}
    for fmt in ("PNG", "WEBP", "JPEG"):
        out = io.BytesIO()
        picture.save(out, fmt)
        made[fmt] = out.getvalue()
    heif = pillow_heif.from_pillow(picture)
    out = io.BytesIO()
    heif.save(out, quality=50)
    made["HEIC"] = out.getvalue()
    for fmt, data in made.items():
        name = f"page.{fmt.lower()}"
        response = await client.post("/api/sourcefiles", files={"file": (name, data)}, data=EL)
        assert response.status_code == 202, (fmt, response.text)
        assert response.json()["kind"] == "image"
        image = await client.get(f"/api/sourcefiles/{response.json()['id']}/image")
        assert image.content == data


async def test_an_oversized_upload_is_refused_before_it_is_read(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    limit = runtime.settings.max_upload_bytes
    sent = 0

    async def body() -> object:
        nonlocal sent
        yield (
            b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n"
        )
        chunk = b"x" * 65536
        for _ in range(2 * limit // len(chunk)):
            sent += len(chunk)
            yield chunk

    response = await client.post(
        "/api/sourcefiles",
        content=body(),  # type: ignore[arg-type]
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert response.status_code == 413
    assert "MiB" in response.json()["detail"]
    assert sent < 2 * limit, "the server stopped reading early"
