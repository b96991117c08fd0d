"""What the benchmarks share: the fake provider as a process, a throwaway database, `langproc`
processes, CPU accounting from /proc, percentiles, and plain-text output."""

from __future__ import annotations

import json
import os
import queue
import resource
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.engine import make_url
from tests.paths import SAMPLES
from tests.processes import LangprocProcess, children_of

REPO = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def say(*lines: str) -> None:
    """Write lines to stdout (the benchmarks' only output channel)."""
    for line in lines:
        sys.stdout.write(line + "\n")
    sys.stdout.flush()


def table(
    rows: Sequence[Sequence[object]], header: Sequence[str] | None = None, *, right: bool = True
) -> list[str]:
    """Rows as aligned text columns: the first left-aligned, the rest right-aligned if `right`."""
    cells = [[str(c) for c in row] for row in ([header] if header else []) + list(rows)]
    columns = max(len(row) for row in cells)
    cells = [row + [""] * (columns - len(row)) for row in cells]
    widths = [max(len(row[i]) for row in cells) for i in range(columns)]
    lines = []
    for n, row in enumerate(cells):
        pairs = zip(row[1:], widths[1:], strict=True)
        rest = [c.rjust(w) if right else c.ljust(w) for c, w in pairs]
        parts = [row[0].ljust(widths[0]), *rest]
        lines.append("  ".join(parts).rstrip())
        if header and n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a live process has used (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def child_pids(pid: int, within_s: float = 2.0) -> list[int]:
    """The pids of `pid`'s children (serve's executor process), once one shows up or
    `within_s` passes (none: serve runs its executor in its own process)."""

    wait_for(lambda: children_of(pid), within_s, every_s=0.1)
    return children_of(pid)


def postgres_cpu_s() -> dict[int, float]:
    """CPU seconds of every `postgres` process on the machine, by pid (a local server)."""
    found: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres)" in text:
            pid = int(stat.parent.name)
            found[pid] = process_cpu_s(pid)
    return found


