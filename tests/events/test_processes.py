"""Event streams across real processes on PostgreSQL: a restarted server, events committed by a
separate worker, and a LISTEN connection that is killed or never opens."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.events.sse import Sse, count, read_sync
from tests.support.cluster import Cluster, submit_stories
from tests.support.waiting import wait_until

# Each read has its own deadline (tests/events/sse.py); this one catches anything else.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]
LISTENER = "langproc-serve-listener"
# The server runs no steps, so every event after a sourcefile's first comes from the worker.
NO_STEPS = {"LANGPROC_EXECUTOR": "off"}


def stored(cluster: Cluster, sid: str) -> list[tuple[Any, ...]]:
    return cluster.query(
        "SELECT id, type, payload FROM event WHERE sourcefile_id = %s::uuid ORDER BY id", sid
    )


def listen_url(cluster: Cluster, application_name: str) -> str:
    """The database URL for the LISTEN connection, named so it can be found and killed."""
    url = make_url(cluster.db_url).update_query_dict({"application_name": application_name})
    return url.render_as_string(hide_password=False)


def listener_pids(cluster: Cluster) -> list[int]:
    rows = cluster.query("SELECT pid FROM pg_stat_activity WHERE application_name = %s", LISTENER)
    return [pid for (pid,) in rows]


def stream(url: str, headers: dict[str, str] | None = None) -> Generator[str, None, None]:
    """The lines of an event stream, until the caller stops or the server ends it. Keep-alive
    comments come every 15 s, so a read that takes longer means the server is stuck."""
    timeout = httpx.Timeout(10, read=30)
    with httpx.Client(timeout=timeout) as http, http.stream("GET", url, headers=headers) as r:
        assert r.status_code == 200, r.read()
        yield from r.iter_lines()


def assert_complete(cluster: Cluster, sid: str, received: list[Sse]) -> None:
    assert received[-1].terminal
    assert received[-1].data["status"] == "succeeded"
    assert [e.row() for e in received] == stored(cluster, sid)


def test_reconnect_after_a_server_restart_gets_exactly_the_missing_events(
    cluster: Cluster,
) -> None:
    server = cluster.start()
    cluster.start("worker")
    [sid] = submit_stories(server, 1)
    path = f"/api/sourcefiles/{sid}/events"
    lines = stream(server.url + path)
    first = read_sync(lines, count(3))
    lines.close()
    server.kill()

    # The worker goes on while no server runs: these are the events the client misses.
    last = first[-1].id
    wait_until(lambda: len([row for row in stored(cluster, sid) if row[0] > last]) >= 3)
    restarted = cluster.start()
    rest = read_sync(stream(restarted.url + path, headers={"Last-Event-ID": str(last)}))

    assert_complete(cluster, sid, first + rest)


def test_events_committed_by_a_worker_reach_a_stream_on_the_server(cluster: Cluster) -> None:
    server = cluster.start(**NO_STEPS, LANGPROC_DATABASE_LISTEN_URL=listen_url(cluster, LISTENER))
    [sid] = submit_stories(server, 1)
    lines = stream(f"{server.url}/api/sourcefiles/{sid}/events")
    created = read_sync(lines, count(1))
    cluster.start("worker")
    live = read_sync(lines)

    assert_complete(cluster, sid, created + live)
    assert len(live) > 10


def test_events_still_arrive_and_the_listener_reconnects_after_it_is_killed(
    cluster: Cluster,
) -> None:
    server = cluster.start(**NO_STEPS, LANGPROC_DATABASE_LISTEN_URL=listen_url(cluster, LISTENER))
    cluster.start("worker")
    [old] = wait_until(lambda: listener_pids(cluster))
    [sid] = submit_stories(server, 1)
    lines = stream(f"{server.url}/api/sourcefiles/{sid}/events")
    first = read_sync(lines, count(1))
    assert cluster.query("SELECT pg_terminate_backend(%s)", old) == [(True,)]
    rest = read_sync(lines)

    assert_complete(cluster, sid, first + rest)
    [new] = wait_until(lambda: [pid for pid in listener_pids(cluster) if pid != old])
    assert new != old


def test_events_arrive_by_polling_when_the_server_cannot_listen(cluster: Cluster) -> None:
    nowhere = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
    server = cluster.start(**NO_STEPS, LANGPROC_DATABASE_LISTEN_URL=nowhere)
    cluster.start("worker")
    [sid] = submit_stories(server, 1)
    received = read_sync(stream(f"{server.url}/api/sourcefiles/{sid}/events"))

    # Within read_sync's deadline: without the tail's polling, each event would wait for an
    # idle stream's recheck (RECHECK_S, 30 s).
    assert_complete(cluster, sid, received)
