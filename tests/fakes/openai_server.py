"""A fake OpenAI-compatible server on loopback: Chat Completions and Speech, with fault injection.

In-process: `with FakeOpenAI() as fake:` then point the SDK at `fake.base_url`. As a process:

    python -m tests.fakes.openai_server --port 0 --latency-ms 300 --samples DIR

prints `FAKE_OPENAI_READY <base_url>` once it accepts connections and stops on SIGTERM/SIGINT.
Answers are deterministic per request (seeded by its body and `seed`); injected faults are not.
Control endpoints (never counted, never faulted): `GET /_stats` (the `Stats` fields as JSON),
`POST /_faults` (see `_faults_endpoint`), `POST /_reset`, `POST /_images` (`{sha256: text}`).
A fault's `task` matches the JSON-schema name of a chat call, `transcribe` for a call carrying an
image, `chat` for other chat calls and `speech` for `/v1/audio/speech`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import socket
import sys
import threading
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.openai_answers import (
    CHAT,
    SPEECH,
    TRANSIENT_FAULTS,
    Fault,
    ForcedFault,
    Stats,
    chat_completion,
    chat_task,
    error_response,
    fault_error,
    sample_texts,
    schema_name,
    speech,
    take_forced,
)
from tests.support.waiting import wait_until

__all__ = ["FakeOpenAI", "Fault", "Stats"]


class FakeOpenAI:
    """An OpenAI-compatible HTTP server in a background thread; counters and faults are live."""

    latency_ms: float
    transient_failure_ratio: float
    transient_faults: tuple[Fault, ...]
    retry_after_s: float
    slow_response_s: float

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
        transient_failure_ratio: float = 0.0,
        transient_faults: tuple[Fault, ...] = TRANSIENT_FAULTS,
        retry_after_s: float = 1.0,
        slow_response_s: float = 30.0,
        api_key: str | None = None,
        models: frozenset[str] | None = None,
        images: dict[str, str] | None = None,
        samples_dir: Path | None = None,
        seed: int = 0,
    ) -> None:
        self.host, self.port = host, port
        self._initial = (
            latency_ms, transient_failure_ratio, transient_faults, retry_after_s, slow_response_s
        )  # fmt: skip
        self._restore()
        self.api_key, self.models = api_key, models
        self.images: dict[str, str] = dict(images or {})
        # Properties forced to a value in every structured answer (a model's odd answers).
        self.answer_fields: dict[str, Any] = {}
        if samples_dir is not None:
            self.register_samples(samples_dir)
        self.seed = seed
        # Only for injected faults, which must differ between retries of the same request.
        self.rng = random.Random(seed)
        self.requests: list[dict[str, Any]] = []  # the last 1000: {path, body, headers}
        self._forced: list[ForcedFault] = []
        self._lock = threading.Lock()
        self._reset_counters()
        self.app = Starlette(
            routes=[
                Route(CHAT, self._serve, methods=["POST"]),
                Route(SPEECH, self._serve, methods=["POST"]),
                Route("/_stats", self._control, methods=["GET"]),
                *(
                    Route(p, self._control, methods=["POST"])
                    for p in ("/_faults", "/_reset", "/_images")
                ),
            ]
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def bind(self) -> tuple[uvicorn.Server, socket.socket]:
        """A listening socket (a free port when `port` is 0) and the server to run on it."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(512)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            timeout_graceful_shutdown=1,
        )
        return uvicorn.Server(config), sock

    def start(self) -> FakeOpenAI:
        server, sock = self.bind()
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="fake-openai", daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()

        def started() -> bool:
            if not thread.is_alive():
                raise RuntimeError("the fake OpenAI server did not start")
            return server.started

        wait_until(started, within_s=10, every_s=0.01)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(5)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(5)
        self._server = self._thread = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def register_image(self, image: bytes, text: str) -> None:
        self.images[hashlib.sha256(image).hexdigest()] = text

    def register_samples(self, directory: Path) -> int:
        """Register every `*.png|jpg|jpeg|webp` in `directory` that has a `.txt` beside it."""
        texts = sample_texts(directory)
        self.images.update(texts)
        return len(texts)

    def set_latency(self, ms: float) -> None:
        self.latency_ms = ms

    def set_transient_failures(
        self,
        ratio: float,
        *,
        faults: tuple[Fault, ...] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        """Fail `ratio` of the calls at random with one of `faults` (429, 500, timeout)."""
        self.transient_failure_ratio = ratio
        self.transient_faults = faults or self.transient_faults
        self.retry_after_s = self.retry_after_s if retry_after_s is None else retry_after_s

    def force(self, fault: Fault | str, *, times: int | None = 1, task: str | None = None) -> None:
        """Answer the next `times` matching calls (every one when None) with `fault`."""
        with self._lock:
            self._forced.append(ForcedFault(Fault(fault), times, task))

    def clear_faults(self) -> None:
        with self._lock:
            self._forced.clear()
        self.transient_failure_ratio = 0.0

    def reset(self) -> None:
        """Zero the counters, drop forced faults and restore the constructor's fault settings."""
        with self._lock:
            self._forced.clear()
            self._reset_counters()
            self.requests.clear()
        self._restore()

    def _restore(self) -> None:
        self.latency_ms, self.transient_failure_ratio, self.transient_faults = self._initial[:3]
        self.retry_after_s, self.slow_response_s = self._initial[3:]

    def _reset_counters(self) -> None:
        self._by_endpoint: Counter[str] = Counter()
        self._by_schema: Counter[str] = Counter()
        self._by_task: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._in_flight = self._max_in_flight = 0

    @property
    def stats(self) -> Stats:
        with self._lock:
            return Stats(
                total_calls=sum(self._by_endpoint.values()),
                calls_by_endpoint=dict(self._by_endpoint),
                calls_by_schema=dict(self._by_schema),
                calls_by_task=dict(self._by_task),
                faults_injected=dict(self._faults),
                in_flight=self._in_flight,
                max_in_flight=self._max_in_flight,
            )

    def _pick_fault(self, request: Request, body: dict[str, Any], task: str) -> Fault | None:
        with self._lock:
            if forced := take_forced(self._forced, request.url.path, body, task):
                return forced
        if self.transient_failure_ratio and self.rng.random() < self.transient_failure_ratio:
            return self.rng.choice(self.transient_faults)
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Fault.UNAUTHORIZED
        if self.models is not None and body.get("model") not in self.models:
            return Fault.NOT_FOUND
        return None

    async def _serve(self, request: Request) -> Response:
        endpoint = request.url.path
        try:
            body = await request.json()
        except ValueError:
            return error_response(400, "We could not parse the JSON body of your request.")
        task = "speech" if endpoint == SPEECH else chat_task(body)
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            self._by_endpoint[endpoint] += 1
            self._by_task[task] += 1
            if endpoint == CHAT and (name := schema_name(body)):
                self._by_schema[name] += 1
            self.requests.append({"path": endpoint, "body": body, "headers": dict(request.headers)})
            del self.requests[:-1000]
        try:
            if self.latency_ms:
                await asyncio.sleep(self.latency_ms / 1000)
            fault = self._pick_fault(request, body, task)
            if fault is not None:
                with self._lock:
                    self._faults[fault] += 1
                if error := fault_error(fault, body, self.retry_after_s):
                    return error
            if fault is Fault.TIMEOUT:
                await self._until_disconnected(request, self.slow_response_s)
            if endpoint == SPEECH:
                return speech(body)
            return JSONResponse(
                chat_completion(body, fault, self.images, self.answer_rng(body), self.answer_fields)
            )
        finally:
            with self._lock:
                self._in_flight -= 1

    def answer_rng(self, body: dict[str, Any]) -> random.Random:
        """The randomness of one answer, seeded by the request: the same request gets the same
        answer whatever was asked before or alongside it, so a test's outcome never depends on
        the order of concurrent calls."""
        request = json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
        return random.Random(hashlib.sha256(request + str(self.seed).encode()).digest())

    @staticmethod
    async def _until_disconnected(request: Request, timeout_s: float) -> None:
        """Wait `timeout_s`, or less if the client gives up waiting first."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while (await request.receive())["type"] != "http.disconnect":
                    pass

    async def _control(self, request: Request) -> Response:
        """`POST /_faults` takes `latency_ms`, `slow_response_s`, `transient_failure_ratio`,
        `transient_faults`, `retry_after_s`, `clear` (drop forced faults and the failure ratio
        first) and `force`: [{fault, times, task}]."""
        path = request.url.path
        if path == "/_stats":
            return JSONResponse(asdict(self.stats))
        if path == "/_reset":
            self.reset()
            return JSONResponse({"ok": True})
        data = await request.json()
        if path == "/_images":
            self.images.update(data)
            return JSONResponse({"images": len(self.images)})
        if data.get("clear"):
            self.clear_faults()
        self.latency_ms = data.get("latency_ms", self.latency_ms)
        self.slow_response_s = data.get("slow_response_s", self.slow_response_s)
        faults = data.get("transient_faults")
        self.set_transient_failures(
            data.get("transient_failure_ratio", self.transient_failure_ratio),
            faults=tuple(Fault(f) for f in faults) if faults else None,
            retry_after_s=data.get("retry_after_s"),
        )
        for item in data.get("force", []):
            self.force(item["fault"], times=item.get("times", 1), task=item.get("task"))
        return JSONResponse({"ok": True})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake OpenAI server until SIGTERM.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--transient-failure-ratio", type=float, default=0.0)
    parser.add_argument("--retry-after-s", type=float, default=1.0)
    parser.add_argument("--slow-response-s", type=float, default=30.0)
    parser.add_argument("--api-key")
    parser.add_argument("--samples", type=Path, action="append", default=[])
    parser.add_argument("--seed", type=int, default=0)
    options = vars(parser.parse_args(argv))
    samples: list[Path] = options.pop("samples")
    fake = FakeOpenAI(**options)
    for directory in samples:
        fake.register_samples(directory)
    server, sock = fake.bind()
    sys.stdout.write(f"FAKE_OPENAI_READY {fake.base_url}\n")
    sys.stdout.flush()
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
