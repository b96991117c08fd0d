"""Crafted and edge-case requests get a clear 4xx, never a 500, and leave nothing behind."""

from __future__ import annotations

import base64
import io
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from PIL import Image

from langproc.runtime import Runtime
from tests.support.engine import Recorder, wait_for_status
from tests.support.waiting import eventually

EL = {"language": "el"}
TEXT = {"text": "Ήταν μια φορά ένας βασιλιάς.", "language": "el"}


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(out, format="PNG")
    return out.getvalue()


def _stored_files(runtime: Runtime) -> set[Path]:
    root = runtime.blobs.root
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def test_a_crafted_list_cursor_is_a_422(client: httpx.AsyncClient) -> None:
    some_id = uuid.uuid4()
    for raw in (
        f"2026-11-28T12:00:00|{some_id}",  # no UTC offset
        f"0001-01-01T00:00:00+14:00|{some_id}",  # before year 1 in UTC
        "2026-11-28T12:00:00+00:00|not-a-uuid",
        "2026-11-28T12:00:00+00:00",
    ):
        response = await client.get("/api/sourcefiles", params={"cursor": _cursor(raw)})
        assert response.status_code == 422, (raw, response.text)
        assert "next_cursor" in response.json()["detail"], raw
    fine = _cursor(f"2026-11-28T12:00:00+05:00|{some_id}")
    assert (await client.get("/api/sourcefiles", params={"cursor": fine})).status_code == 200


async def test_an_upload_over_the_limit_by_less_than_the_envelope_is_413(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    limit = runtime.settings.max_upload_bytes
    for size in (limit + 1, limit + 60 * 1024):
        files = {"file": ("big.txt", b"a" * size)}
        response = await client.post("/api/sourcefiles", files=files, data=EL)
        assert response.status_code == 413, (size, response.text)
        assert "MiB" in response.json()["detail"]
    assert _stored_files(runtime) == set()


async def test_an_oversized_chunked_body_on_retry_is_413(client: httpx.AsyncClient) -> None:
    sid = (await client.post("/api/sourcefiles", json=TEXT)).json()["id"]

    async def body() -> AsyncIterator[bytes]:
        yield b'{"steps": ["a"], "padding": "'
        for _ in range(200):
            yield b"x" * 65536  # 12.5 MiB in all, without a Content-Length
        yield b'"}'

    response = await client.post(
        f"/api/sourcefiles/{sid}/retry",
        content=body(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert "MiB" in response.json()["detail"]


async def test_the_bytes_not_the_name_decide_the_type(client: httpx.AsyncClient) -> None:
    png = _png((200, 10, 10))
    as_text = await client.post("/api/sourcefiles", files={"file": ("page.txt", png)}, data=EL)
    assert as_text.status_code == 202, as_text.text
    assert as_text.json()["kind"] == "image"
    image = await client.get(f"/api/sourcefiles/{as_text.json()['id']}/image")
    assert image.headers["content-type"] == "image/png"

    words = "Ήταν μια φορά.".encode()
    for name in ("photo.jpg", "notes", "notes.md"):
        response = await client.post("/api/sourcefiles", files={"file": (name, words)}, data=EL)
        assert response.status_code == 202, (name, response.text)
        assert response.json()["kind"] == "text"


async def test_error_messages_carry_no_python_reprs(
    client: httpx.AsyncClient, runtime: Runtime, recorder: Recorder
) -> None:
    not_a_png = b"\x89PNG\r\n\x1a\n" + b"garbage" * 20
    response = await client.post("/api/sourcefiles", files={"file": ("p.png", not_a_png)}, data=EL)
    assert response.status_code == 422, response.text
    assert " at 0x" not in response.text, response.text
    assert "<_io" not in response.text, response.text

    def missing_file(_ctx: object) -> None:
        Path("/nonexistent/langproc/blob").read_bytes()

    recorder.behaviour["b"] = missing_file
    sid = (await client.post("/api/sourcefiles", json=TEXT)).json()["id"]
    await wait_for_status(runtime, [uuid.UUID(sid)], {"failed"})
    steps = {s["name"]: s for s in (await client.get(f"/api/sourcefiles/{sid}")).json()["steps"]}
    message = steps["b"]["error"]["message"]
    assert "No such file or directory" in message, message
    assert "FileNotFoundError(" not in message, message
    assert "Errno" not in message, message


async def test_a_repeated_idempotency_key_stores_nothing_of_the_repeat(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    key = {"Idempotency-Key": "upload-1"}
    first = await client.post(
        "/api/sourcefiles", files={"file": ("a.png", _png((1, 2, 3)))}, data=EL, headers=key
    )
    assert first.status_code == 202
    stored = _stored_files(runtime)
    assert len(stored) == 1
    again = await client.post(
        "/api/sourcefiles", files={"file": ("b.png", _png((4, 5, 6)))}, data=EL, headers=key
    )
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == f"/api/sourcefiles/{first.json()['id']}"
    assert _stored_files(runtime) == stored, "the repeat's image was not written"


async def test_cancelling_a_finished_sourcefile_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    sid = (await client.post("/api/sourcefiles", json=TEXT)).json()["id"]
    await wait_for_status(runtime, [uuid.UUID(sid)], {"succeeded"})
    before = (await client.get(f"/api/sourcefiles/{sid}")).json()
    cancelled = await client.post(f"/api/sourcefiles/{sid}/cancel")
    assert cancelled.status_code == 202
    after = (await client.get(f"/api/sourcefiles/{sid}")).json()
    assert after["status"] == "succeeded"
    assert after["updated_at"] == before["updated_at"]


async def test_background_wake_ups_run_on_the_event_loop(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    threads: list[int] = []
    runtime.hub.subscribe(lambda: threads.append(threading.get_ident()))
    sid = (await client.post("/api/sourcefiles", json=TEXT)).json()["id"]
    await client.post(f"/api/sourcefiles/{sid}/cancel")
    await client.post(f"/api/sourcefiles/{sid}/retry")
    await client.delete(f"/api/sourcefiles/{sid}")

    async def four_wake_ups() -> bool:
        return len(threads) >= 4

    await eventually(four_wake_ups)
    assert set(threads) == {threading.get_ident()}, "hub.notify ran off the event loop's thread"
