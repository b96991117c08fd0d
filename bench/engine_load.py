"""Engine under load: N text pipelines submitted at once over HTTP to a real `langproc serve`
(plus optional `langproc worker`s) on a fresh database, against the fake provider answering in
100 ms, while a second client keeps reading the API.

    .venv/bin/python -m bench.engine_load                       # 150 pipelines on Postgres
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
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from tests.paths import SAMPLES

from bench._harness import (
    DEFAULT_POSTGRES,
    Database,
    FakeProviderProcess,
    LogSummary,
    fresh_database,
    machine_cpu,
    own_cpu_s,
    percentile,
    postgres_cpu_s,
    process_cpu_s,
    say,
    service_env,
    start_processes,
    stop_gracefully,
    summarize_logs,
    table,
)

# Issue 2's seed baselines, measured on this kind of machine before langproc existed.
SEED_FLASK_PIPELINES, SEED_FLASK_WALL_S, SEED_FLASK_GET_P99_S = 100, 10.0, 1.0
SEED_TUTORIAL_DEADLOCK_AT = 16
DEFAULT_PROVIDER_LIMIT = 8  # Settings.max_concurrent_provider_calls
TERMINAL = ("succeeded", "failed", "cancelled")
MAX_GETS_IN_FLIGHT = 50
# The fake provider lists at most 5 words of a text, taken from its start.
WORDS_PER_TAG = 6


@dataclass
class Request:
    kind: str  # post | detail | list
    latency_s: float
    status: int  # 0: no answer (connection error or timeout)


@dataclass
class RunResult:
    pipelines: int
    database: str
    workers: int
    requests: list[Request] = field(default_factory=list)
    accepted: int = 0
    wall_s: float = float("nan")
    finished: bool = False
    statuses: dict[str, int] = field(default_factory=dict)
    step_statuses: dict[str, int] = field(default_factory=dict)
    step_failures: list[tuple[Any, ...]] = field(default_factory=list)
    attempts: int = 0
    steps: int = 0
    retried_steps: int = 0
    pipeline_latency_s: list[float] = field(default_factory=list)
    provider: dict[str, Any] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    machine_busy: float = float("nan")
    machine_busy_s: float = float("nan")
    gets_skipped: int = 0
    logs: LogSummary | None = None
    limit_per_process: int = DEFAULT_PROVIDER_LIMIT
    latency_ms: float = 100.0

    @property
    def calls(self) -> int:
        return int(self.provider.get("total_calls", 0))

    @property
    def provider_limit(self) -> int:
        """Concurrent provider calls allowed across all executor processes."""
        return self.limit_per_process * (1 + self.workers)

    @property
    def bound_s(self) -> float:
        """No executor can be faster: every call takes the latency, `provider_limit` at a time."""
        return self.calls * self.latency_ms / 1000 / self.provider_limit

    @property
    def rate(self) -> float:
        return self.statuses.get("succeeded", 0) / self.wall_s

    def latencies(self, kind: str) -> list[float]:
        return [r.latency_s for r in self.requests if r.kind == kind]

    @property
    def problems(self) -> list[str]:
        found = []
        if not self.finished:
            found.append("the run did not finish within --timeout")
        bad = {s: n for s, n in self.statuses.items() if s != "succeeded" and n}
        if bad or self.statuses.get("succeeded", 0) != self.pipelines:
            found.append(f"sourcefiles not succeeded: {self.statuses}")
        server_errors = [r for r in self.requests if r.status >= 500]
        if server_errors:
            found.append(f"{len(server_errors)} answers with a 5xx status")
        unanswered = [r for r in self.requests if r.status == 0]
        if unanswered:
            found.append(f"{len(unanswered)} requests got no answer (connection error, timeout)")
        other = [r for r in self.requests if 300 <= r.status < 500]
        if other:
            found.append(f"{len(other)} answers with a 3xx/4xx status")
        if self.step_failures:
            found.append(f"failed steps: {self.step_failures[:5]}")
        if self.logs and self.logs.lines_by_level.get("error", 0):
            found.append(f"{self.logs.lines_by_level['error']} error log lines")
        return found


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
    start = time.perf_counter()
    try:
        response = await client.request(method, url, **kw)
        status = response.status_code
    except httpx.HTTPError:
        status = 0
        response = None
    request = Request(kind, time.perf_counter() - start, status)
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
        asyncio.run(self._read())

    async def _read(self) -> None:
        limits = httpx.Limits(max_connections=MAX_GETS_IN_FLIGHT)
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


def terminal_count(database: Database) -> dict[str, int]:
    return {str(s): int(n) for s, n in database.query(
        "SELECT status, count(*) FROM sourcefile GROUP BY status"
    )}  # fmt: skip


async def submit_and_wait(
    url: str, texts: list[str], database: Database, reader: Reader, timeout_s: float
) -> tuple[list[Request], float, bool]:
    limits = httpx.Limits(max_connections=len(texts), max_keepalive_connections=len(texts))
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        start = time.perf_counter()
        posts = await asyncio.gather(
            *(
                timed(
                    client, "post", "POST", "/api/sourcefiles", json={"text": t, "language": "el"}
                )
                for t in texts
            )
        )
    accepted = [p.kind.split(":", 1)[1] for p in posts if p.kind.startswith("post:")]
    reader.ids.extend(accepted)
    deadline = start + timeout_s
    finished = False
    while time.perf_counter() < deadline:
        counts = await asyncio.to_thread(terminal_count, database)
        if sum(counts.get(s, 0) for s in TERMINAL) >= len(accepted):
            finished = True
            break
        await asyncio.sleep(0.1)
    wall = time.perf_counter() - start
    for post in posts:
        post.kind = "post"
    return list(posts), wall, finished


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
    extra: dict[str, str] = {}
    if args.provider_limit is not None:
        extra["LANGPROC_MAX_CONCURRENT_PROVIDER_CALLS"] = str(args.provider_limit)
        result.limit_per_process = args.provider_limit
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
                    **{f"langproc worker {i}": w.process.pid for i, w in enumerate(workers)},
                }
                cpu_before = {name: process_cpu_s(pid) for name, pid in pids.items()}
                postgres_before, client_before = postgres_cpu_s(), own_cpu_s()
                busy_before, total_before = machine_cpu()
                reader = Reader(serve.url, args.get_rate, [])
                reader.start()
                try:
                    posts, result.wall_s, result.finished = asyncio.run(
                        submit_and_wait(
                            serve.url, stories(pipelines, args.sample), database, reader,
                            args.timeout,
                        )
                    )  # fmt: skip
                finally:
                    reader.stop()
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
                collect_database(result, database)
            finally:
                stop_gracefully(processes)
                result.logs = summarize_logs([p.log for p in processes])
    finally:
        fake.stop()
    return result


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def latency_row(result: RunResult, kind: str, label: str) -> list[str]:
    values = result.latencies(kind)
    bad = sum(not 200 <= r.status < 300 for r in result.requests if r.kind == kind)
    if not values:
        return [label, "no requests"]
    return [
        label,
        f"p50 {ms(percentile(values, 50))}, p99 {ms(percentile(values, 99))}, "
        f"max {ms(max(values))} (n={len(values)}, non-2xx {bad})",
    ]


def report(result: RunResult) -> None:
    limit, calls, bound_s, rate = result.provider_limit, result.calls, result.bound_s, result.rate
    by_task = Counter(result.provider.get("calls_by_task", {}))
    say(
        "",
        f"== engine_load: {result.pipelines} pipelines on {result.database}, 1 serve + "
        f"{result.workers} worker(s), provider {result.latency_ms:g} ms, "
        f"{result.limit_per_process} provider calls per process ==",
    )
    rows = [
        ["wall time, first POST -> all done", f"{result.wall_s:.2f} s"],
        ["pipelines/s", f"{rate:.1f}"],
        [
            "sourcefiles by status",
            ", ".join(f"{k} {v}" for k, v in sorted(result.statuses.items())),
        ],
        ["uploads accepted (202)", f"{result.accepted} of {result.pipelines}"],
        ["provider calls total", str(calls)],
        ["provider calls per pipeline", f"{calls / max(result.pipelines, 1):.2f}"],
        ["provider calls by task", ", ".join(f"{k} {v}" for k, v in sorted(by_task.items()))],
        ["max provider calls in flight", f"{result.provider.get('max_in_flight')} (limit {limit})"],
        [f"lower bound: calls x {result.latency_ms:g} ms / {limit}", f"{bound_s:.2f} s"],
        ["measured / lower bound", f"{result.wall_s / bound_s:.2f}" if bound_s else "n/a"],
        latency_row(result, "post", "POST /api/sourcefiles"),
        latency_row(result, "detail", "GET /api/sourcefiles/{id}"),
        latency_row(result, "list", "GET /api/sourcefiles"),
        [
            "pipeline latency, created -> done",
            f"p50 {percentile(result.pipeline_latency_s, 50):.2f} s, "
            f"p99 {percentile(result.pipeline_latency_s, 99):.2f} s",
        ],
        [
            "step attempts / steps",
            f"{result.attempts} / {result.steps} ({result.retried_steps} steps retried)",
        ],
        ["steps by status", ", ".join(f"{k} {v}" for k, v in sorted(result.step_statuses.items()))],
        ["reader ticks skipped (50 GETs open)", str(result.gets_skipped)],
        *(
            [f"CPU {name}", f"{seconds:.1f} s ({seconds / result.wall_s:.0%} of one core)"]
            for name, seconds in result.cpu_s.items()
        ),
        [
            f"machine CPU busy ({os.cpu_count()} cores = 100%)",
            f"{result.machine_busy:.0%} ({result.machine_busy_s:.1f} CPU s)",
        ],
    ]
    if result.logs:
        levels = ", ".join(f"{k} {v}" for k, v in sorted(result.logs.lines_by_level.items()))
        rows.append(["log lines (warning and worse)", levels or "none"])
    say(*table(rows, right=False))
    if result.logs and result.logs.samples:
        say("  first log lines:", *(f"    {line}" for line in result.logs.samples))
    seed_rate = SEED_FLASK_PIPELINES / SEED_FLASK_WALL_S
    detail, listing = result.latencies("detail"), result.latencies("list")
    say(
        "  vs the seed (issue 2):",
        f"    Flask fire-and-forget: {SEED_FLASK_PIPELINES} pipelines in ~{SEED_FLASK_WALL_S:g} s "
        f"({seed_rate:g}/s), GET p99 ~{SEED_FLASK_GET_P99_S:g} s",
        f"      throughput here / seed: {rate / seed_rate:.2f}x; "
        f"wall time here / seed scaled to {result.pipelines}: "
        f"{result.wall_s / (SEED_FLASK_WALL_S * result.pipelines / SEED_FLASK_PIPELINES):.2f}",
        f"      GET p99 here / seed: detail {percentile(detail, 99) / SEED_FLASK_GET_P99_S:.2f}, "
        f"list {percentile(listing, 99) / SEED_FLASK_GET_P99_S:.2f} (below 1: faster)",
        f"    FastAPI BackgroundTasks tutorial: deadlocked at {SEED_TUTORIAL_DEADLOCK_AT} "
        "concurrent uploads, a third stuck `queued`",
        f"      here: {result.pipelines} concurrent uploads, {result.accepted} accepted, "
        f"{result.statuses.get('succeeded', 0)} succeeded, "
        f"{sum(v for k, v in result.statuses.items() if k not in TERMINAL)} left unfinished",
    )
    for problem in result.problems:
        say(f"  PROBLEM: {problem}")


SUMMARY_HEADER = [
    "pipelines", "db", "workers", "wall s", "per s", "calls/pipeline", "max in flight",
    "wall/bound", "POST p99 ms", "detail p99 ms", "list p99 ms", "",
]  # fmt: skip


def summary_row(r: RunResult) -> list[object]:
    return [
        r.pipelines,
        r.database,
        r.workers,
        f"{r.wall_s:.1f}",
        f"{r.rate:.1f}",
        f"{r.calls / r.pipelines:.1f}",
        r.provider.get("max_in_flight"),
        f"{r.wall_s / r.bound_s:.2f}" if r.bound_s else "n/a",
        *(f"{percentile(r.latencies(kind), 99) * 1000:.0f}" for kind in ("post", "detail", "list")),
        "PROBLEMS" if r.problems else "ok",
    ]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--pipelines", default="150", help="pipelines at once; a comma list runs each in turn"
    )
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--workers", type=int, default=0, help="extra `langproc worker`s")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="an admin database")
    parser.add_argument("--latency-ms", type=float, default=100.0, help="fake provider latency")
    parser.add_argument("--get-rate", type=float, default=20.0, help="reader GETs per second")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run at most")
    parser.add_argument(
        "--provider-limit", type=int, default=None, help="LANGPROC_MAX_CONCURRENT_PROVIDER_CALLS"
    )
    parser.add_argument("--sample", type=Path, default=SAMPLES / "el-story.txt")
    parser.add_argument("--keep", action="store_true", help="keep logs and data of every run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    counts = [int(n) for n in str(args.pipelines).split(",")]
    say(
        f"engine_load {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: "
        f"{platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} "
        f"CPUs, Python {platform.python_version()}"
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
