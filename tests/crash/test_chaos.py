"""Chaos: provider faults (429 with Retry-After, 500, a hang past the timeout, malformed JSON),
a kill -9 of the server and a restart of PostgreSQL, all in one run. Every sourcefile still
finishes, no result row exists twice, and no file is lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from langproc.db.migrate import upgrade
from tests.fakes.openai_server import FakeOpenAI, Fault
from tests.paths import SAMPLES
from tests.pgserver import ThrowawayPostgres
from tests.support.cluster import Cluster, assert_each_step_finished_once, submit_stories

pytestmark = pytest.mark.slow
STORIES = 8
FAULTS = (Fault.RATE_LIMIT, Fault.SERVER_ERROR, Fault.TIMEOUT, Fault.MALFORMED_JSON)


@pytest.fixture
def chaos(throwaway_pg: ThrowawayPostgres, tmp_path: Path) -> Iterator[Cluster]:
    upgrade(throwaway_pg.url)
    llm = FakeOpenAI(latency_ms=100, samples_dir=SAMPLES, seed=7)
    llm.set_transient_failures(0.2, faults=FAULTS, retry_after_s=0.3)
    llm.slow_response_s = 10.0  # the hang: far past the provider timeout below
    with llm:
        group = Cluster(throwaway_pg.url, tmp_path, llm)
        yield group
        group.stop()


def test_faults_a_kill_and_a_database_restart_lose_nothing(
    chaos: Cluster, throwaway_pg: ThrowawayPostgres
) -> None:
    env = {"LANGPROC_PROVIDER_TIMEOUT_S": "1", "LANGPROC_MAX_ATTEMPTS": "12"}
    first = chaos.start(**env)
    ids = submit_stories(first, STORIES)
    chaos.wait_for_steps(running=2, succeeded=20)
    first.kill()

    second = chaos.start(**env)
    chaos.wait_for_steps(running=1)
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
