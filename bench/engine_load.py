"""Engine under load: N text pipelines submitted at once over HTTP to a real `langproc serve`
(plus optional `langproc worker`s) on a fresh database, against the fake provider answering in
100 ms, while a second client keeps reading the API.

    .venv/bin/python -m bench.engine_load                       # 200 pipelines on Postgres
    .venv/bin/python -m bench.engine_load --pipelines 100,150,200
    .venv/bin/python -m bench.engine_load --database sqlite
    .venv/bin/python -m bench.engine_load --workers 2

Prints figures (never pass/fail on time). Exits 1 only when something broke: a pipeline that did
not succeed, a 5xx, a failed request, or a run that did not finish within --timeout.
All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from tests.paths import SAMPLES

from bench._events import EventWatcher
from bench._harness import (
    DEFAULT_POSTGRES,
    Database,
    FakeProviderProcess,
    child_pids,
    fresh_database,
    machine_cpu,
    own_cpu_s,
    peak_rss_mb,
    percentile,
    postgres_cpu_s,
    process_cpu_s,
    say,
    service_env,
    source_version,
    start_processes,
    stop_gracefully,
    summarize_logs,
    table,
)
from bench._load_results import (
    SUMMARY_HEADER,
    TERMINAL,
    Request,
    RunResult,
    report,
    summary_row,
)
from bench._profile import Profiler

MAX_GETS_IN_FLIGHT = 50
# Below uvicorn's 5 s keep-alive, so that the client never reuses a connection the server is
# closing at that moment (a ReadError that says nothing about langproc).
KEEPALIVE_S = 2.0
READ_COST_SAMPLES = 40
# The fake provider lists at most 5 words of a text, taken from its start.
WORDS_PER_TAG = 6
GREEK_LETTERS = "αβγδεζηθικλμνξοπρστυφχψω"


def pseudo_word(n: int) -> str:
    """A distinct made-up Greek word for each n (base 24, at least three letters)."""
    letters = []
    while True:
        n, digit = divmod(n, len(GREEK_LETTERS))
        letters.append(GREEK_LETTERS[digit])
        if n == 0 and len(letters) >= 3:
            return "".join(reversed(letters))


def stories(count: int, sample: Path) -> list[str]:
    """`count` distinct texts: a first line of made-up words unique to each text, so that no
    step's provider call is the same as another text's (the result cache cannot hide work)."""
    story = sample.read_text(encoding="utf-8").strip()
    offset = random.randrange(24**4)
    return [
        " ".join(pseudo_word(offset + i * WORDS_PER_TAG + k) for k in range(WORDS_PER_TAG))
        + f".\n\n{story}"
        for i in range(count)
    ]


async def timed(client: httpx.AsyncClient, kind: str, method: str, url: str, **kw: Any) -> Request:
    start, sent_at = time.perf_counter(), time.time()
    error, response = "", None
    try:
        response = await client.request(method, url, **kw)
        status = response.status_code
    except httpx.HTTPError as exc:
        status, error = 0, f"{type(exc).__name__}: {exc}"
    request = Request(kind, time.perf_counter() - start, status, error, sent_at)
    if response is not None and kind == "post" and status == 202:
        request.kind = f"post:{response.json()['id']}"
    return request


class Reader(threading.Thread):
    """Reads the API at a fixed rate on its own event loop (open loop: a slow answer does not
    slow the rate), alternating one sourcefile's detail and the list."""

    def __init__(self, base_url: str, rate: float, ids: list[str]) -> None:
        super().__init__(name="bench-reader", daemon=True)
        self.base_url, self.rate, self.ids = base_url, rate, ids
        self.samples: list[Request] = []
        self.skipped = 0
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join(120)

    def run(self) -> None:
        if self.rate > 0:
            asyncio.run(self._read())

    async def _read(self) -> None:
        limits = httpx.Limits(max_connections=MAX_GETS_IN_FLIGHT, keepalive_expiry=KEEPALIVE_S)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30, limits=limits) as client:
            pending: set[asyncio.Task[Request]] = set()
            next_at, n = time.perf_counter(), 0
            while not self._halt.is_set():
                if len(pending) >= MAX_GETS_IN_FLIGHT:
                    self.skipped += 1
                elif n % 2 == 0 and self.ids:
                    path = f"/api/sourcefiles/{random.choice(self.ids)}"
                    pending.add(asyncio.create_task(timed(client, "detail", "GET", path)))
                else:
                    pending.add(
                        asyncio.create_task(timed(client, "list", "GET", "/api/sourcefiles"))
                    )
                done = {t for t in pending if t.done()}
                self.samples.extend(t.result() for t in done)
                pending -= done
                n += 1
                next_at += 1 / self.rate
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            self.samples.extend(await asyncio.gather(*pending))


