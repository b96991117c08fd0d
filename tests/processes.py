"""Real `langproc` subprocesses for crash, shutdown and multi-process tests."""

from __future__ import annotations

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
        self.process = subprocess.Popen(
            args, env={**clean, **env}, stdout=self._log_file, stderr=subprocess.STDOUT
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

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)
        self._log_file.close()

    def terminate(self, within_s: float = 60.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(within_s)
        self._log_file.close()
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()
        self._log_file.close()
