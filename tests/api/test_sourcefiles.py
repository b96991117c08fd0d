"""The sourcefile routes: create, read, list, retry, cancel, delete, and their bad input."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest
from sqlalchemy import func, select

from langproc.api.app import create_app
from langproc.db.models import Event
from langproc.runtime import Runtime
from langproc.settings import ExecutorPlacement
from tests.support.engine import Recorder, steps_of, wait_for_status
from tests.support.service import asgi_client
from tests.support.waiting import eventually


def _running(runtime: Runtime, sid: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await steps_of(runtime, uuid.UUID(sid)))["a"].status == "running"

    return check


TEXT = {"text": "Ήταν μια φορά ένας βασιλιάς.", "language": "el"}


async def test_create_answers_202_with_location_and_runs_in_background(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    started = time.monotonic()
    response = await client.post("/api/sourcefiles", json={**TEXT, "title": "Ο βασιλιάς"})
    assert time.monotonic() - started < 1.0
    assert response.status_code == 202
    body = response.json()
    assert response.headers["location"] == f"/api/sourcefiles/{body['id']}"
    assert body["status"] == "queued"
    assert body["language"] == "el"
    assert body["native_language"] == "en"
    assert body["kind"] == "text"
    assert body["progress"] == {"completed": 0, "total": 4}
    assert [s["name"] for s in body["steps"]] == ["a", "b", "c", "d"]

    sid = uuid.UUID(body["id"])
    assert (await wait_for_status(runtime, [sid], {"succeeded"}))[sid] == "succeeded"
    done = (await client.get(f"/api/sourcefiles/{sid}")).json()
    assert done["status"] == "succeeded"
    assert done["progress"] == {"completed": 4, "total": 4}
    assert all(s["attempts"] == 1 and s["finished_at"] for s in done["steps"])


@pytest.mark.parametrize("form", [False, True], ids=["json", "multipart"])
async def test_the_upload_answer_is_the_sourcefile_as_a_read_shows_it(
    runtime: Runtime, form: bool
) -> None:
    # The answer is built from what the upload inserted; a read of the rows must agree with it.
    async with asgi_client(create_app(runtime=runtime, executor=ExecutorPlacement.OFF)) as http:
        if form:
            files = {"file": ("story.txt", b"Il \xc3\xa9tait une fois.", "text/plain")}
            posted = await http.post("/api/sourcefiles", files=files, data={"language": "fr"})
        else:
            posted = await http.post("/api/sourcefiles", json={**TEXT, "level": "A2"})
        assert posted.status_code == 202, posted.text
        read = await http.get(posted.headers["location"])
    assert read.status_code == 200
    assert posted.json() == read.json()
    assert {s["status"] for s in posted.json()["steps"]} == {"pending"}


async def test_multipart_text_file_is_accepted(client: httpx.AsyncClient) -> None:
    files = {"file": ("story.txt", "Il était une fois.".encode(), "text/plain")}
    response = await client.post("/api/sourcefiles", files=files, data={"language": "fr"})
    assert response.status_code == 202, response.text
    assert response.json()["kind"] == "text"
    assert response.json()["title"] == "story.txt"


async def test_bad_input_gets_a_clear_4xx(client: httpx.AsyncClient) -> None:
    el = {"language": "el"}
    exe = ("x.exe", b"MZ\x90\x00\x03\x00", "application/octet-stream")
    cases: list[tuple[dict[str, object], int, str]] = [
        ({"json": {"text": "hello"}}, 422, "language"),
        ({"json": {**TEXT, "language": "xx"}}, 422, "not supported"),
        ({"json": {**TEXT, "native_language": "klingon"}}, 422, "native_language"),
        ({"json": {**TEXT, "text": "   "}}, 422, "empty"),
        ({"json": {**TEXT, "text": 42}}, 422, "text"),
        ({"json": {**TEXT, "extra": 1}}, 422, "extra"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "JSON"),
        ({"content": b"text=hi", "headers": {"content-type": "text/plain"}}, 415, "JSON"),
        ({"files": {"file": ("a.txt", b"", "text/plain")}, "data": el}, 422, "empty"),
        ({"files": {"file": ("a.txt", b"\xff\xfe\xfa", "text/plain")}, "data": el}, 415, "UTF-8"),
        ({"files": {"file": ("a.txt", b"hello", "text/plain")}, "data": {}}, 422, "language"),
        ({"data": el, "files": {"other": ("a.txt", b"x", "text/plain")}}, 422, "file"),
        ({"files": {"file": exe}, "data": el}, 415, "supported"),
    ]  # fmt: skip
    for kwargs, status, words in cases:
        response = await client.post("/api/sourcefiles", **kwargs)  # type: ignore[arg-type]
        assert response.status_code == status, (kwargs, response.text)
        assert words.lower() in str(response.json()["detail"]).lower(), (kwargs, response.text)
    listing = (await client.get("/api/sourcefiles")).json()
    assert listing["items"] == [], "nothing half-created remains"


async def test_unknown_or_malformed_ids_are_404_or_422(client: httpx.AsyncClient) -> None:
    missing = uuid.uuid4()
    for method, path in [
        ("GET", f"/api/sourcefiles/{missing}"),
        ("POST", f"/api/sourcefiles/{missing}/retry"),
        ("POST", f"/api/sourcefiles/{missing}/cancel"),
        ("DELETE", f"/api/sourcefiles/{missing}"),
    ]:
        response = await client.request(method, path)
        assert response.status_code == 404, (method, path)
        assert str(missing) in response.json()["detail"]
    assert (await client.get("/api/sourcefiles/not-a-uuid")).status_code == 422


async def test_list_is_newest_first_with_cursor_and_status_filter(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await runtime.executor.stop(0)  # keep everything queued
    ids = [(await client.post("/api/sourcefiles", json=TEXT)).json()["id"] for _ in range(5)]
    first = (await client.get("/api/sourcefiles", params={"limit": 2})).json()
    assert [i["id"] for i in first["items"]] == ids[::-1][:2]
    second = (
        await client.get("/api/sourcefiles", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [i["id"] for i in second["items"]] == ids[::-1][2:4]
    third = (
        await client.get("/api/sourcefiles", params={"limit": 2, "cursor": second["next_cursor"]})
    ).json()
    assert [i["id"] for i in third["items"]] == ids[:1]
    assert third["next_cursor"] is None
    queued = (await client.get("/api/sourcefiles", params={"status": "queued"})).json()
    assert len(queued["items"]) == 5
    failed = (await client.get("/api/sourcefiles", params={"status": "failed"})).json()
    assert failed["items"] == []
    for params in ({"status": "bogus"}, {"limit": 0}, {"limit": "x"}, {"cursor": "%%%"}):
        response = await client.get("/api/sourcefiles", params=params)
        assert response.status_code == 422, params


async def test_cancel_interrupts_a_running_step(
    client: httpx.AsyncClient, runtime: Runtime, recorder: Recorder
) -> None:
    recorder.delay_s = 30
    sid = (await client.post("/api/sourcefiles", json=TEXT)).json()["id"]
    await eventually(_running(runtime, sid))
    response = await client.post(f"/api/sourcefiles/{sid}/cancel")
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"

    async def interrupted() -> bool:
        return not runtime.executor.running

    # Long before the 30 s step would have ended by itself.
    await eventually(interrupted, within_s=10)
    steps = {
        s["name"]: s["status"]
        for s in (await client.get(f"/api/sourcefiles/{sid}")).json()["steps"]
    }
    assert steps == dict.fromkeys("abcd", "cancelled")


async def test_retry_rules(client: httpx.AsyncClient, runtime: Runtime, recorder: Recorder) -> None:
    recorder.delay_s = 30
    sid = (await client.post("/api/sourcefiles", json=TEXT)).json()["id"]
    await eventually(_running(runtime, sid))
    response = await client.post(f"/api/sourcefiles/{sid}/retry", json={"steps": ["a"]})
    assert response.status_code == 409
    assert "running" in response.json()["detail"]
    response = await client.post(f"/api/sourcefiles/{sid}/retry", json={"steps": ["nope"]})
    assert response.status_code == 422
    assert "nope" in response.json()["detail"]
    response = await client.post(f"/api/sourcefiles/{sid}/retry", json={"steps": "a"})
    assert response.status_code == 422
    response = await client.post(f"/api/sourcefiles/{sid}/retry")
    assert response.status_code == 409, "nothing failed yet"

    await client.post(f"/api/sourcefiles/{sid}/cancel")
    recorder.delay_s = 0.01
    response = await client.post(f"/api/sourcefiles/{sid}/retry")
    assert response.status_code == 202
    assert (await wait_for_status(runtime, [uuid.UUID(sid)], {"succeeded"}))[
        uuid.UUID(sid)
    ] == "succeeded"


async def test_delete_removes_everything(client: httpx.AsyncClient, runtime: Runtime) -> None:
    sid = (await client.post("/api/sourcefiles", json=TEXT)).json()["id"]
    assert (await client.delete(f"/api/sourcefiles/{sid}")).status_code == 204
    assert (await client.get(f"/api/sourcefiles/{sid}")).status_code == 404
    assert await steps_of(runtime, uuid.UUID(sid)) == {}
    assert (await client.delete(f"/api/sourcefiles/{sid}")).status_code == 404


async def test_idempotency_key_returns_the_first_sourcefile(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "upload-1"}
    first = await client.post("/api/sourcefiles", json=TEXT, headers=headers)
    second = await client.post("/api/sourcefiles", json=TEXT, headers=headers)
    assert first.json()["id"] == second.json()["id"]
    assert len((await client.get("/api/sourcefiles")).json()["items"]) == 1


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_event_ids_are_never_reused_after_a_delete(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await runtime.executor.stop(0)
    await client.post("/api/sourcefiles", json=TEXT)
    newest = (await client.post("/api/sourcefiles", json=TEXT)).json()["id"]
    last = (await client.get("/api/sourcefiles")).json()["last_event_id"]
    assert (await client.delete(f"/api/sourcefiles/{newest}")).status_code == 204
    again = (await client.post("/api/sourcefiles", json=TEXT)).json()["id"]
    async with runtime.sessions() as session:
        first_id = await session.scalar(
            select(func.min(Event.id)).where(Event.sourcefile_id == uuid.UUID(again))
        )
    assert first_id is not None
    assert first_id > last, "a client resuming after `last` gets the new events"