def terminal_count(database: Database, table: str = "sourcefile") -> dict[str, int]:
    return {str(s): int(n) for s, n in database.query(
        f"SELECT status, count(*) FROM {table} GROUP BY status"
    )}  # fmt: skip


async def submit_and_wait(
    url: str,
    texts: list[str],
    database: Database,
    reader: Reader,
    timeout_s: float,
    concurrency: int,
    table: str = "sourcefile",
) -> tuple[list[Request], float, bool]:
    """POST every text, `concurrency` at a time, then wait until `table` shows them all done."""
    limits = httpx.Limits(max_connections=concurrency, keepalive_expiry=KEEPALIVE_S)
    slots = asyncio.Semaphore(concurrency)

    async def post(client: httpx.AsyncClient, text: str) -> Request:
        async with slots:
            request = await timed(
                client, "post", "POST", "/api/sourcefiles", json={"text": text, "language": "el"}
            )
        if request.kind.startswith("post:"):
            reader.ids.append(request.kind.split(":", 1)[1])
        return request

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        start = time.perf_counter()
        posts = await asyncio.gather(*(post(client, t) for t in texts))
    accepted = [p for p in posts if p.kind.startswith("post:")]
    deadline = start + timeout_s
    finished = False
    while time.perf_counter() < deadline:
        counts = await asyncio.to_thread(terminal_count, database, table)
        if sum(counts.get(s, 0) for s in TERMINAL) >= len(accepted):
            finished = True
            break
        await asyncio.sleep(0.1)
    wall = time.perf_counter() - start
    for post in posts:
        post.kind = "post"
    return list(posts), wall, finished


def read_cost(url: str, pid: int, ids: list[str]) -> dict[str, tuple[float, float]]:
    """Once the run is over: serve's CPU and the latency of one read, sequential on an idle
    service: {kind: (cpu_ms, p50_ms)}."""
    paths = {
        "detail": [f"/api/sourcefiles/{ids[i % len(ids)]}" for i in range(READ_COST_SAMPLES)],
        "list": ["/api/sourcefiles"] * READ_COST_SAMPLES,
    }
    cost: dict[str, tuple[float, float]] = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        for kind, urls in paths.items():
            client.get(urls[0])  # warm up
            latencies = []
            cpu = process_cpu_s(pid)
            for path in urls:
                start = time.perf_counter()
                client.get(path).raise_for_status()
                latencies.append(time.perf_counter() - start)
            cpu_ms = (process_cpu_s(pid) - cpu) / len(urls) * 1000
            cost[kind] = (cpu_ms, percentile(latencies, 50) * 1000)
    return cost


def as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def collect_database(result: RunResult, database: Database) -> None:
    result.statuses = terminal_count(database)
    result.step_statuses = {
        str(s): int(n)
        for s, n in database.query("SELECT status, count(*) FROM step_run GROUP BY status")
    }
    result.step_failures = database.query(
        "SELECT step, error_type, error_message, count(*) FROM step_run "
        "WHERE status = 'failed' GROUP BY step, error_type, error_message"
    )
    attempts, steps, retried = database.query(
        "SELECT coalesce(sum(attempt), 0), count(*), "
        "coalesce(sum(CASE WHEN attempt > 1 THEN 1 ELSE 0 END), 0) FROM step_run"
    )[0]
    result.attempts, result.steps, result.retried_steps = int(attempts), int(steps), int(retried)
    result.pipeline_latency_s = [
        (as_datetime(done) - as_datetime(created)).total_seconds()
        for created, done in database.query(
            "SELECT created_at, updated_at FROM sourcefile WHERE status = 'succeeded'"
        )
    ]


