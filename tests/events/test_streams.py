"""Event streams over HTTP: replay after Last-Event-ID, live delivery, where a sourcefile's stream
ends, keep-alive comments, and bad input."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from langproc.api.routes import events as events_routes
from langproc.db.session import session_scope
from langproc.errors import PermanentError
from langproc.events import stream
from langproc.events.payloads import SourcefileEventPayload
from langproc.events.publish import NewEvent, publish
from langproc.events.stream import EventFeed, Tail, open_streams
from langproc.runtime import Runtime
from langproc.steps.context import StepContext
from tests.events.sse import Sse, SseParser, Until, count, read_async
from tests.support.engine import Recorder, events_of, wait_for_status
from tests.support.served import Served, without_polling
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(60)
TEXT = {"text": "Ήταν μια φορά ένας βασιλιάς.", "language": "el"}
Row = tuple[int, str, dict[str, Any]]


async def create(http: httpx.AsyncClient) -> str:
    response = await http.post("/api/sourcefiles", json=TEXT)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def stored(runtime: Runtime, sid: str) -> list[Row]:
    return [(e.id, e.type, e.payload) for e in await events_of(runtime, uuid.UUID(sid))]


async def read(
    http: httpx.AsyncClient,
    path: str,
    until: Until | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
) -> list[Sse]:
    """The events of one connection: until `until` holds (then disconnect) or the stream ends."""
    async with http.stream("GET", path, headers=headers, params=params) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return await read_async(response.aiter_lines(), until)


def streams_back_to(level: int) -> Any:
    async def check() -> bool:
        return open_streams() == level

    return check


@pytest.mark.parametrize("resume", ["header", "query"])
async def test_reconnect_with_last_event_id_gets_every_later_event_once(
    http: httpx.AsyncClient, served: Served, recorder: Recorder, resume: str
) -> None:
    recorder.delay_s = 0.3
    before = open_streams()
    sid = await create(http)
    path = f"/api/sourcefiles/{sid}/events"
    first = await read(http, path, until=count(3))

    async def missed_some() -> bool:
        return len(await stored(served.runtime, sid)) >= len(first) + 2

    await eventually(missed_some)
    last = str(first[-1].id)
    if resume == "header":
        rest = await read(http, path, headers={"Last-Event-ID": last})
    else:
        rest = await read(http, path, params={"last_event_id": last})

    assert rest[-1].terminal
    assert rest[-1].data["status"] == "succeeded"
    assert [e.row() for e in first + rest] == await stored(served.runtime, sid)
    await eventually(streams_back_to(before))


async def test_header_wins_over_the_query_parameter(
    http: httpx.AsyncClient, served: Served
) -> None:
    sid = await create(http)
    await wait_for_status(served.runtime, [uuid.UUID(sid)], {"succeeded"})
    rows = await stored(served.runtime, sid)
    path = f"/api/sourcefiles/{sid}/events"
    headers = {"Last-Event-ID": str(rows[-3][0])}
    rest = await read(http, path, headers=headers, params={"last_event_id": rows[0][0]})
    assert [e.row() for e in rest] == rows[-2:]


async def test_live_events_arrive_as_they_are_committed(
    http: httpx.AsyncClient, served: Served, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With polling off, the stream can end within its deadline only if each commit woke it.
    without_polling(served.runtime, monkeypatch)
    recorder.delay_s = 0.3
    sid = await create(http)
    received = await read(http, f"/api/sourcefiles/{sid}/events")
    assert received[-1].terminal
    assert [e.row() for e in received] == await stored(served.runtime, sid)


async def test_streams_of_all_events_and_of_each_sourcefile_side_by_side(
    http: httpx.AsyncClient, served: Served
) -> None:
    ids = [await create(http), await create(http)]

    def both_done(events: list[Sse]) -> bool:
        return {e.data["sourcefile_id"] for e in events if e.terminal} == set(ids)

    every, *each = await asyncio.gather(
        read(http, "/api/events", until=both_done),
        *(read(http, f"/api/sourcefiles/{sid}/events") for sid in ids),
    )
    rows = [await stored(served.runtime, sid) for sid in ids]
    assert [[e.row() for e in events] for events in each] == rows
    assert [e.row() for e in every] == sorted(rows[0] + rows[1], key=lambda r: r[0])


async def test_a_stream_sees_only_its_owners_events(
    http: httpx.AsyncClient, served: Served
) -> None:
    runtime = served.runtime
    feed = EventFeed(runtime.sessions, Tail(runtime.sessions, runtime.hub))
    theirs = feed.stream("intruder", None, 0)
    first = asyncio.create_task(anext(theirs))
    sid = await create(http)
    await wait_for_status(runtime, [uuid.UUID(sid)], {"succeeded"})
    # The local user's events went by; the intruder's own event is the first it gets.
    async with session_scope(runtime.sessions) as session:
        payload: SourcefileEventPayload = {
            "status": "queued",
            "progress": {"completed": 0, "total": 1},
        }
        await publish(session, [NewEvent(uuid.uuid4(), "intruder", "sourcefile", payload)])
    runtime.hub.notify()
    async with asyncio.timeout(5):
        event = await first
    await theirs.aclose()
    assert event.owner == "intruder"
    assert event.id > max(row[0] for row in await stored(runtime, sid))
    # A sourcefile's stream for another owner is empty and ends at once.
    async with asyncio.timeout(5):
        assert [e async for e in feed.stream("intruder", uuid.UUID(sid), 0)] == []


async def test_a_retried_sourcefile_streams_past_its_first_terminal_event(
    http: httpx.AsyncClient, served: Served, recorder: Recorder
) -> None:
    def fail(_ctx: StepContext) -> None:
        raise PermanentError("d cannot be done")

    recorder.behaviour["d"] = fail
    sid = await create(http)
    await wait_for_status(served.runtime, [uuid.UUID(sid)], {"failed"})
    path = f"/api/sourcefiles/{sid}/events"

    failed = await read(http, path)
    assert failed[-1].terminal
    assert failed[-1].data["status"] == "failed"
    assert [e.row() for e in failed] == await stored(served.runtime, sid)
    # A client that already has the terminal event gets an empty stream that ends at once.
    assert await read(http, path, headers={"Last-Event-ID": str(failed[-1].id)}) == []

    recorder.behaviour.clear()
    assert (await http.post(f"/api/sourcefiles/{sid}/retry")).status_code == 202
    everything = await read(http, path)
    assert everything[-1].data["status"] == "succeeded"
    assert [e.row() for e in everything] == await stored(served.runtime, sid)
    assert failed[-1].row() in [e.row() for e in everything[:-1]]


async def test_keep_alive_comments_are_sent(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_routes, "KEEPALIVE_S", 0.1)
    parser = SseParser()
    async with asyncio.timeout(5), http.stream("GET", "/api/events") as response:
        async for line in response.aiter_lines():
            parser.feed(line)
            if parser.comments == 3:
                break
    # The stream of all events never ends: it must still be open after three comments.
    assert parser.comments == 3, "the stream ended instead of sending keep-alive comments"


async def test_an_open_stream_holds_no_connection_and_ends_when_deleted(
    http: httpx.AsyncClient, served: Served, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "RECHECK_S", 0.2)
    recorder.delay_s = 30
    before = open_streams()
    sid = await create(http)
    async with http.stream("GET", f"/api/sourcefiles/{sid}/events") as response:
        lines = response.aiter_lines()
        assert await read_async(lines, count(1), within_s=10)

        async def no_connection_held() -> bool:
            return served.runtime.db.pool.checkedout() == 0

        # An open stream holds no connection (neither the request's session nor its own).
        await eventually(no_connection_held)
        assert (await http.delete(f"/api/sourcefiles/{sid}")).status_code == 204
        await read_async(lines, within_s=5)
    await eventually(streams_back_to(before))


async def test_bad_input_is_refused_before_streaming(http: httpx.AsyncClient) -> None:
    unknown = uuid.uuid4()
    response = await http.get(f"/api/sourcefiles/{unknown}/events")
    assert response.status_code == 404
    assert str(unknown) in response.json()["detail"]
    assert (await http.get("/api/sourcefiles/not-a-uuid/events")).status_code == 422

    sid = await create(http)
    for path in (f"/api/sourcefiles/{sid}/events", "/api/events"):
        for bad in ("abc", "-1", "1.5", str(2**63), ""):
            response = await http.get(path, headers={"Last-Event-ID": bad})
            assert response.status_code == 422, (path, bad, response.text)
            assert response.json()["detail"][0]["loc"] == ["header", "Last-Event-ID"]
            response = await http.get(path, params={"last_event_id": bad})
            assert response.status_code == 422, (path, bad, response.text)
            assert response.json()["detail"][0]["loc"] == ["query", "last_event_id"]


async def test_openapi_documents_the_streams(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/openapi.json")).json()["paths"]
    one = paths["/api/sourcefiles/{sourcefile_id}/events"]["get"]
    every = paths["/api/events"]["get"]
    assert one["operationId"] == "stream_sourcefile_events"
    assert every["operationId"] == "stream_events"
    for operation in (one, every):
        assert operation["summary"]
        assert list(operation["responses"]["200"]["content"]) == ["text/event-stream"]
        assert {"401", "422"} <= set(operation["responses"])
        names = {p["name"] for p in operation["parameters"]}
        assert {"Last-Event-ID", "last_event_id"} <= names
    assert "404" in one["responses"]