def own_cpu_s() -> float:
    """CPU seconds this process (the benchmark's client) has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / CLOCK_TICKS, sum(values) / CLOCK_TICKS


class FakeProviderProcess:
    """`python -m tests.fakes.openai_server` as a separate process (its own core and GIL)."""

    def __init__(self, latency_ms: float, log: Path) -> None:
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fakes.openai_server",
                "--port",
                "0",
                "--latency-ms",
                str(latency_ms),
                "--samples",
                str(SAMPLES),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        stdout = self.process.stdout
        assert stdout is not None
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        try:
            ready = lines.get(timeout=30)
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"the fake provider did not start; see {log}") from None
        if not ready.startswith("FAKE_OPENAI_READY "):
            self.stop()
            raise RuntimeError(f"the fake provider did not start ({ready!r}); see {log}")
        self.base_url = ready.split()[1]
        self.control_url = self.base_url.removesuffix("/v1")

    def stats(self) -> dict[str, Any]:
        response = httpx.get(f"{self.control_url}/_stats", timeout=10)
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    def reset(self) -> None:
        httpx.post(f"{self.control_url}/_reset", timeout=10).raise_for_status()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


class Database:
    """A database the benchmark owns: its URL for langproc and one connection to query it."""

    def __init__(self, url: str, kind: str) -> None:
        self.url = url  # what LANGPROC_DATABASE_URL gets
        self.kind = kind  # "postgres" | "sqlite"
        self._pg: psycopg.Connection[tuple[Any, ...]] | None = None

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            path = make_url(self.url).database
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as conn:
                return conn.execute(sql).fetchall()
        if self._pg is None or self._pg.closed:
            sync = make_url(self.url).set(drivername="postgresql")
            self._pg = psycopg.connect(sync.render_as_string(hide_password=False), autocommit=True)
        return self._pg.execute(sql).fetchall()

    def execute(self, sql: str) -> None:
        """Run a statement that returns no rows (Postgres only)."""
        self.query("SELECT 1")
        assert self._pg is not None
        self._pg.execute(sql)

    def sessions(self) -> int | None:
        """Connections opened to this Postgres database so far (PostgreSQL 14+)."""
        if self.kind != "postgres":
            return None
        self.query("SELECT pg_stat_clear_snapshot()")
        sql = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        return int(self.query(sql)[0][0])

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()


@contextmanager
def fresh_database(kind: str, admin_url: str, workdir: Path) -> Iterator[Database]:
    """A new, migrated database (Postgres: `langproc_bench_<random>`, dropped at the end)."""
    if kind == "sqlite":
        path = workdir / "langproc.db"
        database = Database(f"sqlite+aiosqlite:///{path}", "sqlite")
        migrate(database.url, workdir)
        yield database
        database.close()
        return
    name = f"langproc_bench_{uuid.uuid4().hex[:10]}"
    admin = make_url(admin_url).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = admin.set(drivername="postgresql+asyncpg", database=name)
        database = Database(url.render_as_string(hide_password=False), "postgres")
        migrate(database.url, workdir)
        try:
            yield database
        finally:
            database.close()
    finally:
        with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def service_env(
    database_url: str, data_dir: Path, provider_url: str, **extra: str
) -> dict[str, str]:
    """The environment of a `langproc` process: our database, the fake provider, quiet JSON logs."""
    return {
        "LANGPROC_DATABASE_URL": database_url,
        "LANGPROC_DATA_DIR": str(data_dir),
        "LANGPROC_PROVIDER": "openai",
        "OPENAI_BASE_URL": provider_url,
        "OPENAI_API_KEY": "bench-key",
        "LANGPROC_LOG_LEVEL": "WARNING",
        "LANGPROC_LOG_FORMAT": "json",
        **extra,
    }


def migrate(database_url: str, workdir: Path) -> None:
    # The data directory must exist before an SQLite migration (older langproc did not make it).
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LANGPROC_", "OPENAI_"))}
    env = {
        **clean,
        "LANGPROC_DATABASE_URL": database_url,
        "LANGPROC_DATA_DIR": str(workdir / "data"),
    }
    subprocess.run(
        [sys.executable, "-m", "langproc", "migrate"],
        env=env,
        cwd=workdir,
        check=True,
        capture_output=True,
        timeout=120,
    )


@dataclass
class LogSummary:
    lines_by_level: dict[str, int]
    samples: list[str]  # the first few warning-or-worse events


def summarize_logs(paths: Sequence[Path], keep: int = 8) -> LogSummary:
    """Count the warning-or-worse JSON log lines of `langproc` processes by level (and any
    line that is not JSON); keep the first few."""
    levels: dict[str, int] = {}
    samples: list[str] = []
    for path in paths:
        if not path.exists():
            continue
        for raw in path.read_text(errors="replace").splitlines():
            try:
                line = json.loads(raw)
                level = str(line.get("level", "?"))
                if level in ("debug", "info"):
                    continue
                trace = str(line.get("exception", "")).strip().splitlines()
                text = f"{path.name}: {line.get('at')} {level} {line.get('event')}"
                if trace:
                    text += f" [{trace[-1]}]"
            except ValueError:
                level, text = "unstructured", f"{path.name}: {raw}"
            levels[level] = levels.get(level, 0) + 1
            if len(samples) < keep:
                samples.append(text.strip()[:600])
    return LogSummary(levels, samples)


def start_processes(
    env: dict[str, str], logdir: Path, workers: int
) -> tuple[LangprocProcess, list[LangprocProcess]]:
    """One `langproc serve` (healthy before this returns) and `workers` `langproc worker`s."""
    serve = LangprocProcess("serve", env, logdir / "serve.log")
    try:
        serve.wait_healthy(60)
    except AssertionError:
        serve.stop()
        raise
    extra = [LangprocProcess("worker", env, logdir / f"worker-{i}.log") for i in range(workers)]
    return serve, extra


def stop_gracefully(processes: Sequence[LangprocProcess]) -> None:
    """SIGTERM each, wait for it to exit (kill it after 60 s)."""
    for process in processes:
        if process.process.poll() is None:
            try:
                process.terminate(60)
            except subprocess.TimeoutExpired:
                process.stop()


def wait_for(check: Any, within_s: float, every_s: float = 0.2) -> bool:
    """Call `check()` until it is true or `within_s` passes."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every_s)
    return bool(check())


def source_version() -> str:
    """The commit the code under test is at, and whether src/ has local changes (read-only)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--", "src"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
    except OSError:
        return "unknown"
    return f"{commit or 'unknown'}{f' + {len(changed)} changed files in src/' if changed else ''}"


def peak_rss_mb(pid: int) -> float:
    """The peak resident set size of a live process (VmHWM), in MiB; nan once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")