def run_once(args: argparse.Namespace, pipelines: int, workdir: Path) -> RunResult:
    result = RunResult(pipelines, args.database, args.workers, latency_ms=args.latency_ms)
    extra: dict[str, str] = {"LANGPROC_LOG_LEVEL": args.log_level}
    if args.provider_limit is not None:
        extra["LANGPROC_MAX_CONCURRENT_PROVIDER_CALLS"] = str(args.provider_limit)
        result.limit_per_process = args.provider_limit
    if args.max_steps is not None:
        extra["LANGPROC_MAX_CONCURRENT_STEPS"] = str(args.max_steps)
    extra.update(setting.split("=", 1) for setting in args.set)
    fake = FakeProviderProcess(args.latency_ms, workdir / "fake-provider.log")
    try:
        with fresh_database(args.database, args.postgres_url, workdir) as database:
            env = service_env(database.url, workdir / "data", fake.base_url, **extra)
            serve, workers = start_processes(env, workdir, args.workers)
            processes = [serve, *workers]
            try:
                pids = {
                    "fake provider": fake.process.pid,
                    "langproc serve": serve.process.pid,
                    **{
                        f"langproc serve's executor {i}": pid
                        for i, pid in enumerate(child_pids(serve.process.pid))
                    },
                    **{f"langproc worker {i}": w.process.pid for i, w in enumerate(workers)},
                }
                cpu_before = {name: process_cpu_s(pid) for name, pid in pids.items()}
                sessions_before = database.sessions()
                postgres_before, client_before = postgres_cpu_s(), own_cpu_s()
                busy_before, total_before = machine_cpu()
                profiler = Profiler(serve.process.pid, args.profile) if args.profile else None
                watcher = EventWatcher(serve.url) if args.events else None
                if watcher is not None:
                    watcher.start()
                    watcher.connected.wait(30)
                reader = Reader(serve.url, args.get_rate, [])
                reader.start()
                try:
                    posts, result.wall_s, result.finished = asyncio.run(
                        submit_and_wait(
                            serve.url, stories(pipelines, args.sample), database, reader,
                            args.timeout, args.submit_concurrency,
                        )
                    )  # fmt: skip
                finally:
                    reader.stop()
                    if profiler is not None:
                        profiler.stop()
                    if watcher is not None:
                        watcher.stop()
                        result.event_lags_s = watcher.lags_s
                        result.event_errors = watcher.errors
                result.peak_rss_mb = {
                    name: peak_rss_mb(pid)
                    for name, pid in pids.items()
                    if name.startswith("langproc")
                }
                busy_after, total_after = machine_cpu()
                result.cpu_s = {
                    name: process_cpu_s(pid) - cpu_before[name] for name, pid in pids.items()
                }
                if args.database == "postgres":
                    result.cpu_s["postgres (all backends)"] = sum(
                        cpu - postgres_before.get(pid, 0.0) for pid, cpu in postgres_cpu_s().items()
                    )
                result.cpu_s["benchmark client"] = own_cpu_s() - client_before
                result.machine_busy = (busy_after - busy_before) / (total_after - total_before)
                result.machine_busy_s = busy_after - busy_before
                result.requests = posts + reader.samples
                result.gets_skipped = reader.skipped
                result.accepted = sum(p.status == 202 for p in posts)
                result.provider = fake.stats()
                sessions_after = database.sessions()
                if sessions_before is not None and sessions_after is not None:
                    result.pg_sessions = sessions_after - sessions_before
                collect_database(result, database)
                if reader.ids:
                    result.read_cost = read_cost(serve.url, serve.process.pid, reader.ids)
            finally:
                stop_gracefully(processes)
                result.logs = summarize_logs([p.log for p in processes])
    finally:
        fake.stop()
    return result


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--pipelines", default="200", help="pipelines at once; a comma list runs each in turn"
    )
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--workers", type=int, default=0, help="extra `langproc worker`s")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="an admin database")
    parser.add_argument("--latency-ms", type=float, default=100.0, help="fake provider latency")
    parser.add_argument("--get-rate", type=float, default=20.0, help="reader GETs per second")
    parser.add_argument(
        "--submit-concurrency", type=int, default=16, help="uploads in flight at once"
    )
    parser.add_argument(
        "--no-events",
        dest="events",
        action="store_false",
        help="do not follow GET /api/events (no event lag figure)",
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run at most")
    parser.add_argument(
        "--provider-limit", type=int, default=None, help="LANGPROC_MAX_CONCURRENT_PROVIDER_CALLS"
    )
    parser.add_argument("--max-steps", type=int, default=None, help="LANGPROC_MAX_CONCURRENT_STEPS")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="record serve with py-spy during the run into this file (collapsed stacks)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="another setting of the service, e.g. LANGPROC_DATABASE_POOL_SIZE=40 (repeatable)",
    )
    parser.add_argument("--sample", type=Path, default=SAMPLES / "el-story.txt")
    parser.add_argument("--keep", action="store_true", help="keep logs and data of every run")
    parser.add_argument("--log-level", default="WARNING", help="LANGPROC_LOG_LEVEL of langproc")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    counts = [int(n) for n in str(args.pipelines).split(",")]
    say(
        f"engine_load {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: "
        f"{platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} "
        f"CPUs, Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}, "
        f"langproc at {source_version()}"
    )
    results = []
    for count in counts:
        workdir = Path(tempfile.mkdtemp(prefix=f"langproc-bench-{count}-"))
        result = run_once(args, count, workdir)
        report(result)
        results.append(result)
        if result.problems or args.keep:
            say(f"  logs and data kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if len(results) > 1:
        say("", "== summary ==", *table([summary_row(r) for r in results], SUMMARY_HEADER))
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
