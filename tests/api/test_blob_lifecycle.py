"""Stored files under deletes: identical uploads and identical audio share one file, a delete
never unlinks it, and the collector removes only files no row uses, after the safety delay."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import uuid
from datetime import timedelta

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from langproc.api.app import create_app
from langproc.db.base import utcnow
from langproc.db.blobs import collect
from langproc.db.cache import DbResultCache
from langproc.db.models import Blob, Sourcefile, SourcefileKind
from langproc.db.session import session_scope
from langproc.errors import StoredFileGone
from langproc.pipeline.graph import Graph, StepSpec
from langproc.runtime import Runtime
from langproc.sourcefiles.results import store_text_audio
from langproc.sourcefiles.services import NewSourcefile, create_sourcefile
from langproc.steps.context import StepContext
from langproc.steps.models import Audio
from tests.support.engine import MakeRuntime, Recorder, diamond, wait_for_status
from tests.support.service import asgi_client
from tests.support.waiting import eventually

SAME_AUDIO = b"\xff\xf3" + b"the same spoken words" * 100


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


# A small pool: the PostgreSQL server is shared, and queueing on the pool is part of the race
# (one step at a time: the pool keeps 5 connections, see `kept_connections`).
POOL_SIZE = 4
SMALL_POOL = {"database_pool_size": POOL_SIZE, "max_concurrent_steps": 1}


async def test_identical_uploads_racing_deletes_lose_no_image(
    db_url: str, recorder: Recorder, make_runtime: MakeRuntime
) -> None:
    runtime = make_runtime(db_url, graph=diamond(recorder), providers=None, **SMALL_POOL)
    async with asgi_client(create_app(runtime=runtime)) as client:
        await _race_uploads_and_deletes(client, runtime)


async def _race_uploads_and_deletes(client: httpx.AsyncClient, runtime: Runtime) -> None:
    data = _png()
    lost: list[str] = []

    async def upload() -> str:
        files = {"file": ("page.png", data, "image/png")}
        created = await client.post("/api/sourcefiles", files=files, data={"language": "el"})
        assert created.status_code == 202, created.text
        return str(created.json()["id"])

    async def delete(sid: str) -> None:
        assert (await client.delete(f"/api/sourcefiles/{sid}")).status_code == 204

    async def check(sid: str) -> None:
        image = await client.get(f"/api/sourcefiles/{sid}/image")
        if image.status_code != 200 or image.content != data:
            lost.append(sid)

    # Each round deletes the one sourcefile that uses the file while identical uploads arrive.
    alive = await upload()
    for _ in range(6):
        _, uploaded = await asyncio.gather(
            delete(alive), asyncio.gather(*(upload() for _ in range(5)))
        )
        for sid in uploaded:
            await check(sid)
        for sid in uploaded[:-1]:
            await delete(sid)
        alive = uploaded[-1]
    # The deletes' background tasks have run once their responses are out; a sweep at the
    # safety delay still finds the file in use.
    await runtime.collector.collect_once()
    await check(alive)
    assert not lost, f"{len(lost)} of 30 uploads lost their image"

    await delete(alive)
    key = hashlib.sha256(data).hexdigest()
    await runtime.collector.collect_once()
    assert runtime.blobs.path(key).exists(), "not before the safety delay"
    later = utcnow() + timedelta(seconds=runtime.settings.blob_collect_delay_s + 1)
    assert await runtime.collector.collect_once(now=later) == 1
    assert not runtime.blobs.path(key).exists(), "collected once no sourcefile uses it"


class Gate:
    """Lets the first twin's step finish; holds the others between storing their audio and
    their checkpoint until released."""

    def __init__(self) -> None:
        self.stored: list[str] = []
        self.release = asyncio.Event()

    async def speak(self, ctx: StepContext) -> Audio:
        key = await ctx.blobs.store(SAME_AUDIO, ".mp3")
        self.stored.append(key)
        if len(self.stored) > 1:
            await self.release.wait()
        return Audio(blob_key=key, content_type="audio/mpeg", characters=5)


async def test_finished_pipeline_keeps_its_audio_when_its_twin_is_deleted(
    db_url: str, make_runtime: MakeRuntime
) -> None:
    gate = Gate()
    graph = Graph([StepSpec("speak_text", gate.speak, store=store_text_audio)])
    runtime = make_runtime(db_url, graph=graph, **SMALL_POOL)
    async with asgi_client(create_app(runtime=runtime)) as client:

        async def submit() -> uuid.UUID:
            body = {"text": "Καλημέρα.", "language": "el"}
            response = await client.post("/api/sourcefiles", json=body)
            assert response.status_code == 202, response.text
            return uuid.UUID(response.json()["id"])

        async def second_stored() -> bool:
            return len(gate.stored) == 2

        first = await submit()
        assert (await wait_for_status(runtime, [first], {"succeeded"}))[first] == "succeeded"
        second = await submit()
        await eventually(second_stored)
        assert len(set(gate.stored)) == 1, "both twins spoke into the same file"

        assert (await client.delete(f"/api/sourcefiles/{first}")).status_code == 204
        gate.release.set()
        assert (await wait_for_status(runtime, [second], {"succeeded"}))[second] == "succeeded"
        await runtime.collector.collect_once()
        body = (await client.get(f"/api/sourcefiles/{second}")).json()
        audio = await client.get(body["audio_url"])

    assert audio.status_code == 200, audio.text
    assert audio.content == SAME_AUDIO


@pytest.fixture
def bare_runtime(db_url: str, make_runtime: MakeRuntime) -> Runtime:
    """A runtime whose executor and collector are not started: the test sweeps by hand."""
    return make_runtime(db_url, **SMALL_POOL)


async def test_only_unused_files_are_collected_and_only_after_the_delay(
    bare_runtime: Runtime,
) -> None:
    runtime = bare_runtime
    blobs, collector = runtime.blobs, runtime.collector
    delay = timedelta(seconds=runtime.settings.blob_collect_delay_s)
    unused = await blobs.put(b"written by work that was deleted or fenced out", ".mp3")
    uploaded = await blobs.put(b"an uploaded page", ".png")
    cached = await blobs.put(b"cached speech", ".mp3")
    async with session_scope(runtime.sessions) as session:
        new = NewSourcefile(
            owner="u1",
            language="el",
            native_language="en",
            kind=SourcefileKind.IMAGE,
            title=None,
            blob_key=uploaded,
            content_type="image/png",
        )
        await create_sourcefile(session, runtime.graph, new)
    await DbResultCache(runtime.sessions).put("k" * 64, b"{}", blob_key=cached)
    # A file from before the registry (no row) and an abandoned temporary file, both old...
    orphan = blobs.path("ab" + "0" * 62 + ".wav")
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"old")
    abandoned = blobs.temp_path()
    abandoned.write_bytes(b"half written")
    long_ago = (utcnow() - 2 * delay).timestamp()
    for path in (orphan, abandoned):
        os.utime(path, (long_ago, long_ago))
    # ...and an orphan written just now, which may be a writer's that is about to register it.
    fresh = blobs.path("cd" + "0" * 62)
    fresh.parent.mkdir(parents=True, exist_ok=True)
    fresh.write_bytes(b"new")

    now = utcnow()
    assert await collector.collect_once(now=now + delay - timedelta(seconds=5)) == 1
    assert blobs.path(unused).exists(), "not before the safety delay"
    assert not orphan.exists()
    assert not abandoned.exists()
    assert fresh.exists()

    assert await collector.collect_once(now=now + delay + timedelta(seconds=5)) == 2
    assert not blobs.path(unused).exists()
    assert not fresh.exists()
    assert blobs.path(uploaded).exists(), "in use by a sourcefile"
    assert blobs.path(cached).exists(), "in use by a cache entry"
    async with runtime.sessions() as session:
        rows = set((await session.execute(select(Blob.key))).scalars())
    assert rows == {uploaded, cached}


async def test_a_row_never_names_a_collected_file(bare_runtime: Runtime) -> None:
    """With no safety delay at all, a collector racing writers may refuse a reference
    (`StoredFileGone`), but every committed row still finds its file."""
    runtime = bare_runtime
    blobs = runtime.blobs
    stop = asyncio.Event()
    refused = 0

    async def sweep() -> None:
        while not stop.is_set():
            # A few hundred milliseconds of delay (production refuses less than a step's
            # timeout): a writer's touch and the sweep's cutoff come from different clocks.
            await collect(runtime.sessions, blobs, cutoff=utcnow() - timedelta(seconds=0.3))
            await asyncio.sleep(0)

    async def write(index: int) -> None:
        nonlocal refused
        key = await blobs.put(f"page {index}".encode(), ".png")
        try:
            async with session_scope(runtime.sessions) as session:
                new = NewSourcefile(
                    owner="u1",
                    language="el",
                    native_language="en",
                    kind=SourcefileKind.IMAGE,
                    title=str(index),
                    blob_key=key,
                    content_type="image/png",
                )
                sourcefile = await create_sourcefile(session, runtime.graph, new)
        except StoredFileGone:
            refused += 1
            return
        if index % 2:
            async with session_scope(runtime.sessions) as session:
                await session.delete(await session.get(Sourcefile, sourcefile.id))

    sweeper = asyncio.create_task(sweep())
    try:
        for start in range(0, 60, 10):
            await asyncio.gather(*(write(i) for i in range(start, start + 10)))
    finally:
        stop.set()
        await sweeper
    async with runtime.sessions() as session:
        keys = (await session.execute(select(Sourcefile.blob_key))).scalars().all()
    assert keys, f"every one of 60 writes was refused ({refused})"
    missing = [key for key in keys if key is None or not blobs.path(key).exists()]
    assert not missing, f"{len(missing)} sourcefiles name a collected file"
