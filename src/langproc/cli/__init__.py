"""The `langproc` command: run the service, and use its API from a terminal. A composition root."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console

from langproc.cli.api_client import EXIT_OK, EXIT_REFUSED, ApiClient, ApiError, connect
from langproc.cli.render import print_json, print_list, print_results, print_steps
from langproc.db.migrate import upgrade
from langproc.db.models import TERMINAL_SOURCEFILE_STATUSES
from langproc.logs import configure_logging
from langproc.runtime import build_runtime, freeze_start_up_objects
from langproc.settings import AuthMode, ExecutorPlacement, Settings

app = typer.Typer(
    help=(
        "Durable processing of language-learning content. `serve` runs the service; `process`, "
        "`status`, `list`, `retry` and `cancel` use its API, in this process on the embedded "
        "database or against --server. Exit codes: 0 success, 1 a failed or cancelled "
        "sourcefile or a refused operation, 2 bad usage."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)


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


def _prepared(*, quiet: bool = False) -> Settings:
    """Settings, logging, the data directory, and an SQLite database migrated to head.

    `quiet` (the API commands) logs only warnings unless LANGPROC_LOG_LEVEL says otherwise.
    """
    settings = _settings()
    if quiet and "log_level" not in settings.model_fields_set:
        settings = settings.model_copy(update={"log_level": "WARNING"})
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
    """Run the API and the pipeline executor (LANGPROC_EXECUTOR: in a child process on
    PostgreSQL with two or more CPUs, else in this process)."""
    from langproc.api.app import create_app

    settings = _prepared()
    host = host or ("127.0.0.1" if settings.auth == AuthMode.NONE else "0.0.0.0")
    app = create_app(settings, executor=ExecutorPlacement.AUTO)
    freeze_start_up_objects()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
    )


@app.command()
def worker(
    with_parent: Annotated[
        bool, typer.Option(hidden=True, help="Stop when standard input closes (serve's pipe).")
    ] = False,
) -> None:
    """Run only the pipeline executor (scale processing apart from the API)."""
    settings = _prepared()
    # The event loop uvicorn gives serve (uvloop where installed): in a process that does
    # nothing but await database and provider round trips, the loop is a fifth of the CPU.
    with asyncio.Runner(loop_factory=_fast_loop_factory()) as runner:
        runner.run(_work(settings, with_parent=with_parent))


def _fast_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # not on every platform: asyncio's own loop then
        return None
    return uvloop.new_event_loop


async def _work(settings: Settings, *, with_parent: bool) -> None:
    runtime = build_runtime(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    orphaned = asyncio.create_task(_parent_gone()) if with_parent else None
    if orphaned is not None:
        orphaned.add_done_callback(lambda _: stop.set())
    await runtime.start(executor=True)
    freeze_start_up_objects()
    try:
        await stop.wait()
    finally:
        if orphaned is not None:
            orphaned.cancel()
        await runtime.stop()


async def _parent_gone() -> None:
    """Return when standard input reaches its end: the parent that holds the pipe's other end
    closed it or died (even by kill -9)."""
    stdin = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    await stdin.read()


@app.command()
def migrate() -> None:
    """Upgrade the database schema to head."""
    settings = _prepared()
    if not settings.is_sqlite:
        upgrade(settings.effective_database_url)
    typer.echo("database is at head")


Server = Annotated[
    str | None,
    typer.Option(
        envvar="LANGPROC_SERVER",
        help="URL of a running langproc; default: this process, on the configured database.",
    ),
]
Token = Annotated[
    str | None,
    typer.Option(envvar="LANGPROC_TOKEN", help="Bearer token for a server with LANGPROC_AUTH=jwt."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")]
Id = Annotated[str, typer.Argument(help="The sourcefile's id.", show_default=False)]


def _api(
    server: str | None,
    token: str | None,
    use: Callable[[ApiClient, Console], Awaitable[int]],
    *,
    executor: bool = False,
) -> None:
    """Run `use` on an API client; an API error becomes its message and exit code."""
    settings = _prepared(quiet=True) if server is None else _settings()
    console, errors = Console(), Console(stderr=True)

    async def session() -> int:
        async with connect(server, token, settings, executor=executor) as api:
            return await use(api, console)

    try:
        code = asyncio.run(session())
    except ApiError as error:
        errors.print(f"[red]{error.status}: {error.detail}[/]", highlight=False)
        code = error.exit_code
    raise typer.Exit(code)


def _outcome(body: dict[str, Any]) -> int:
    return EXIT_REFUSED if body["status"] in ("failed", "cancelled") else EXIT_OK


@app.command("process")
def process_file(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A photo or a .txt.")
    ],
    language: Annotated[str, typer.Option(help="ISO 639-1 code of the studied language.")],
    native_language: Annotated[
        str | None, typer.Option(help="Language of translations; default: the server's (en).")
    ] = None,
    level: Annotated[
        str | None,
        typer.Option(help="Your CEFR level, A1-C2: the level of the example sentences (B1)."),
    ] = None,
    title: Annotated[str | None, typer.Option(help="A title; default: the file's name.")] = None,
    server: Server = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Submit a file, follow it to the end with a progress bar, then print the results."""
    fields = {
        "language": language,
        "native_language": native_language,
        "level": level,
        "title": title,
    }

    async def use(api: ApiClient, console: Console) -> int:
        data = await asyncio.to_thread(path.read_bytes)
        form = {key: value for key, value in fields.items() if value is not None}
        body = await api.call(
            "POST", "/api/sourcefiles", files={"file": (path.name, data)}, data=form
        )
        body = await _follow(api, body, Console(stderr=True, quiet=as_json), path.name)
        if as_json:
            print_json(console, body)
        else:
            print_results(console, body)
        return _outcome(body)

    _api(server, token, use, executor=server is None)


