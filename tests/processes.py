"""Real `langproc` subprocesses for crash, shutdown and multi-process tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.waiting import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children_of(pid: int) -> list[int]:
    """The pids of `pid`'s child processes, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


class LangprocProcess:
    """`langproc serve` or `langproc worker` with its own environment and log file."""

    def __init__(self, command: str, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        args = [sys.executable, "-m", "langproc", command]
        if command == "serve":
            args += ["--port", str(self.port)]
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("LANGPROC_", "OPENAI_"))}
        self._log_file = log.open("ab")
        # Its own process group, as a shell starts a job: a terminal's Ctrl-C can be sent to it.
        self.process = subprocess.Popen(
            args,
            env={**clean, **env},
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_healthy(self, within_s: float = 30.0) -> None:
        def healthy() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"langproc exited early:\n{self.log.read_text()}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, within_s, every_s=0.1, failure=self.log.read_text)

    def children(self) -> list[int]:
        """The pids of the processes it started (serve's executor process)."""
        return children_of(self.process.pid)

    def kill(self) -> None:
        """kill -9 of the process and its children, the way a machine or container dies."""
        for pid in [*self.children(), self.process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(10)
        self._log_file.close()

    def terminate(self, within_s: float = 60.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(within_s)
        self._log_file.close()
        return code

    def stop(self) -> None:
        """End it and whatever it started, if still running."""
        self.kill()
