"""Nothing is lost: kill -9 or SIGTERM in the middle of pipelines, and a new process finishes."""

from __future__ import annotations

import math
import signal

import httpx
import pytest

from tests.support.cluster import Cluster, assert_each_step_finished_once, submit_stories

# Twenty pipelines, twice, on a shared machine: the waits inside give up first.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def expected_calls(cluster: Cluster, server_url: str, ids: list[str]) -> int:
    """The provider calls the finished pipelines needed, had nothing been interrupted."""
    total = 0
    with httpx.Client(base_url=server_url, timeout=10) as http:
        for sid in ids:
            body = http.get(f"/api/sourcefiles/{sid}").json()
            lemmas = len(body["lemmas"])
            total += 1 + 1 + 1  # translate, extract_words, extract_phrases
            total += math.ceil(lemmas / 60) + 1  # describe_lemmas, generate_sentences
            total += math.ceil(len(body["text"]) / 4096) + len(body["sentences"])  # speech
    return total


def test_kill_9_mid_pipeline_loses_nothing(cluster: Cluster) -> None:
    first = cluster.start()
    ids = submit_stories(first, 20)
    cluster.wait_for_steps(running=4, succeeded=20)

    first.kill()
    [(in_flight,)] = cluster.query("SELECT count(*) FROM step_run WHERE status = 'running'")
    calls_before = cluster.llm.stats.total_calls
    second = cluster.start()

    assert cluster.wait_all_done(20) == {"succeeded": 20}
    assert_each_step_finished_once(cluster, ids)
    calls = cluster.llm.stats.total_calls
    expected = expected_calls(cluster, second.url, ids)
    assert in_flight > 0
    figures = f"{calls_before} calls before the kill, {calls} in all, {expected} needed"
    assert calls <= expected + in_flight, f"{figures}, {in_flight} steps in flight"


def test_sigterm_hands_running_steps_back_and_another_process_finishes(cluster: Cluster) -> None:
    first = cluster.start(LANGPROC_SHUTDOWN_GRACE_S="0.2")
    ids = submit_stories(first, 20)
    cluster.wait_for_steps(running=4, succeeded=20)

    # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status names it.
    assert first.terminate() in (0, -signal.SIGTERM)
    assert cluster.query("SELECT count(*) FROM step_run WHERE status = 'running'") == [(0,)]
    released = cluster.query(
        "SELECT count(*) FROM event WHERE type = 'step' AND payload->>'status' = 'pending'"
    )
    assert released[0][0] > 0, "steps still running at the deadline were handed back"

    cluster.start("worker")
    assert cluster.wait_all_done(20) == {"succeeded": 20}
    assert_each_step_finished_once(cluster, ids)
