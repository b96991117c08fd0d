"""`langproc serve` on PostgreSQL runs its executor in a child `langproc worker`: the child does
the steps, is started again when it dies, and never outlives serve."""

from __future__ import annotations

import os
import signal

import httpx
import pytest

from tests.processes import LangprocProcess
from tests.support.cluster import Cluster, assert_each_step_finished_once, submit_stories
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def the_child(serve: LangprocProcess) -> int:
    """serve's one executor process, once it is there."""
    children = wait_until(serve.children, 20, failure=lambda: serve.log.read_text())
    assert len(children) == 1, children
    return children[0]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def owners(cluster: Cluster) -> set[int]:
    """The pids of the processes that ran the finished steps (from their lease owner)."""
    rows = cluster.query("SELECT DISTINCT lease_owner FROM step_run WHERE status = 'succeeded'")
    return {int(owner.rsplit("-", 2)[1]) for (owner,) in rows}


def test_the_child_runs_the_steps_not_serve(cluster: Cluster) -> None:
    serve = cluster.start()
    child = the_child(serve)

    ids = submit_stories(serve, 3)

    assert cluster.wait_all_done(3) == {"succeeded": 3}
    assert_each_step_finished_once(cluster, ids)
    assert owners(cluster) == {child}


def test_inline_placement_runs_the_steps_in_serve(cluster: Cluster) -> None:
    serve = cluster.start(LANGPROC_EXECUTOR="inline")

    submit_stories(serve, 1)

    assert cluster.wait_all_done(1) == {"succeeded": 1}
    assert serve.children() == []
    assert owners(cluster) == {serve.process.pid}


def test_a_killed_child_is_started_again_and_finishes_the_work(cluster: Cluster) -> None:
    serve = cluster.start()
    first = the_child(serve)
    ids = submit_stories(serve, 5)
    cluster.wait_for_steps(running=2, succeeded=1)

    os.kill(first, signal.SIGKILL)
    second = wait_until(lambda: [pid for pid in serve.children() if pid != first], 20)

    assert cluster.wait_all_done(5) == {"succeeded": 5}
    assert_each_step_finished_once(cluster, ids)
    assert second[0] in owners(cluster)
    assert "exited with code -9; starting it again" in serve.log.read_text()
    scraped = httpx.get(f"{serve.url}/metrics", timeout=10).text
    assert "langproc_executor_process_exits_total 1.0" in scraped


def test_the_child_stops_when_serve_is_killed(cluster: Cluster) -> None:
    serve = cluster.start()
    child = the_child(serve)
    submit_stories(serve, 5)
    cluster.wait_for_steps(running=2)

    serve.process.kill()  # serve alone, not its process group

    wait_until(lambda: not alive(child), 20, failure=lambda: serve.log.read_text())
    # It stopped the way SIGTERM stops it: what it was running went back, nothing waits
    # for a lease to expire.
    assert cluster.query("SELECT count(*) FROM step_run WHERE status = 'running'") == [(0,)]
    next_serve = cluster.start()
    assert cluster.wait_all_done(5) == {"succeeded": 5}
    assert the_child(next_serve) in owners(cluster)


def test_sigterm_to_serve_stops_the_child_after_its_hand_back(cluster: Cluster) -> None:
    serve = cluster.start()
    child = the_child(serve)
    submit_stories(serve, 5)
    cluster.wait_for_steps(running=2)

    assert serve.terminate() in (0, -signal.SIGTERM)

    assert not alive(child)
    assert cluster.query("SELECT count(*) FROM step_run WHERE status = 'running'") == [(0,)]


def test_ctrl_c_stops_serve_and_its_child_as_one(cluster: Cluster) -> None:
    serve = cluster.start()
    child = the_child(serve)

    os.killpg(serve.process.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole process group
    serve.process.wait(30)

    assert not alive(child)
    # The child did not stop on its own (that would read as a crash and a restart).
    assert "starting it again" not in serve.log.read_text()
