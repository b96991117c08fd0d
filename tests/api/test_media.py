"""The uploaded image: content type, caching headers, conditional requests and byte ranges."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
import uuid

import httpx
import pytest
from PIL import Image

from langproc.api.ranges import ByteRange, RangeNotSatisfiable, parse_range
from langproc.runtime import Runtime


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


async def _upload(client: httpx.AsyncClient, data: bytes) -> str:
    files = {"file": ("page.png", data, "image/png")}
    response = await client.post("/api/sourcefiles", files=files, data={"language": "el"})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def test_image_is_served_with_its_type_and_immutable_caching(
    client: httpx.AsyncClient,
) -> None:
    data = _png()
    sid = await _upload(client, data)
    response = await client.get(f"/api/sourcefiles/{sid}/image")
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/png"
    assert response.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert response.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert response.headers["accept-ranges"] == "bytes"

    etag = response.headers["etag"]
    for if_none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        cached = await client.get(
            f"/api/sourcefiles/{sid}/image", headers={"If-None-Match": if_none_match}
        )
        assert cached.status_code == 304, if_none_match
        assert cached.content == b""
        assert cached.headers["etag"] == etag
    stale = await client.get(f"/api/sourcefiles/{sid}/image", headers={"If-None-Match": '"x"'})
    assert stale.status_code == 200
    assert stale.content == data


async def test_byte_ranges(client: httpx.AsyncClient) -> None:
    data = _png()
    size = len(data)
    sid = await _upload(client, data)
    url = f"/api/sourcefiles/{sid}/image"
    etag = (await client.get(url)).headers["etag"]
    cases = [
        ("bytes=0-99", 0, 99),
        ("bytes=10-", 10, size - 1),
        ("bytes=-25", size - 25, size - 1),
        ("bytes=5-5", 5, 5),
        (f"bytes=100-{size + 1000}", 100, size - 1),
        (f"bytes=-{size * 2}", 0, size - 1),
    ]
    for header, start, end in cases:
        response = await client.get(url, headers={"Range": header})
        assert response.status_code == 206, header
        assert response.content == data[start : end + 1], header
        assert response.headers["content-range"] == f"bytes {start}-{end}/{size}", header
        assert response.headers["content-length"] == str(end - start + 1)
        assert response.headers["content-type"] == "image/png"

    for header in (f"bytes={size}-", f"bytes={size + 5}-{size + 10}", "bytes=-0"):
        refused = await client.get(url, headers={"Range": header})
        assert refused.status_code == 416, header
        assert refused.headers["content-range"] == f"bytes */{size}"
        assert str(size) in refused.json()["detail"]

    # Ranges we do not serve are ignored, as RFC 9110 allows: the whole image.
    for header in ("bytes=0-1,5-6", "items=0-5", "bytes=9-3", "bytes=x-y", "bytes=-"):
        whole = await client.get(url, headers={"Range": header})
        assert whole.status_code == 200, header
        assert whole.content == data

    matching = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert matching.status_code == 206
    assert matching.content == data[:10]
    changed = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert changed.status_code == 200
    assert changed.content == data


async def test_a_range_or_a_304_reads_only_what_it_sends(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    sid = await _upload(client, _png())
    url = f"/api/sourcefiles/{sid}/image"
    etag = (await client.get(url)).headers["etag"]
    # The stored file becomes 64 MiB (sparse: nothing is written) under the same key.
    size = 64 * 1024 * 1024
    with runtime.blobs.path(etag.strip('"')).open("r+b") as file:
        file.truncate(size)
    tracemalloc.start()
    try:
        head = await client.get(url, headers={"Range": "bytes=0-1023"})
        tail = await client.get(url, headers={"Range": "bytes=-1024"})
        cached = await client.get(url, headers={"If-None-Match": etag})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert head.status_code == 206
    assert head.headers["content-range"] == f"bytes 0-1023/{size}"
    assert len(head.content) == 1024
    assert tail.content == bytes(1024)
    assert cached.status_code == 304
    assert peak < 4 * 1024 * 1024, f"{peak:,} bytes allocated to send 2 KiB"


async def test_no_image_for_text_unknown_or_malformed_ids(client: httpx.AsyncClient) -> None:
    text = await client.post("/api/sourcefiles", json={"text": "Καλημέρα.", "language": "el"})
    sid = text.json()["id"]
    response = await client.get(f"/api/sourcefiles/{sid}/image")
    assert response.status_code == 404
    assert "text" in response.json()["detail"]
    missing = uuid.uuid4()
    response = await client.get(f"/api/sourcefiles/{missing}/image")
    assert response.status_code == 404
    assert str(missing) in response.json()["detail"]
    assert (await client.get("/api/sourcefiles/nope/image")).status_code == 422


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-4", 10, ByteRange(0, 4)),
        ("BYTES=0-4", 10, ByteRange(0, 4)),
        (" bytes=2- ", 10, ByteRange(2, 9)),
        ("bytes=-3", 10, ByteRange(7, 9)),
        ("bytes=-30", 10, ByteRange(0, 9)),
        ("bytes=8-30", 10, ByteRange(8, 9)),
        ("bytes=0-99999999999999999999999999", 10, ByteRange(0, 9)),
        ("bytes=00000000000000000000000003-4", 10, ByteRange(3, 4)),
        ("bytes=4-3", 10, None),
        ("bytes=-", 10, None),
        ("bytes=0-1,3-4", 10, None),
        ("bytes=٣-٤", 10, None),  # digits, but not ASCII ones
        ("pages=1-2", 10, None),
        ("", 10, None),
    ],
)
def test_parse_range(header: str | None, size: int, expected: ByteRange | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [("bytes=10-", 10), ("bytes=10-12", 10), ("bytes=-0", 10), ("bytes=0-", 0), ("bytes=-1", 0)],
)
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, size)


def test_content_range() -> None:
    assert ByteRange(0, 99).content_range(1000) == "bytes 0-99/1000"
