"""Chaos: provider faults (429 with Retry-After, 500, a hang past the timeout, malformed JSON),
a kill -9 of the server and a restart of PostgreSQL, all in one run. Every sourcefile still
finishes, no result row exists twice, and no file is lost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from langproc.db.migrate import upgrade
from tests.crash.conftest import Cluster, submit_stories
from tests.crash.test_crash_recovery import assert_each_step_finished_once, wait_for_running_steps
from tests.fakes.openai_server import FakeOpenAI, Fault
from tests.paths import SAMPLES
from tests.pgserver import ThrowawayPostgres, throwaway_pg

__all__ = ["throwaway_pg"]
pytestmark = pytest.mark.slow
STORIES = 8
FAULTS = (Fault.RATE_LIMIT, Fault.SERVER_ERROR, Fault.TIMEOUT, Fault.MALFORMED_JSON)


@pytest.fixture
def chaos(throwaway_pg: ThrowawayPostgres, tmp_path: Path) -> Iterator[Cluster]:
    upgrade(throwaway_pg.url)
    llm = FakeOpenAI(latency_ms=100, samples_dir=SAMPLES, seed=7)
    llm.set_transient_failures(0.2, faults=FAULTS, retry_after_s=0.3)
    llm.slow_response_s = 10.0  # the hang: far past the provider timeout below
    llm.start()
    group = Cluster(throwaway_pg.url, tmp_path, llm)
    yield group
    for process in group.processes:
        process.stop()
    llm.stop()


def _wait_for_running(cluster: Cluster, within_s: float = 30.0) -> None:
    deadline = time.monotonic() + within_s
    while cluster.query("SELECT count(*) FROM step_run WHERE status = 'running'")[0][0] == 0:
        if time.monotonic() > deadline:
            raise AssertionError("no step is running")
        time.sleep(0.05)


def test_faults_a_kill_and_a_database_restart_lose_nothing(
    chaos: Cluster, throwaway_pg: ThrowawayPostgres
) -> None:
    env = {"LANGPROC_PROVIDER_TIMEOUT_S": "1", "LANGPROC_MAX_ATTEMPTS": "12"}
    first = chaos.start(**env)
    ids = submit_stories(first, STORIES)
    wait_for_running_steps(chaos, at_least=2)
    first.kill()

    second = chaos.start(**env)
    _wait_for_running(chaos)
    throwaway_pg.restart()

    assert chaos.wait_all_done(STORIES, within_s=50) == {"succeeded": STORIES}
    assert_each_step_finished_once(chaos, ids)
    injected = chaos.llm.stats.faults_injected
    assert set(injected) == {str(f) for f in FAULTS}, injected

    # No result row twice.
    for table, columns in [
        ("word_form", "sourcefile_id, position"),
        ("phrase", "sourcefile_id, position"),
        ("sentence", "sourcefile_id, position"),
        ("audio", "sourcefile_id, sentence_position"),
    ]:
        twice = chaos.query(
            f"SELECT {columns}, count(*) FROM {table} GROUP BY {columns} HAVING count(*) > 1"
        )
        assert twice == [], (table, twice)
    # No file lost: every upload and every piece of audio is still served.
    with httpx.Client(base_url=second.url, timeout=10) as http:
        for sid in ids:
            body = http.get(f"/api/sourcefiles/{sid}").json()
            urls = [body["audio_url"], *(s["audio_url"] for s in body["sentences"])]
            assert all(urls), body["sentences"]
            assert len(urls) > 1, body["sentences"]
            for url in urls:
                audio = http.get(url)
                assert audio.status_code == 200, url
                assert audio.content, url
