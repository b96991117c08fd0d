"""`langproc process`: submit a file, follow it to the end with a progress bar, print results."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from langproc.settings import Settings

TERMINAL = {"succeeded", "failed", "cancelled"}


@contextlib.asynccontextmanager
async def _client(server: str | None, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on `server`, or on an in-process app with its own executor."""
    if server is not None:
        async with httpx.AsyncClient(base_url=server, timeout=30) as http:
            yield http
        return
    from langproc.api.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://langproc") as http:
            yield http


async def process(
    path: Path, language: str, *, server: str | None, settings: Settings, console: Console
) -> int:
    """Exit status: 0 when the pipeline succeeded, 1 otherwise."""
    data = await asyncio.to_thread(path.read_bytes)
    async with _client(server, settings) as http:
        files = {"file": (path.name, data)}
        response = await http.post("/api/sourcefiles", files=files, data={"language": language})
        if response.status_code != 202:
            console.print(f"[red]{response.status_code}: {response.json()['detail']}")
            return 1
        body = response.json()
        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}"))
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(path.name, total=body["progress"]["total"])
            while body["status"] not in TERMINAL:
                await asyncio.sleep(0.5)
                body = (await http.get(f"/api/sourcefiles/{body['id']}")).json()
                running = [s["name"] for s in body["steps"] if s["status"] == "running"]
                progress.update(
                    task,
                    completed=body["progress"]["completed"],
                    description=f"{path.name}: {', '.join(running) or body['status']}",
                )
    _print_results(body, console)
    return 0 if body["status"] == "succeeded" else 1


def _print_results(body: dict[str, Any], console: Console) -> None:
    steps = Table("step", "status", "attempts", "note", title=f"{body['id']}: {body['status']}")
    for step in body["steps"]:
        note = step["error"]["message"] if step["error"] else ""
        steps.add_row(step["name"], step["status"], str(step["attempts"]), note)
    console.print(steps)
    if body["text"]:
        console.rule("text")
        console.print(body["text"])
    if body["translation"]:
        console.rule("translation")
        console.print(body["translation"])
    if body["words"]:
        words = Table("word form", "lemma", "part of speech", "translations", "Zipf")
        for word in body["words"]:
            words.add_row(
                word["wordform"], word["lemma"], word["part_of_speech"],
                ", ".join(word["translations"]), f"{word['frequency']:.1f}",
            )  # fmt: skip
        console.print(words)
    for sentence in body["sentences"]:
        console.print(f"• {sentence['sentence']} — {sentence['translation']}")
    console.print(f"usage: {body['usage']}")
