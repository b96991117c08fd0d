"""The `langproc` command: serve | worker | migrate | process. A composition root."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console

from langproc.db.migrate import upgrade
from langproc.logs import configure_logging
from langproc.process import process
from langproc.runtime import build_runtime
from langproc.settings import AuthMode, Settings

app = typer.Typer(help="Durable processing of language-learning content.", no_args_is_help=True)


def _settings() -> Settings:
    """The settings, or exit 2 with what is wrong in them (not a traceback)."""
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            where = ".".join(map(str, error["loc"]))
            typer.echo(
                f"langproc: bad setting{' ' + where if where else ''}: {error['msg']}", err=True
            )
        raise typer.Exit(2) from None


def _prepared() -> Settings:
    """Settings, logging, the data directory, and an SQLite database migrated to head."""
    settings = _settings()
    configure_logging(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.is_sqlite:
        upgrade(settings.effective_database_url)
    return settings


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Default: 127.0.0.1 without auth, else 0.0.0.0.")
    ] = None,
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Run the API and the pipeline executor in one process."""
    from langproc.api.app import create_app

    settings = _prepared()
    host = host or ("127.0.0.1" if settings.auth == AuthMode.NONE else "0.0.0.0")
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
    )


@app.command()
def worker() -> None:
    """Run only the pipeline executor (scale processing apart from the API)."""
    settings = _prepared()
    asyncio.run(_work(settings))


async def _work(settings: Settings) -> None:
    runtime = build_runtime(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start(executor=True)
    try:
        await stop.wait()
    finally:
        await runtime.stop()


@app.command()
def migrate() -> None:
    """Upgrade the database schema to head."""
    settings = _prepared()
    if not settings.is_sqlite:
        upgrade(settings.effective_database_url)
    typer.echo("database is at head")


@app.command("process")
def process_file(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    language: Annotated[str, typer.Option(help="ISO 639-1 code of the studied language.")],
    server: Annotated[
        str | None, typer.Option(help="A running langproc; default: process in this process.")
    ] = None,
) -> None:
    """Submit a file, follow it with a progress bar, then print the results."""
    settings = _settings() if server else _prepared()
    code = asyncio.run(process(path, language, server=server, settings=settings, console=Console()))
    raise typer.Exit(code)


def main() -> None:
    app()
