"""The `langproc` command: serve | worker | migrate | process. A composition root."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer
import uvicorn

from langproc.db.migrate import upgrade
from langproc.logs import configure_logging
from langproc.runtime import build_runtime
from langproc.settings import AuthMode, Settings

app = typer.Typer(help="Durable processing of language-learning content.", no_args_is_help=True)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Default: 127.0.0.1 without auth, else 0.0.0.0.")
    ] = None,
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Run the API and the pipeline executor in one process."""
    from langproc.api.app import create_app

    settings = Settings()
    configure_logging(settings)
    if settings.is_sqlite:
        upgrade(settings.effective_database_url)
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
    settings = Settings()
    configure_logging(settings)
    if settings.is_sqlite:
        upgrade(settings.effective_database_url)
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
    settings = Settings()
    configure_logging(settings)
    upgrade(settings.effective_database_url)
    typer.echo("database is at head")


def main() -> None:
    app()