async def _follow(api: ApiClient, body: dict[str, Any], console: Console, name: str) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}"))
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(name, total=body["progress"]["total"])
        while body["status"] not in TERMINAL_SOURCEFILE_STATUSES:
            await asyncio.sleep(0.5)
            body = await api.call("GET", f"/api/sourcefiles/{body['id']}")
            running = [s["name"] for s in body["steps"] if s["status"] == "running"]
            progress.update(
                task,
                completed=body["progress"]["completed"],
                description=f"{name}: {', '.join(running) or body['status']}",
            )
    return body


@app.command()
def status(
    sourcefile_id: Id, server: Server = None, token: Token = None, as_json: AsJson = False
) -> None:
    """Show one sourcefile: its steps, their errors, and its results so far."""

    async def use(api: ApiClient, console: Console) -> int:
        body = await api.call("GET", f"/api/sourcefiles/{sourcefile_id}")
        if as_json:
            print_json(console, body)
        else:
            print_results(console, body)
        return _outcome(body)

    _api(server, token, use)


@app.command("list")
def list_sourcefiles(
    status: Annotated[
        str | None, typer.Option(help="Only this status: queued, processing, succeeded, …")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many, newest first.")] = 20,
    cursor: Annotated[str | None, typer.Option(help="`next_cursor` of the previous page.")] = None,
    server: Server = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """List sourcefiles, newest first."""
    query = {"status": status, "limit": limit, "cursor": cursor}

    async def use(api: ApiClient, console: Console) -> int:
        params = {key: value for key, value in query.items() if value is not None}
        page = await api.call("GET", "/api/sourcefiles", params=params)
        if as_json:
            print_json(console, page)
        else:
            print_list(console, page)
        return EXIT_OK

    _api(server, token, use)


@app.command()
def retry(
    sourcefile_id: Id,
    step: Annotated[
        list[str] | None,
        typer.Option(
            help="Re-run this step and everything downstream (repeatable); default: "
            "every failed or cancelled step."
        ),
    ] = None,
    server: Server = None,
    token: Token = None,
    as_json: AsJson = False,
) -> None:
    """Re-run steps; the work runs in `langproc serve` or `worker`."""

    async def use(api: ApiClient, console: Console) -> int:
        body = await api.call(
            "POST",
            f"/api/sourcefiles/{sourcefile_id}/retry",
            json={"steps": step} if step else None,
        )
        _show_change(console, body, as_json)
        return EXIT_OK

    _api(server, token, use)


@app.command()
def cancel(
    sourcefile_id: Id, server: Server = None, token: Token = None, as_json: AsJson = False
) -> None:
    """Stop processing; results so far are kept."""

    async def use(api: ApiClient, console: Console) -> int:
        body = await api.call("POST", f"/api/sourcefiles/{sourcefile_id}/cancel")
        _show_change(console, body, as_json)
        return EXIT_OK

    _api(server, token, use)


def _show_change(console: Console, body: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(console, body)
    else:
        print_steps(console, body)


@app.command()
def openapi() -> None:
    """Print the API's OpenAPI document (what clients are generated from)."""
    from langproc.api.app import create_app

    document = create_app(Settings(_env_file=None)).openapi()
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def main() -> None:
    app(prog_name="langproc")
